"""Which of a test's processes are still running. A zombie is not: it has exited, and where the container's PID 1
does not reap orphans (CI's does not), an orphan stays a zombie for good."""

from __future__ import annotations

import psutil


def alive(procs) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.Error:
            pass
    return out
