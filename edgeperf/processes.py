"""Children that never outlive edgeperf, however it ends (SIGINT, SIGTERM, SIGKILL), in two layers. Linux only;
elsewhere the children end with their pipes.

- Direct children ask the kernel to SIGKILL them when their parent dies (PR_SET_PDEATHSIG: die_with_parent() for
  Popen, pool() for worker pools). The flag is not inherited: what a child starts (ChromeDriver's Chromium, the
  raylet's workers and agents) is orphaned, not killed, and a killed child runs no cleanup.
- The guard: the CLI starts one per run (guard()), a small process outside edgeperf's session that records every
  process descending from edgeperf while it runs (PID and start time, so an orphan re-parented to init stays
  known) and, once edgeperf has ended, kills every one of them still alive, what carries edgeperf's mark (an
  environment variable all descendants inherit: it finds one that was born and orphaned between two looks), and
  what descends from either.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

# The environment variable that marks edgeperf's descendants: one token per guarding edgeperf, space-separated
# (an edgeperf started by edgeperf adds its own, so the outer guard still finds what the inner one started).
MARK = "EDGEPERF_PROCESS_MARK"
LOOK_S = 0.5  # between two looks at edgeperf's descendants

# The guard, run as `python -I -S -c GUARD PID TOKEN MARK LOOK_S`. Each kill checks the start time through a
# pidfd first (no reused PID is hit). Spared: an ssh ControlPersist master ("[mux]", other sessions share it), and
# for a moment multiprocessing's resource tracker, which unlinks a killed pool's named semaphores and then ends.
# Setting a process title (Ray's agents, Chromium's helpers) can blank its environment: those are found by descent.
GUARD = """\
import os, select, signal, sys, time
for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
    signal.signal(s, signal.SIG_IGN)
os.chdir("/")
os.nice(19)  # a look costs ~15 us per process on the machine: never in the way of what edgeperf measures
parent, token, mark, look = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3].encode() + b"=", float(sys.argv[4])
me = os.getpid()


def read(pid, what):
    with open(f"/proc/{pid}/{what}", "rb") as f:
        return f.read()


def table():
    procs = {}  # pid -> (ppid, start time) of every live process
    for name in os.listdir("/proc"):
        if name.isdigit() and int(name) != me:
            try:
                stat = read(name, "stat").rpartition(b")")[2].split()
                if stat[0] not in (b"Z", b"X"):
                    procs[int(name)] = (int(stat[1]), stat[19])
            except (OSError, ValueError, IndexError):
                pass
    return procs


def descend(procs, roots):
    children = {}
    for pid, (ppid, _) in procs.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found | {pid for pid in roots if pid in procs}


def marked(pid):
    try:
        env = read(pid, "environ").split(b"\\0")
    except OSError:
        return False
    return any(v.startswith(mark) and token in v[len(mark) :].split() for v in env)


def kill(pid, start):
    try:
        pfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        pfd = None
    try:
        if read(pid, "stat").rpartition(b")")[2].split()[19] == start:
            if pfd is None:
                os.kill(pid, signal.SIGKILL)
            else:
                signal.pidfd_send_signal(pfd, signal.SIGKILL)
    except (OSError, IndexError):
        pass
    finally:
        if pfd is not None:
            os.close(pfd)


known = {}  # pid -> start time of every live descendant seen
try:
    fd = os.pidfd_open(parent)
except (AttributeError, OSError):
    fd = None
while os.getppid() == parent:  # else it has ended (and the pidfd may name another process)
    procs = table()
    known = {pid: start for pid, start in known.items() if procs.get(pid, (0, None))[1] == start}
    known.update((pid, procs[pid][1]) for pid in descend(procs, [parent, *known]) - {parent})
    if fd is not None:
        select.select([fd], [], [], look)
    else:
        time.sleep(min(look, 0.1))

t0 = time.monotonic()
while time.monotonic() - t0 < 30:
    procs = table()
    roots = [pid for pid, (_, start) in procs.items() if known.get(pid) == start or marked(pid)]
    left = {}
    for pid in descend(procs, roots):
        try:
            cmdline = read(pid, "cmdline")
        except OSError:
            continue
        if cmdline.rstrip(b"\\0 ").endswith(b" [mux]"):
            continue
        if b"multiprocessing.resource_tracker" in cmdline and time.monotonic() - t0 < 3:
            left[pid] = None
            continue
        left[pid] = procs[pid][1]
    if not left:
        break
    for pid, start in left.items():
        if start is not None:
            kill(pid, start)
    time.sleep(0.05)
"""

# The guard this process started (its pid: a forked child is not guarded by its parent's guard).
_GUARDED: dict = {}


def guard() -> None:
    """Start this process's guard (once) and mark the environment its children inherit from now on. What descends
    from this process is killed when it ends, however it ends: for the CLI, whose whole run is edgeperf's (a
    library caller keeps its children's lifetimes; die_with_parent and pool still apply)."""
    if not sys.platform.startswith("linux") or _GUARDED.get("pid") == os.getpid():
        return
    token = f"{os.getpid()}-{os.urandom(8).hex()}"
    try:
        os.posix_spawn(
            sys.executable,
            [sys.executable, "-I", "-S", "-c", GUARD, str(os.getpid()), token, MARK, str(LOOK_S)],
            {k: v for k, v in os.environ.items() if k != MARK},
            file_actions=[(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)],
            setsid=True,  # no terminal signal reaches it; it ends itself after the sweep
        )
    except OSError:
        return  # no guard: the direct children's death signals still hold
    os.environ[MARK] = f"{os.environ.get(MARK, '')} {token}".strip()
    _GUARDED["pid"] = os.getpid()


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


QUIET_TRACKER = "ignore:resource_tracker:UserWarning"


def pool(workers: int, initializer=None, initargs: tuple = ()):
    """A ProcessPoolExecutor of spawned workers (forking a process that holds onnxruntime or torch threads is
    unsafe) that never outlive edgeperf. Workers start from the calling thread, which must live as long as the
    pool (the death signal follows the thread that started the process)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # An interrupted pool leaves its queue's semaphore to multiprocessing's resource tracker, which frees it and
    # then warns on the terminal after edgeperf's last line; the tracker takes this process's -W options.
    if QUIET_TRACKER not in sys.warnoptions:
        sys.warnoptions.append(QUIET_TRACKER)
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_start,
        initargs=(os.getpid(), initializer, initargs),
    )


def stop_pool(pool) -> None:
    """End a pool now, dropping its queued work: kill its workers and what they started. A killed worker runs no
    cleanup, so its browser (ChromeDriver and Chromium) would live on without this."""
    import psutil

    workers = list((pool._processes or {}).values())  # the executor has no public accessor
    started = []
    for w in workers:
        with contextlib.suppress(psutil.Error):
            started += psutil.Process(w.pid).children(recursive=True)
    for w in workers:
        w.kill()
    for p in started:
        with contextlib.suppress(psutil.Error):
            p.kill()
    pool.shutdown(wait=True, cancel_futures=True)  # the pool is broken now: this returns at once
