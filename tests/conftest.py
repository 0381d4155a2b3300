from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SYSFS = FIXTURES / "sysfs"


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
