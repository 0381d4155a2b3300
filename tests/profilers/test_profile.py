import json
import time

import numpy as np
import pytest

from edgeperf import pipeline
from edgeperf.profilers import latency
from edgeperf.profilers.run import profile
from tests.conftest import run_python


def test_report_has_latency_cold_start_and_memory(example_onnx, monkeypatch, tmp_path):
    monkeypatch.setenv("EDGEPERF_SYSFS_ROOT", str(tmp_path))  # no sensor, even on a GPU machine (NVML)
    r = profile(example_onnx, iterations=300, duration=0, warmup=20)
    res = r.results
    assert r.schema == "edgeperf.profile/1"
    assert res["latency_us"]["count"] >= 300 and res["latency_us"]["p50"] > 0
    assert res["warmup"]["iterations"] == 20
    assert res["cold_start"]["open_ms"] > 0 and res["cold_start"]["first_inference_us"] > 0
    mem = res["memory"]
    assert mem["peak_rss_bytes"] >= mem["rss_after_load_bytes"] > 0
    assert res["clock"] == "perf_counter_ns" and res["action_shape"] == [1, 12]
    assert res["observations"]["distribution"].startswith("standard normal")
    assert r.model.sha256 and r.model.inputs[0]["shape"][1] == 48 and r.model.precision == "fp32"
    assert "energy_per_inference" in r.unmeasured  # no power figure is invented
    assert "energy" not in json.dumps(res)


def test_batch(example_onnx):
    r = profile(example_onnx, iterations=50, duration=0, warmup=0, batch=8)
    assert r.results["action_shape"] == [8, 12]
    assert r.results["observations"]["batch"] == 8


def test_run_lasts_until_both_minimums_are_met():
    calls = []
    run = latency.stream(calls.append, [0, 1, 2], warmup=5, min_iterations=10, min_duration_s=0.2)
    assert len(run.samples_ns) >= 10 and run.wall_s >= 0.2
    assert len(calls) == len(run.samples_ns) + 5
    assert calls[:7] == [0, 1, 2, 0, 1, 0, 1]  # warm-up then measurement, each cycling through the pool


def _busy_wait(us: float):
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


