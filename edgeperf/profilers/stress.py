"""Co-runner processes that keep N cores busy, to emulate an onboard computer that is also running perception
and state estimation while the policy infers.

A co-runner must never outlive edgeperf, however edgeperf ends: each one asks the kernel for SIGKILL when its
parent dies (prctl PR_SET_PDEATHSIG, which covers SIGKILL of edgeperf) and, in case the parent was gone before
that call or the call is missing, spins only while its parent is still the edgeperf that started it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from edgeperf.errors import BadInput

# Plain interpreters spinning: no site, edgeperf or numpy, so they start fast and only burn CPU. The parent's
# pid comes in argv: os.getppid() read in the child would already be 1 if edgeperf died first.
CO_RUNNER = """\
import os, signal, sys
parent = int(sys.argv[1])
try:
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
except (OSError, AttributeError):
    pass
while os.getppid() == parent:
    for _ in range(100000):
        pass
"""


@contextlib.contextmanager
def stress(n: int) -> Iterator[list[subprocess.Popen]]:
    if n < 0:
        raise BadInput(f"--stress must be 0 or more co-runner processes, got {n}")
    procs: list[subprocess.Popen] = []
    try:
        for _ in range(n):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-S", "-c", CO_RUNNER, str(os.getpid())],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                )
            )
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
