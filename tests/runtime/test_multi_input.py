"""Session.run(obs) with a dict for several inputs, the same on onnxruntime, openvino and torch; the profiler's
pools fill every input (uint8 images as uint8 pixels) at random or on-policy from the domain."""

import numpy as np
import pytest

from edgeperf.exporter import sources
from edgeperf.profilers import observations
from edgeperf.runtime.session import Session
from edgeperf.runtime.torch import TorchSession
from tests import dictobs


@pytest.fixture(scope="module")
def batch():
    obs = [dictobs.one_obs(seed) for seed in range(4)]
    return {k: np.stack([o[k] for o in obs]) for k in obs[0]}


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino"])
def test_one_dict_or_a_batch_of_dicts_on_every_backend(dict_onnx, batch, backend):
    if backend == "openvino":
        pytest.importorskip("openvino")
    with Session.open(dict_onnx[0], backend=backend) as s:
        assert [(i.name, i.dtype) for i in s.io.inputs] == [("image", "uint8"), ("state", "float32")]
        many = s.run(batch)
        one = s.run({k: v[2] for k, v in batch.items()})  # no batch axis: one action back
        assert many.shape == (4, 1) and one.shape == (1,)
        np.testing.assert_allclose(one, many[2], atol=1e-6)
        assert set(s.run_all(batch)) == {"action"}


def test_the_three_backends_agree_with_the_torch_original(dict_sb3, dict_onnx, batch):
    src = sources.load(str(dict_sb3["zip"]), vecnormalize=str(dict_sb3["vecnormalize"]), trust_pickle=True)
    with TorchSession.from_module(src.module, None, inputs=src.input_specs) as t:
        assert [i.name for i in t.io.inputs] == ["image", "state"]
        want = t.run(batch)
        assert t.run({k: v[0] for k, v in batch.items()}).shape == (1,)
    assert np.ptp(want) > 0.05  # different images, different actions: the image is read
    backends = ["onnxruntime"] + (["openvino"] if _has("openvino") else [])
    for b in backends:
        with Session.open(dict_onnx[0], backend=b) as s:
            np.testing.assert_allclose(s.run(batch), want, atol=1e-5, rtol=1e-4, err_msg=b)


def _has(mod: str) -> bool:
    try:
        __import__(mod)
        return True
    except ImportError:
        return False


def test_random_pool_fills_every_input_in_its_space(dict_onnx):
    with Session.open(dict_onnx[0]) as s:
        feeds, how = observations.random_pool(s, size=64)
    images = np.stack([f["image"][0] for f in feeds])
    states = np.stack([f["state"][0] for f in feeds])
    assert images.dtype == np.uint8 and images.min() == 0 and images.max() == 255
    assert states.dtype == np.float32 and -8 <= states.min() < -4 and 4 < states.max() <= 8
    assert how["distribution"].startswith("image: uniform uint8 pixels") and "state: uniform" in how["distribution"]


def test_domain_pool_records_every_input_on_policy(dict_onnx):
    with Session.open(dict_onnx[0]) as s:
        feeds, how = observations.domain_pool(s, "vision/pendulum", episodes=1)
    assert how["source"] == "domain:vision/pendulum" and how["distinct"] == len(feeds) > 100
    first = feeds[0]
    assert first["image"].dtype == np.uint8 and first["image"].shape == (1, 48, 48, 3)
    # Real camera frames: mostly the white background, a rod in a few pixels.
    assert 0.6 < (first["image"] == 255).all(axis=-1).mean() < 0.999
