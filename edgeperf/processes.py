"""Children that never outlive edgeperf: a preexec_fn asking the kernel to SIGKILL the child when its parent
dies (PR_SET_PDEATHSIG, which covers a SIGKILL of edgeperf that no handler sees). Linux only; elsewhere the
children end with their pipes."""

from __future__ import annotations

import os
import signal
import sys


def die_with_parent():
    """A preexec_fn for subprocess.Popen (None where prctl does not exist). The child only calls prctl (looked up
    here, before the fork): no lock another thread could hold."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG; the flag survives exec
        if os.getppid() != parent:  # edgeperf died before the call
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def _worker_start(parent: int, initializer, initargs) -> None:
    # A pool worker's first act: the kernel kills it when edgeperf dies, even by a SIGKILL no handler sees.
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # edgeperf died before the call
            os._exit(1)
    if initializer is not None:
        initializer(*initargs)


def pool(workers: int, initializer=None, initargs: tuple = ()):
    """A ProcessPoolExecutor of spawned workers (forking a process that holds onnxruntime or torch threads is
    unsafe) that never outlive edgeperf. Workers start from the calling thread, which must live as long as the
    pool (the death signal follows the thread that started the process)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(os.getpid(), initializer, initargs),
    )
