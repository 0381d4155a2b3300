import json
import time

import numpy as np
import pytest

from edgeperf.profilers import latency
from edgeperf.profilers.run import profile
from tests.conftest import run_python


def test_report_has_latency_cold_start_and_memory(example_onnx):
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
        (["--observations", "domain:quadruped/trot"], "only 'random'"),
        (["--backend", "tflite"], "unknown backend"),
    ],
)
def test_bad_arguments_exit_2(cli, example_onnx, args, message):
    r = cli("profile", example_onnx, *args)
    assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1


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
    assert json.loads(out.read_text())["results"]["latency_us"]["count"] >= 200


def test_demo_runs_end_to_end(cli, tmp_path):
    r = cli("demo", "--out", tmp_path, "--duration", "0.5")
    assert r.code == 0, r.err
    export = json.loads((tmp_path / "export.json").read_text())
    prof = json.loads((tmp_path / "profile.json").read_text())
    assert export["results"]["parity"]["passed"]
    assert prof["results"]["latency_us"]["p50"] > 0
    # Profiled in a fresh process: torch (loaded by the export) does not count against the policy's memory.
    assert prof["results"]["memory"]["peak_rss_bytes"] < 300 * 2**20
