"""Session.run's input checks after the fast path of `as_batch`: an observation of the model's own dtype,
layout and shape goes through untouched; everything else is still converted or refused, on every backend."""

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.runtime.session import Session, TensorSpec, as_batch

SPEC = TensorSpec("obs", (None, 48), "float32")


@pytest.fixture(scope="module", params=["onnxruntime", "openvino"])
def session(request, example_onnx, tmp_path_factory):
    path = example_onnx
    if request.param == "openvino":
        ov = pytest.importorskip("openvino")
        path = tmp_path_factory.mktemp("ir") / "policy.xml"
        ov.save_model(ov.convert_model(str(example_onnx)), str(path), compress_to_fp16=False)
    with Session.open(path) as s:
        assert s.backend == request.param
        s.run(np.zeros(48, np.float32))  # the fast path has run once before every case
        yield s


@pytest.mark.parametrize(
    ("obs", "says"),
    [
        (np.zeros(47, np.float32), "observation has 47 values, policy.onnx expects 48"),
        (np.zeros((1, 49), np.float32), "observation has 49 values"),
        (np.zeros((2, 3, 48), np.float32), "observation has shape [2, 3, 48]"),
        (np.zeros((), np.float32), "observation has shape []"),
        (np.array(["a"] * 48), "has dtype <U1; expected numbers"),
        (np.array([None] * 48), "has dtype object; expected numbers"),
        ({"state": np.zeros(48, np.float32)}, "observation lacks key 'obs'"),
    ],
)
def test_wrong_observations_are_refused(session, obs, says):
    with pytest.raises(BadInput) as info:
        session.run(obs)
    assert says.replace("policy.onnx", session.path.name) in str(info.value)


def test_other_dtypes_and_layouts_are_converted(session):
    rng = np.random.default_rng(0)
    batch = rng.standard_normal((5, 48)).astype(np.float32)
    want = session.run(batch)
    np.testing.assert_array_equal(session.run(batch.astype(np.float64)), want)  # converted, not refused
    np.testing.assert_array_equal(session.run(np.asfortranarray(batch)), want)
    wide = np.zeros((5, 96), np.float32)
    wide[:, ::2] = batch
    np.testing.assert_array_equal(session.run(wide[:, ::2]), want)  # a strided view
    np.testing.assert_array_equal(session.run(list(batch[2])), want[2])
    np.testing.assert_array_equal(session.run(batch[2]), want[2])


def test_the_fast_path_passes_a_fitting_batch_as_is():
    x = np.zeros((3, 48), np.float32)
    assert as_batch(x, SPEC, "m") is x
    assert as_batch(x[0], SPEC, "m").base is x  # one observation: a view with the batch axis added
    for other in (x.astype(np.float64), np.asfortranarray(np.zeros((3, 48), np.float32)), np.zeros((48, 3))[:, 0]):
        assert as_batch(other, SPEC, "m") is not other
    fixed = TensorSpec("obs", (2, 48), "float32")
    with pytest.raises(BadInput, match="observation has 3 entries on axis 0, m expects 2"):
        as_batch(x, fixed, "m")
    assert as_batch(x[:2], fixed, "m").base is x
    symbolic = TensorSpec("obs", ("batch", 48), "float32")
    assert as_batch(x, symbolic, "m") is x
