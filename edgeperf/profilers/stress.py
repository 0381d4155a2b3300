"""Co-runner processes that keep N cores busy, to emulate an onboard computer that is also running perception
and state estimation while the policy infers."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator

from edgeperf.errors import BadInput


@contextlib.contextmanager
def stress(n: int) -> Iterator[list[subprocess.Popen]]:
    if n < 0:
        raise BadInput(f"--stress must be 0 or more co-runner processes, got {n}")
    # Plain interpreters spinning: no import of edgeperf or numpy, so they start fast and only burn CPU.
    procs = [subprocess.Popen([sys.executable, "-S", "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield procs
    finally:
        for p in procs:
            p.kill()
        for p in procs:
            p.wait()
