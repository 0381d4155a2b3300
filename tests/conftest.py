from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SYSFS = FIXTURES / "sysfs"

# The run store: every measuring command records into $XDG_DATA_HOME/edgeperf/runs.db. No test may write into the
# real home, so the whole suite (and every process it starts) gets a temp data folder; tests of the store give
# their own --db or EDGEPERF_DB.
_DATA_HOME = tempfile.mkdtemp(prefix="edgeperf-tests-data-")
atexit.register(shutil.rmtree, _DATA_HOME, True)
os.environ["XDG_DATA_HOME"] = _DATA_HOME
for _var in ("EDGEPERF_DB", "EDGEPERF_NO_STORE", "EDGEPERF_DB_TIMEOUT"):
    os.environ.pop(_var, None)


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run the edgeperf CLI in-process through its real entry point (the error boundary included)."""
    from edgeperf.cli.app import main

    def run(*args: str, env: dict | None = None) -> CliResult:
        for k, v in (env or {}).items():
            monkeypatch.setenv(k, v)
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def assert_one_line(code: int, got: int, err: str) -> None:
    assert got == code, (code, got, err)
    assert "Traceback" not in err, err
    assert sum(ln.startswith("edgeperf: ") for ln in err.splitlines()) == 1, err


@pytest.fixture
def bad(cli):
    """bad(code, *args): run the CLI in-process and check the one-line error with exit `code`."""

    def run(code: int, *args, env: dict | None = None):
        r = cli(*args, env=env)
        assert_one_line(code, r.code, r.err)
        return r

    return run


@pytest.fixture
def bad_proc():
    """bad_proc(code, *args, timeout=60, **popen): the CLI in a fresh process, checked like `bad`."""

    def run(code: int, *args, timeout: float = 120, env: dict | None = None, **kw):
        r = subprocess.run(
            [sys.executable, "-m", "edgeperf", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **(env or {})},
            **kw,
        )
        assert_one_line(code, r.returncode, r.stderr)
        return r

    return run


def run_python(code: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run Python code in a fresh interpreter (for checks of what gets imported)."""
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}
    )


@pytest.fixture(scope="session")
def example_onnx(tmp_path_factory) -> Path:
    """The example policy exported once for the whole session (real torch export, real parity check)."""
    from edgeperf.exporter.onnx import export

    out = tmp_path_factory.mktemp("example") / "policy.onnx"
    report = export("example:mlp", out)
    assert report.results["parity"]["passed"]
    return out


@pytest.fixture(autouse=True)
def _no_sysfs_override(monkeypatch):
    # Tests that want a captured tree set EDGEPERF_SYSFS_ROOT themselves.
    monkeypatch.delenv("EDGEPERF_SYSFS_ROOT", raising=False)


def _hardware_reasons() -> dict[str, str | None]:
    """Why each real-hardware marker cannot run here (None: it can)."""
    import importlib.util

    import onnxruntime as ort

    has_cuda = "CUDAExecutionProvider" in ort.get_available_providers() or Path("/proc/driver/nvidia").exists()
    return {
        "gpu": None if has_cuda else "needs an NVIDIA GPU with CUDA (none on this machine)",
        "tensorrt": None
        if importlib.util.find_spec("tensorrt") and has_cuda
        else "needs TensorRT and an NVIDIA GPU (not installable on this machine)",
        "jetson": None if Path("/etc/nv_tegra_release").exists() else "needs a real NVIDIA Jetson board",
    }


def pytest_collection_modifyitems(config, items):
    reasons = _hardware_reasons()
    for item in items:
        for marker, reason in reasons.items():
            if reason and marker in item.keywords:
                item.add_marker(pytest.mark.skip(reason=reason))


# -- Dict observations (tests/dictobs.py): built once per session, shared by exporter/runtime/badinput tests ----


@pytest.fixture(scope="session")
def dict_sb3(tmp_path_factory) -> dict:
    pytest.importorskip("stable_baselines3")
    pytest.importorskip("pybullet")
    from tests import dictobs

    return dictobs.build_sb3(tmp_path_factory.mktemp("dict_sb3"))


@pytest.fixture(scope="session")
def dict_onnx(dict_sb3, tmp_path_factory) -> tuple[Path, dict]:
    """(the fp32 export of the Dict-observation SB3 policy, its export report's results)."""
    from tests import dictobs

    out = tmp_path_factory.mktemp("dict_onnx") / "vision.onnx"
    report = dictobs.export_sb3(dict_sb3, out)
    return out, report.results
