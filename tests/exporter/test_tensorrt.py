"""TensorRT engines. tensorrt cannot be installed on the dev machine (no GPU; NVIDIA's libraries): here are the
gating, the calibration data, the settings and the plumbing through a recording stand-in module; the real
build-and-run tests carry the `tensorrt` marker and skip where TensorRT or CUDA is absent."""

import json
import sys

import numpy as np
import onnx
import pytest

from edgeperf import artifact, spaces
from edgeperf.errors import BadInput, DependencyMissing, HardwareMissing
from edgeperf.exporter import calibration, quantize, tensorrt_engine
from edgeperf.exporter.onnx import export
from edgeperf.exporter.sources import PolicySource
from edgeperf.runtime.session import Session
from tests.exporter import fake_tensorrt


@pytest.fixture
def no_tensorrt(monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorrt", None)  # absent even on a machine that has it


def test_missing_tensorrt_is_exit_3_before_any_work(no_tensorrt, tmp_path, cli):
    r = cli("export", "example:mlp", "-o", tmp_path / "p.engine", "--precision", "fp16")
    assert r.code == 3
    assert len(r.err.strip().splitlines()) == 1 and "tensorrt is not installed" in r.err and "JetPack" in r.err
    assert list(tmp_path.iterdir()) == []


def test_require_tensorrt_raises_dependency_missing(no_tensorrt):
    with pytest.raises(DependencyMissing, match="pip install tensorrt"):
        tensorrt_engine.require_tensorrt()


@pytest.mark.parametrize(("precision", "flags"), [("fp32", []), ("fp16", ["FP16"]), ("int8", ["INT8"])])
def test_engine_settings(precision, flags):
    s = tensorrt_engine.engine_settings(precision, "obs", (48,), max_batch=16)
    assert s["flags"] == flags
    assert s["profile"] == {"input": "obs", "min": [1, 48], "opt": [1, 48], "max": [16, 48]}
    assert (s["quantization"] is not None) == (precision == "int8")


def test_engine_settings_fixed_batch_and_bad_values():
    s = tensorrt_engine.engine_settings("fp32", "x", (3, 8), fixed_batch=1)
    assert s["profile"]["min"] == s["profile"]["max"] == [1, 3, 8]
    with pytest.raises(BadInput, match="--max-batch 0"):
        tensorrt_engine.engine_settings("fp32", "x", (3,), max_batch=0)
    with pytest.raises(BadInput, match="bf16"):
        tensorrt_engine.engine_settings("bf16", "x", (3,))


def test_default_timing_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tensorrt_engine.default_timing_cache("10.3.0") == tmp_path / "edgeperf" / "tensorrt-10.3.0.timing-cache"


# -- calibration data (shared by onnxruntime static int8, OpenVINO int8 and TensorRT int8) ---------------------


def _src(obs_space=None, normalization=None, shape=(3,)):
    return PolicySource(None, "onnx", "x", shape, obs_space=obs_space, normalization=normalization)


def test_calibration_batches_cover_every_observation_in_order():
    data = calibration.random_in_space(_src(spaces.box([-1, -1, -8], [1, 1, 8], (3,))), 100, seed=0)
    batches = list(data.batches(32))
    assert [len(b) for b in batches] == [32, 32, 32, 4]
    assert all(b.dtype == np.float32 and b.flags.c_contiguous for b in batches)
    np.testing.assert_array_equal(np.concatenate(batches), data.obs)
    assert np.all(data.obs >= [-1, -1, -8]) and np.all(data.obs <= [1, 1, 8])
    assert data.source == "random-in-space" and "uniform" in data.method
    with pytest.raises(ValueError, match="batch_size"):
        next(data.batches(0))


def test_calibration_is_seeded_and_apart_from_parity_observations():
    src = _src(spaces.box(-1, 1, (3,)))
    a, b = calibration.random_in_space(src, 50, 7), calibration.random_in_space(src, 50, 7)
    np.testing.assert_array_equal(a.obs, b.obs)
    parity_obs, _ = spaces.sample(src.obs_space, src.obs_shape, 50, 7)
    assert not np.allclose(a.obs, parity_obs)


def test_calibration_uses_training_statistics_when_known():
    norm = {"mean": [100.0, -5.0], "var": [4.0, 0.25]}
    data = calibration.random_in_space(_src(None, norm, (2,)), 4000, 0)
    np.testing.assert_allclose(data.obs.mean(axis=0), [100, -5], atol=0.1)
    np.testing.assert_allclose(data.obs.std(axis=0), [2, 0.5], rtol=0.05)
    assert "VecNormalize" in data.method


def test_calibration_reader_feeds_onnxruntime_and_rewinds():
    data = calibration.random_in_space(_src(), 10, 0)
    reader = data.reader("obs", batch_size=4)
    first = [reader.get_next() for _ in range(4)]
    assert [len(x["obs"]) for x in first[:3]] == [4, 4, 2] and first[3] is None
    reader.rewind()
    assert reader.get_next()["obs"].shape == (4, 3)


def test_tensorrt_int8_graph_is_symmetric_qdq(example_onnx, tmp_path):
    """What TensorRT's parser gets for int8: Q/DQ with zero points 0 (TensorRT's requirement), calibrated on
    the shared data; onnxruntime runs it too, which gives its error before any GPU is involved."""
    import onnxruntime as ort

    src = _src(None, None, (48,))
    data = calibration.random_in_space(src, 256, 0)
    out = tmp_path / "qdq.onnx"
    info = quantize.to_int8(example_onnx, out, "static", data, symmetric=True)
    assert info["quantized_nodes"] >= 3 and "symmetric" in info["activations"]
    model = onnx.load(str(out))
    zero_points = [onnx.numpy_helper.to_array(t) for t in model.graph.initializer if t.name.endswith("zero_point")]
    assert zero_points and all(z.dtype == np.int8 and not z.any() for z in zero_points)
    obs = np.random.default_rng(1).standard_normal((64, 48)).astype(np.float32)
    ref = ort.InferenceSession(str(example_onnx)).run(None, {"obs": obs})[0]
    got = ort.InferenceSession(str(out)).run(None, {"obs": obs})[0]
    assert np.abs(got - ref).max() < 0.15


# -- the builder plumbing, through the recording stand-in ------------------------------------------------------


def test_int8_engine_plumbing(monkeypatch, tmp_path):
    from edgeperf.runtime import tensorrt as runtime_tensorrt

    fake_tensorrt.install(monkeypatch)

    def no_cudart():  # the stand-in engine must never get real device pointers (a GPU machine has libcudart)
        raise HardwareMissing("the CUDA runtime library (libcudart) is not installed: TensorRT needs a CUDA GPU")

    monkeypatch.setattr(runtime_tensorrt, "_CudaRT", no_cudart)
    cache = tmp_path / "cache" / "trt.timing-cache"
    out = tmp_path / "policy.engine"
    report = export("example:mlp", out, precision="int8", max_batch=8, timing_cache=cache, calibration_samples=128)
    build = next(c for c in fake_tensorrt.CALLS if c[0] == "build")
    assert build[1]["flags"] == ["INT8"] and build[1]["profiles"] == [[[1, 48], [1, 48], [8, 48]]]
    assert "QuantizeLinear" in build[1]["ops"] and build[2] == {"WORKSPACE": 1 << 30}
    assert out.read_bytes().startswith(b"FAKE-ENGINE")
    # the timing cache was saved, and the next build starts from it
    assert cache.read_bytes() == b"+timing"
    export("example:mlp", tmp_path / "again.engine", precision="int8", timing_cache=cache, check=False)
    assert [c[1] for c in fake_tensorrt.CALLS if c[0] == "create_timing_cache"] == [b"", b"+timing"]
    # metadata in the sidecar, which the runtime reads
    side = json.loads(artifact.sidecar(out).read_text())
    assert side["precision"] == "int8" and side["format"] == "tensorrt" and side["obs_shape"] == [48]
    assert side["quantization"]["calibration"]["observations"] == 128
    assert artifact.read_sidecar(out)["action_space"]["shape"] == [12]
    # the report: settings, and parity absent with its reason (no CUDA here), never a made-up figure
    assert report.results["tensorrt"]["settings"]["flags"] == ["INT8"]
    assert report.results["tensorrt"]["timing_cache_reused"] is False
    assert "parity" not in report.results and "CUDA" in report.unmeasured["parity"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "again.engine",
        "again.engine.edgeperf.json",
        "cache",
        "policy.engine",
        "policy.engine.edgeperf.json",
    ]


@pytest.mark.parametrize(("precision", "flags"), [("fp32", []), ("fp16", ["FP16"])])
def test_float_engine_plumbing_parses_the_float_graph(precision, flags, monkeypatch, tmp_path, example_onnx):
    fake_tensorrt.install(monkeypatch)
    export(str(example_onnx), tmp_path / "p.plan", precision=precision, timing_cache=tmp_path / "c", check=False)
    build = next(c for c in fake_tensorrt.CALLS if c[0] == "build")
    assert build[1]["flags"] == flags and "QuantizeLinear" not in build[1]["ops"] and "Gemm" in build[1]["ops"]


# -- real TensorRT (a GPU machine with tensorrt and torch with CUDA) -------------------------------------------


def _real_tensorrt():
    trt = pytest.importorskip("tensorrt", reason="TensorRT is not installed here (it needs an NVIDIA GPU)")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("TensorRT parity needs torch with CUDA")
    if getattr(trt, "__file__", "").endswith("fake_tensorrt.py"):  # pragma: no cover
        pytest.skip("the stand-in module is installed")
    return trt


@pytest.mark.tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_real_engine_passes_parity(precision, tmp_path):
    _real_tensorrt()
    out = tmp_path / "policy.engine"
    report = export("example:mlp", out, precision=precision, timing_cache=tmp_path / "cache")
    assert report.results["parity"]["passed"], report.results["parity"]
    assert artifact.sidecar(out).exists()


# -- the runtime's TensorRT session (the one runner parity and profile share), on the recording stand-in -------


def test_tensorrt_session_runs_every_output_and_frees_all_it_allocates(monkeypatch, tmp_path, example_onnx):
    from edgeperf.runtime.tensorrt import TensorRTSession

    fake_tensorrt.install(monkeypatch)
    engine = tmp_path / "p.engine"
    export(str(example_onnx), engine, max_batch=4, timing_cache=tmp_path / "c", check=False)
    cuda = fake_tensorrt.FakeCuda()
    obs = np.random.default_rng(0).standard_normal((3, 48)).astype(np.float32)
    with Session.open(example_onnx) as ort_session:
        want = ort_session.run(obs)
    s = TensorRTSession(engine, cuda=cuda)
    assert cuda.live and cuda.streams and s.max_batch == 4
    np.testing.assert_allclose(s.run(obs), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(s.run(obs[0]), want[0], rtol=1e-6, atol=1e-6)  # a new batch size: shapes reset
    assert list(s.run_all(obs)) == ["action"]
    with pytest.raises(BadInput, match="at most 4 observations"):
        s.run(np.zeros((5, 48), np.float32))
    s.close()
    assert cuda.live == {} and cuda.streams == set()  # device and pinned host buffers, and the stream
    s.close()  # twice is harmless


def test_tensorrt_session_frees_what_it_had_when_open_fails(monkeypatch, tmp_path):
    from edgeperf.runtime.tensorrt import TensorRTSession

    fake_tensorrt.install(monkeypatch)
    bad = tmp_path / "bad.engine"
    bad.write_bytes(b"not an engine")
    cuda = fake_tensorrt.FakeCuda()
    with pytest.raises(BadInput, match="not a TensorRT engine"):
        TensorRTSession(bad, cuda=cuda)
    assert cuda.live == {} and cuda.streams == set()


# -- several inputs (a Dict observation: a uint8 camera image beside a float vector) -----------------------------


@pytest.fixture
def fake_gpu(monkeypatch):
    """The stand-in TensorRT, and the runtime's CUDA calls on a FakeCuda, so that the export's own parity check
    runs the engine (through the one TensorRT runner) instead of being skipped for want of a GPU."""
    from edgeperf.runtime import tensorrt as runtime_tensorrt

    fake_tensorrt.install(monkeypatch)
    cuda = fake_tensorrt.FakeCuda()
    monkeypatch.setattr(runtime_tensorrt, "_CudaRT", lambda: cuda)
    return cuda


@pytest.fixture(scope="module")
def two_input_onnx(tmp_path_factory):
    """The small factory module of two named inputs (image uint8 [48, 48, 3], state float32 [1]) as ONNX."""
    pytest.importorskip("torch")
    pytest.importorskip("pybullet")
    from tests import dictobs

    d = tmp_path_factory.mktemp("two_inputs")
    (d / "nets.py").write_text(dictobs.FACTORY)
    out = d / "two.onnx"
    export(None, out, factory=f"{d / 'nets.py'}:make", domain=dictobs.DOMAIN, check=False)
    return out


def _batch(n: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {
        "image": rng.integers(0, 256, (n, 48, 48, 3), dtype=np.uint8),
        "state": rng.uniform(-8, 8, (n, 1)).astype(np.float32),
    }


def test_engine_settings_profile_every_input_and_keep_the_single_input_keys():
    s = tensorrt_engine.engine_settings("fp16", "image", (48, 48, 3), max_batch=8, inputs=[("state", (1,))])
    assert s["profile"] == {"input": "image", "min": [1, 48, 48, 3], "opt": [1, 48, 48, 3], "max": [8, 48, 48, 3]}
    assert s["input_profiles"] == [{"input": "state", "min": [1, 1], "opt": [1, 1], "max": [8, 1]}]
    assert [p["input"] for p in tensorrt_engine.profiles(s)] == ["image", "state"]
    fixed = tensorrt_engine.engine_settings("fp32", "image", (48, 48, 3), fixed_batch=2, inputs=[("state", (1,))])
    assert fixed["input_profiles"][0]["min"] == fixed["input_profiles"][0]["max"] == [2, 1]  # the same batch
    # a single-input engine records what it always did: an older sidecar reads the same
    assert set(tensorrt_engine.engine_settings("fp32", "obs", (48,))) == {
        "flags",
        "profile",
        "workspace_bytes",
        "quantization",
    }


@pytest.mark.parametrize("precision", ["fp32", "fp16", "int8"])
def test_two_input_engine_passes_parity_on_the_stand_in(precision, fake_gpu, two_input_onnx, tmp_path):
    """The whole export of a Dict-observation policy to TensorRT: both inputs profiled, the uint8 image kept
    uint8, int8 through Q/DQ calibrated on both inputs, and the export's parity run through the TensorRT runner
    (the stand-in engine runs the parsed graph with onnxruntime: fp16 and int8 kernels are not TensorRT's here,
    so this proves the plumbing, not TensorRT's numerics)."""
    out = tmp_path / "two.engine"
    r = export(str(two_input_onnx), out, precision=precision, max_batch=8, timing_cache=tmp_path / "c",
               parity_samples=64, calibration_samples=64)  # fmt: skip
    par = r.results["parity"]
    assert par["passed"] and par["observations"] == 64, par
    assert [(i["name"], i["dtype"]) for i in r.model.inputs] == [("image", "uint8"), ("state", "float32")]
    build = next(c for c in fake_tensorrt.CALLS if c[0] == "build")[1]
    assert build["input_profiles"] == {
        "image": [[1, 48, 48, 3], [1, 48, 48, 3], [8, 48, 48, 3]],
        "state": [[1, 1], [1, 1], [8, 1]],
    }
    side = json.loads(artifact.sidecar(out).read_text())
    assert [p["input"] for p in tensorrt_engine.profiles(side["tensorrt"]["settings"])] == ["image", "state"]
    if precision == "int8":
        assert "QuantizeLinear" in build["ops"]
        assert r.results["quantization"]["calibration"]["observations"] == 64
    assert fake_gpu.live == {} and fake_gpu.streams == set()  # parity's session freed all it allocated


def test_tensorrt_session_runs_a_dict_and_frees_every_buffer(monkeypatch, tmp_path, two_input_onnx):
    from edgeperf.runtime.tensorrt import TensorRTSession

    fake_tensorrt.install(monkeypatch)
    engine = tmp_path / "two.engine"
    export(str(two_input_onnx), engine, max_batch=4, timing_cache=tmp_path / "c", check=False)
    batch = _batch(3)
    with Session.open(two_input_onnx) as ort_session:
        want = ort_session.run(batch)
    assert np.ptp(want) > 0.05  # different images and states, different actions: an input mixed up would show
    cuda = fake_tensorrt.FakeCuda()
    s = TensorRTSession(engine, cuda=cuda)
    assert [(i.name, i.dtype) for i in s.io.inputs] == [("image", "uint8"), ("state", "float32")]
    assert s.max_batch == 4 and len(cuda.live) == 2 * 3  # a device and a pinned host buffer per tensor
    np.testing.assert_allclose(s.run(batch), want, rtol=1e-6, atol=1e-6)
    one = s.run({k: v[1] for k, v in batch.items()})  # one observation, no batch axis: shapes set again
    assert one.shape == (1,)
    np.testing.assert_allclose(one, want[1], rtol=1e-6, atol=1e-6)
    assert list(s.run_all(batch)) == ["action"]
    with pytest.raises(BadInput, match="lacks key 'state'"):
        s.run({"image": batch["image"]})
    with pytest.raises(BadInput, match="pass a dict"):
        s.run(batch["image"])
    with pytest.raises(BadInput, match="raw uint8 pixels"):  # the image input is bound as uint8
        s.run({**batch, "image": batch["image"] / 255.0})
    with pytest.raises(BadInput, match="one batch size for all its inputs"):
        s.run({"image": batch["image"], "state": batch["state"][:2]})
    with pytest.raises(BadInput, match="at most 4 observations"):
        s.run(_batch(5))
    np.testing.assert_allclose(s.run(batch), want, rtol=1e-6, atol=1e-6)  # still right after the refusals
    s.close()
    assert cuda.live == {} and cuda.streams == set()


def test_profile_fills_both_inputs_of_a_two_input_engine(fake_gpu, tmp_path, two_input_onnx):
    """profile opens the engine through the same runner and feeds every input in its own space and dtype."""
    from edgeperf.profilers.run import profile

    engine = tmp_path / "two.engine"
    export(str(two_input_onnx), engine, timing_cache=tmp_path / "c", check=False)
    r = profile(engine, iterations=20, warmup=2, duration=0.2, power="off", idle_s=0)
    how = r.results["observations"]
    assert how["distinct"] > 1 and how["distribution"].startswith("image: uniform uint8 pixels"), how
    assert [(i["name"], i["dtype"]) for i in r.model.inputs] == [("image", "uint8"), ("state", "float32")]
    assert fake_gpu.live == {}


def _uint8_before_cast(path):
    """image uint8 [N, 2, 3] transposed *before* its cast, beside state [N, 1]: what TensorRT cannot parse."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Transpose", ["image"], ["t"], perm=[0, 2, 1]),
        helper.make_node("Cast", ["t"], ["f"], to=TensorProto.FLOAT),
        helper.make_node("Flatten", ["f"], ["flat"]),
        helper.make_node("Concat", ["flat", "state"], ["action"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "g",
        [
            helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 2, 3]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, ["batch", 1]),
        ],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 7])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))


def test_a_uint8_input_used_before_its_cast_is_refused_before_the_build(monkeypatch, tmp_path, bad):
    fake_tensorrt.install(monkeypatch)
    src = tmp_path / "t.onnx"
    _uint8_before_cast(src)
    err = bad(2, "export", src, "-o", tmp_path / "t.engine", "--timing-cache", tmp_path / "c", "--no-check").err
    assert "uint8 input 'image' feeds Transpose before any cast" in err
    assert not any(c[0] in ("parse", "build") for c in fake_tensorrt.CALLS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.onnx"]


def test_the_vision_reference_exports_to_tensorrt_with_on_policy_parity(fake_gpu, tmp_path, cli):
    pytest.importorskip("pybullet")
    out = tmp_path / "vision.engine"
    r = cli("export", "reference:vision/pendulum", "--domain", "vision/pendulum", "-o", out, "--max-batch", "8",
            "--parity-samples", "64", "--calibration-episodes", "1", "--timing-cache", tmp_path / "c",
            "--json", tmp_path / "r.json")  # fmt: skip
    assert r.code == 0, r.err
    report = json.loads((tmp_path / "r.json").read_text())
    par = report["results"]["parity"]
    assert par["passed"] and "driven by the source policy" in par["observation_source"]
    assert par["max_abs_error"] <= 1e-5
    settings = report["results"]["tensorrt"]["settings"]
    assert settings["profile"]["max"] == [8, 48, 48, 3] and settings["input_profiles"][0]["max"] == [8, 1]
    assert fake_gpu.live == {}


@pytest.mark.tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16"])
def test_real_engine_of_the_vision_reference(precision, tmp_path):
    """On a GPU: the uint8 image a real UINT8 network input, parity on the policy's own episodes, and
    Session.run with the camera's dict observation."""
    _real_tensorrt()
    pytest.importorskip("pybullet")
    from tests import dictobs

    out = tmp_path / "vision.engine"
    report = export("reference:vision/pendulum", out, precision=precision, domain=dictobs.DOMAIN,
                    parity_samples=200, calibration_episodes=1, timing_cache=tmp_path / "cache")  # fmt: skip
    assert report.results["parity"]["passed"], report.results["parity"]
    with Session.open(out) as s:
        assert [(i.name, i.dtype) for i in s.io.inputs] == [("image", "uint8"), ("state", "float32")]
        assert s.run(dictobs.one_obs()).shape == (1,)
