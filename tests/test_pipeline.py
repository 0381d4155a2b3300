"""The pipeline: profile here or in a fresh process (the memory a robot would see), the demo's checks before any
work, and the option list a fresh process or a remote device receives."""

import subprocess
import sys
import time

import pytest

from edgeperf import pipeline
from edgeperf.cli.app import main


def test_profile_argv_is_what_the_cli_accepts(tmp_path, example_onnx):
    argv = pipeline.profile_argv(rate=50.0, shape=(48,), power="off", iterations=20, duration=0.0, warmup=2)
    assert "--no-power" in argv and "--power" not in argv and argv[argv.index("--shape") + 1] == "48"
    assert main(["profile", str(example_onnx), *argv, "--json", str(tmp_path / "p.json")]) == 0
    with pytest.raises(TypeError, match="unknown profile parameters"):
        pipeline.profile_argv(rates=50)


def test_a_fresh_process_does_not_count_torch_that_this_one_loaded(example_onnx):
    import torch  # noqa: F401  (the exporter loaded it here, as in the README's snippet)

    kw = {"iterations": 50, "duration": 0.0, "warmup": 5, "power": "off"}
    here = pipeline.profile(example_onnx, **kw)
    fresh = pipeline.profile(example_onnx, isolate=True, **kw)
    assert "torch" in sys.modules
    assert any("torch is loaded in this process" in w for w in here.warnings)
    assert not any("torch is loaded" in w for w in fresh.warnings)
    assert fresh.results["memory"]["peak_rss_bytes"] < here.results["memory"]["peak_rss_bytes"]


def test_a_fresh_process_error_keeps_its_exit_code_and_line(tmp_path):
    missing = tmp_path / "nope.onnx"
    with pytest.raises(pipeline.BadInput, match="does not exist"):
        pipeline.profile(missing, isolate=True, power="off")


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--episodes", "1"], "--episodes must be from 2"),
        (["--episodes", "100000000"], "--episodes"),
        (["--hil-episodes", "1"], "--hil-episodes"),
        (["--sim2sim-episodes", "1"], "--sim2sim-episodes must be 0"),
        (["--duration", "0"], "--duration"),
        (["--domain", "nope/x"], "unknown"),
    ],
)
def test_demo_checks_its_options_before_any_work(bad, tmp_path, args, says):
    out = tmp_path / "demo"
    r = bad(2, "demo", "--out", out, *args)
    assert says in r.err
    assert not (out / "policy.onnx").exists() and not (out / "export.json").exists()


def test_a_local_server_dies_with_the_process_that_started_it(example_onnx):
    """SIGKILL of the parent (no handler runs): the kernel ends the server (PR_SET_PDEATHSIG)."""
    import psutil

    code = f"from edgeperf.pipeline import LocalServer; s = LocalServer({str(example_onnx)!r}); "
    code += "print(s.proc.pid, flush=True)"
    parent = subprocess.Popen([sys.executable, "-c", code + "; import time; time.sleep(60)"], stdout=subprocess.PIPE)
    pid = int(parent.stdout.readline())
    assert psutil.pid_exists(pid)
    parent.kill()
    parent.wait(10)
    deadline = time.monotonic() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the server outlived its parent"
        time.sleep(0.05)
