"""The pipeline: profile here or in a fresh process (the memory a robot would see), the demo's checks before any
work, and the option list a fresh process or a remote device receives."""

import os
import subprocess
import sys
import time

import pytest

from edgeperf import pipeline
from edgeperf.cli.app import main
from edgeperf.config import ProfileConfig
from edgeperf.results.report import load_report


def test_profile_argv_is_what_the_cli_accepts(tmp_path, example_onnx):
    """A remote device runs `edgeperf profile` with the config's options: the CLI reads them back to the same
    config (the report's config section is the one the library would write)."""
    cfg = ProfileConfig(rate=50.0, shape=(48,), power="off", iterations=20, duration=0.0, warmup=2)
    argv = cfg.to_argv()
    assert "--no-power" in argv and "--power" not in argv and argv[argv.index("--shape") + 1] == "48"
    assert "--backend" not in argv  # defaults are left to the remote edgeperf
    assert main(["profile", str(example_onnx), *argv, "--json", str(tmp_path / "p.json")]) == 0
    got = ProfileConfig.from_dict(load_report(tmp_path / "p.json").config)
    assert got == cfg.replace(device=got.device, backend=got.backend)
    with pytest.raises(TypeError, match="spin_us"):
        ProfileConfig(spin_us=5.0).to_argv()  # no option for it: never dropped silently


def test_a_fresh_process_does_not_count_torch_that_this_one_loaded(example_onnx):
    import torch  # noqa: F401  (the exporter loaded it here, as in docs/reference/api.md's snippet)

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


def test_a_fresh_process_error_crosses_as_its_own_class(example_onnx):
    """The child sends its error typed (class, message, exit code), not a line for the parent to parse: a
    missing device is HardwareMissing with exit code 3 here too."""
    from edgeperf.errors import HardwareMissing

    with pytest.raises(HardwareMissing, match="--device jetson names any NVIDIA Jetson") as got:
        pipeline.profile(example_onnx, isolate=True, device="jetson", power="off")
    assert got.value.exit_code == 3 and str(got.value).startswith("the profile in a fresh process failed: ")


def test_a_fresh_process_answer_survives_a_library_that_prints(tmp_path, example_onnx, monkeypatch):
    """What a library prints on fd 1 in the child (here: at import, through sitecustomize) goes to stderr, not
    into the answer."""
    (tmp_path / "sitecustomize.py").write_text("import os\nos.write(1, b'{not json\\n')\nprint('chatty')\n")
    monkeypatch.setenv("PYTHONPATH", f"{tmp_path}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    report = pipeline.profile(example_onnx, isolate=True, iterations=20, duration=0.0, warmup=2, power="off")
    assert report.results["latency_us"]["count"] == 20


def test_the_fresh_process_options_are_checked_before_it_starts(example_onnx):
    with pytest.raises(pipeline.BadInput, match="--iterations must be at least 1"):
        pipeline.profile(example_onnx, isolate=True, iterations=0)
    with pytest.raises(TypeError, match="rates"):
        pipeline.profile(example_onnx, isolate=True, rates=50)


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


def test_a_killed_caller_takes_its_fresh_profile_and_co_runners_with_it(example_onnx):
    """SIGKILL of the process that asked for a fresh-process profile (no handler runs): the kernel ends the child
    (PR_SET_PDEATHSIG), and its --stress co-runners with it."""
    from edgeperf.profilers.stress import CO_RUNNER
    from tests.processes import alive

    code = f"from edgeperf import pipeline; pipeline.profile({str(example_onnx)!r}, isolate=True, stress=1, "
    code += "iterations=1, duration=120.0, warmup=0, power='off')"
    parent = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        family = []
        while not any(CO_RUNNER in _cmd(p) for p in family):
            assert time.monotonic() < deadline, "the fresh profile never started its co-runner"
            time.sleep(0.1)
            family = _family(parent.pid)
        assert any("edgeperf.fresh" in _cmd(p) for p in family)
        parent.kill()
        parent.wait(10)
        deadline = time.monotonic() + 10
        while alive(family):
            assert time.monotonic() < deadline, f"outlived the caller: {[_cmd(p) for p in alive(family)]}"
            time.sleep(0.05)
    finally:
        parent.kill()


def _family(pid: int) -> list:
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def _cmd(p) -> list[str]:
    import psutil

    try:
        return p.cmdline()
    except psutil.Error:
        return []
