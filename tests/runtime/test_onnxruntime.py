import numpy as np
import pytest

from edgeperf.errors import BadInput, HardwareMissing
from edgeperf.runtime.session import Session


def test_single_and_batch_observations(example_onnx):
    with Session.open(example_onnx) as s:
        assert s.backend == "onnxruntime"
        assert s.io.inputs[0].shape[1] == 48
        obs = np.random.default_rng(0).standard_normal((5, 48))  # float64 in: converted once
        batch = s.run(obs)
        assert batch.shape == (5, 12) and batch.dtype == np.float32
        np.testing.assert_allclose(s.run(obs[2]), batch[2], rtol=1e-6, atol=1e-6)
        assert np.all(np.abs(batch) <= 1.0)  # the example clamps its actions inside the graph


def test_metadata_is_embedded(example_onnx):
    with Session.open(example_onnx) as s:
        meta = s.io.metadata
    assert meta["source"] == "example:mlp" and meta["obs_shape"] == [48] and meta["precision"] == "fp32"


def test_wrong_observation_size_says_what_was_expected(example_onnx):
    with Session.open(example_onnx) as s, pytest.raises(BadInput) as info:
        s.run(np.zeros(45))
    assert "observation has 45 values" in str(info.value) and "expects 48" in str(info.value)
    with Session.open(example_onnx) as s, pytest.raises(BadInput, match="shape"):
        s.run(np.zeros((2, 3, 48)))


def test_truncated_model_is_bad_input(example_onnx, tmp_path):
    cut = tmp_path / "cut.onnx"
    cut.write_bytes(example_onnx.read_bytes()[:5000])
    with pytest.raises(BadInput, match="not a valid ONNX model"):
        Session.open(cut)


def test_unknown_suffix_and_backend(example_onnx, tmp_path):
    other = tmp_path / "policy.bin"
    other.write_bytes(b"x")
    with pytest.raises(BadInput, match="cannot tell the format"):
        Session.open(other)
    with pytest.raises(BadInput, match="unknown backend"):
        Session.open(example_onnx, backend="tflite")


def test_missing_accelerator_is_hardware_missing(example_onnx):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this machine has CUDA")
    with pytest.raises(HardwareMissing, match="CUDAExecutionProvider"):
        Session.open(example_onnx, device="cuda")