def test_injected_latency_is_measured_at_p50():
    """A known 500 us busy-wait is measured within 5% at p50 (the bar is 2%; margin for a shared machine)."""
    run = latency.stream(lambda f: _busy_wait(500), [None], warmup=10, min_iterations=400, min_duration_s=0)
    p50_us = float(np.median(run.samples_ns)) / 1e3
    assert p50_us == pytest.approx(500, rel=0.05)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--iterations", "0"], "--iterations must be at least 1"),
        (["--duration", "-1"], "--duration must be"),
        (["--duration", "nan"], "--duration must be"),
        (["--threads", "0"], "--threads must be at least 1"),
        (["--rate", "0"], "--rate must be a control rate"),
        (["--rate", "-50"], "--rate must be a control rate"),
        (["--deadline", "5"], "give --rate HZ too"),
        (["--rate", "50", "--deadline", "0"], "--deadline must be a positive"),
        (["--stress", "-1"], "--stress must be 0 to"),
        (["--shape", "abc"], "--shape 'abc' is not a shape"),
        (["--shape", "7"], "does not fit input 'obs'"),
        (["--observations", "recorded"], "give 'random'"),
        (["--observations", "domain:gym:Pendulum-v1"], "observation has 3 values"),
        (["--backend", "tflite"], "unknown backend"),
        (["--accelerator", "tpu"], "unknown onnxruntime device 'tpu'"),
        (["--plot", "latency.svg"], "give a .png file name"),
    ],
)
def test_bad_arguments_exit_2(cli, example_onnx, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = cli("profile", example_onnx, "-n", "20", "--duration", "0", "--warmup", "0", *args)
    assert r.code == 2, r.err
    assert message in r.err and len(r.err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []  # nothing half-written


def test_profiling_onnx_never_imports_torch(example_onnx, tmp_path):
    out = tmp_path / "p.json"
    code = (
        "import sys\nfrom edgeperf.cli.app import main\n"
        f"args = ['profile', {str(example_onnx)!r}, '-n', '200', '--duration', '0', '--json', {str(out)!r}]\n"
        "assert main(args) == 0\n"
        "print('torch' in sys.modules)"
    )
    r = run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1] == "False"
    doc = json.loads(out.read_text())
    assert doc["results"]["latency_us"]["count"] >= 200
    assert doc["results"]["memory"]["peak_rss_bytes"] < 150 * 2**20  # the bar for a lean profile


def test_periodic_csv_and_plot(cli, example_onnx, tmp_path):
    r = cli(
        "profile",
        example_onnx,
        "--rate",
        "500",
        "-n",
        "60",
        "--duration",
        "0",
        "--warmup",
        "5",
        "--csv",
        tmp_path / "t.csv",
        "--plot",
        tmp_path / "t.png",
        "--json",
        tmp_path / "p.json",
    )
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "p.json").read_text())
    d = doc["results"]["deadline"]
    assert doc["results"]["scenario"] == "periodic" and d["periods"] >= 60 and d["period_us"] == 2000
    rows = (tmp_path / "t.csv").read_text().splitlines()
    assert rows[0] == "index,start_us,latency_us,release_us,response_us,missed"
    assert len(rows) == d["periods"] + 1
    assert sum(int(row.rsplit(",", 1)[1]) for row in rows[1:]) == d["misses"]
    assert (tmp_path / "t.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "periodic at 500 Hz" in r.out


def test_stress_co_runners_are_started_and_stopped(example_onnx):
    import psutil

    before = {p.pid for p in psutil.Process().children()}
    r = profile(example_onnx, iterations=50, duration=0.3, warmup=0, stress=1)
    assert r.results["cpu"]["stress_processes"] == 1
    assert {p.pid for p in psutil.Process().children()} <= before  # the co-runner is gone


def test_torch_backend_eager_and_torchscript(tmp_path):
    torch = pytest.importorskip("torch")
    eager = pipeline.profile("example:mlp", backend="torch", iterations=50, duration=0, warmup=5)
    assert eager.results["backend"]["name"] == "torch" and eager.results["backend"]["mode"] == "eager"
    net = torch.jit.script(torch.nn.Sequential(torch.nn.Linear(6, 3)))
    torch.jit.save(net, str(tmp_path / "policy_1.pt"))
    ts = profile(tmp_path / "policy_1.pt", iterations=50, duration=0, warmup=5)
    assert ts.results["backend"]["mode"] == "torchscript" and ts.results["action_shape"] == [1, 3]


def test_openvino_backend(example_onnx, tmp_path):
    ov = pytest.importorskip("openvino")
    ov.save_model(ov.convert_model(str(example_onnx)), str(tmp_path / "policy.xml"), compress_to_fp16=False)
    r = profile(tmp_path / "policy.xml", iterations=50, duration=0, warmup=5)
    assert r.results["backend"]["name"] == "openvino" and r.results["backend"]["precision"] == "fp32"
    assert r.model.format == "openvino"


def test_dynamic_observation_dims_need_shape(cli, tmp_path):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["obs"], ["action"])],
        "g",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", "n"])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", "n"])],
    )
    path = tmp_path / "dyn.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    r = cli("profile", path, "-n", "10", "--duration", "0")
    assert r.code == 2 and "give the observation shape with --shape" in r.err
    r = cli("profile", path, "-n", "10", "--duration", "0", "--shape", "8", "--json", "-")
    assert r.code == 0, r.err
    assert json.loads(r.out)["results"]["action_shape"] == [1, 8]


def test_engine_without_tensorrt_is_exit_3(cli, tmp_path):
    import importlib.util

    if importlib.util.find_spec("tensorrt"):
        pytest.skip("TensorRT is installed here")
    (tmp_path / "policy.engine").write_bytes(b"\0" * 64)
    r = cli("profile", tmp_path / "policy.engine")
    assert r.code == 3 and "tensorrt is not installed" in r.err


@pytest.mark.gpu
def test_onnxruntime_cuda(example_onnx):
    import onnxruntime as ort

    if "CUDAExecutionProvider" not in ort.get_available_providers():
        pytest.skip("onnxruntime here is a CPU build (no CUDAExecutionProvider): install onnxruntime-gpu")
    r = profile(example_onnx, accelerator="cuda", iterations=200, duration=0)
    assert r.results["backend"]["providers"][0] == "CUDAExecutionProvider"


def test_a_session_the_caller_opened_stays_open(example_onnx):
    from edgeperf.runtime.session import Session

    with Session.open(example_onnx) as s:
        profile(s, iterations=20, duration=0, warmup=0)
        assert s.run(np.zeros(48)).shape == (12,)
