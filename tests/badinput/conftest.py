"""The bad-input suite (issue 10): every case is a real file, process, signal or file system, and each one
checks the same promise: one line on stderr, the documented exit code, no traceback, nothing destroyed.

`bad` runs the CLI in-process (fast; an exception that is not an EdgeperfError escapes and fails the test);
`bad_proc` runs it in a fresh process (for signals, hangs, closed streams and orphaned children)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

EXIT = {"ok": 0, "verdict": 1, "bad": 2, "missing": 3, "sigint": 130, "sigterm": 143}


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
