"""Quiet around the one line: third-party native code (torch's C++ exporter, onnxruntime, pybullet's build banner)
writes straight to file descriptors 1 and 2, past sys.stdout. EDGEPERF_VERBOSE=1 lets it through."""

from __future__ import annotations

import contextlib
import os
import sys


def verbose() -> bool:
    """EDGEPERF_VERBOSE=1 shows what third-party code prints (torch's exporter, onnxruntime's warnings)."""
    return os.environ.get("EDGEPERF_VERBOSE", "") == "1"


@contextlib.contextmanager
def native_output_silenced():
    """fds 1 and 2 to /dev/null for the duration: native code (torch's C++ exporter, onnxruntime) writes there
    directly, past sys.stdout. The error that follows carries the one line worth showing."""
    if verbose():
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = (os.dup(1), os.dup(2))
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)
