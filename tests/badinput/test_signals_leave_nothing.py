"""Nothing edgeperf starts outlives it (issue 24, "left running"). Each long-running command is started in its own
session, left until it is really working (its browsers, Ray workers or remote server exist), sent SIGINT, SIGTERM
or SIGKILL, and every process seen descending from it while it ran must be gone a few seconds later. Processes
are tracked from the start by PID and start time, through re-parenting: an orphan adopted by init still counts.
For `hil --host` the remote side counts too (what the test's sshd started meanwhile).

Before the fix (edgeperf.processes.guard): web validation at 2 workers left its ChromeDrivers and their Chromium
trees on every signal (30 processes after SIGKILL or SIGINT, 20 after SIGTERM), a SIGKILL of a Ray sweep left
Ray's dashboard and runtime-env agents, and its SIGTERM ended with Ray's stack dump and exit 1. One row per
command runs by default (the SIGKILL, which no handler sees); the others are `slow`. The cheap commands' children
(co-runners, measure, validate and sweep pools) have their rows in test_files_and_processes.py; the guard's own
two ways of finding an orphan are checked here with nothing but sh and sleep.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path

import psutil
import pytest

from tests.devices.test_remote import EDGEPERF, sshd  # noqa: F401  (sshd: the private OpenSSH fixture)

ROOT = Path(__file__).parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "EDGEPERF_NO_STORE": "1"}
GONE_WITHIN_S = 10.0  # after edgeperf has ended
EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


class Tree:
    """Every process that descends from `pid` (or, started after now, from one of `extra`), tracked while it runs;
    a process is its PID and start time, so a reused PID is never taken for it."""

    def __init__(self, pid: int, extra=()):
        self.roots, self.extra, self.t0 = {pid, *extra}, set(extra), time.time()
        self.seen: dict[tuple[int, float], psutil.Process] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._track, daemon=True)
        self.thread.start()

    def _track(self) -> None:
        while not self.stop.is_set():
            self.scan()
            time.sleep(0.05)

    def scan(self) -> None:
        children = defaultdict(list)
        for p in psutil.process_iter(["ppid", "create_time"]):
            children[p.info["ppid"]].append(p)
        with self.lock:
            todo = [*self.roots, *(p.pid for p in self._alive())]
            while todo:
                parent = todo.pop()
                for c in children.get(parent, ()):
                    key = (c.pid, c.info["create_time"])
                    if key in self.seen or (parent in self.extra and (c.info["create_time"] or 0) < self.t0 - 1):
                        continue
                    self.seen[key] = c
                    todo.append(c.pid)

    def _alive(self) -> list[psutil.Process]:
        out = []
        for p in self.seen.values():
            try:
                if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                    out.append(p)
            except psutil.Error:
                pass
        return out

    def alive(self) -> list[psutil.Process]:
        with self.lock:
            return self._alive()

    def names(self) -> list[str]:
        out = []
        for p in self.alive():
            with contextlib.suppress(psutil.Error):
                out.append(" ".join(p.cmdline()) or p.name())
        return out

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for p in self.alive():  # never leave them running for the rest of the suite
            with contextlib.suppress(psutil.Error):
                p.kill()


def _run(args, sig, ready, tmp_path, extra=(), timeout=120.0) -> None:
    """Start `edgeperf args`, wait until ready(tree) holds, send `sig`, and check that the tree is empty after."""
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgeperf", *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err_file,
            env=ENV,
            cwd=tmp_path,
            start_new_session=True,
        )
    tree = Tree(proc.pid, extra)
    try:
        deadline = time.monotonic() + timeout
        while not ready(tree):
            if proc.poll() is not None:
                pytest.fail(f"edgeperf ended ({proc.returncode}) before it was ready:\n{err_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"not ready within {timeout:g} s; running: {tree.names()}")
            time.sleep(0.1)
        time.sleep(0.5)  # inside the work, not at its first step
        running = len(tree.alive())
        os.kill(proc.pid, sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail(f"edgeperf did not end within 60 s of {sig!r}")
        err = err_path.read_text()
        if sig != signal.SIGKILL:
            assert proc.returncode == EXIT[sig], err[-3000:]
            assert err.strip().splitlines()[-1] == "edgeperf: interrupted", err[-3000:]
            assert "Traceback" not in err and "***" not in err, err[-3000:]  # no stack dump of ours or Ray's
        deadline = time.monotonic() + GONE_WITHIN_S
        while tree.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        tree.scan()
        left = tree.names()
        assert not left, f"{len(left)} of the {running} processes running at {sig.name} outlived edgeperf: {left}"
    finally:
        tree.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _named(tree: Tree, name: str, parent_has: str = "") -> list[psutil.Process]:
    out = []
    for p in tree.alive():
        try:
            if p.name() == name and (not parent_has or parent_has in " ".join(p.parent().cmdline())):
                out.append(p)
        except (psutil.Error, AttributeError):
            pass
    return out


SIGNALS = [signal.SIGKILL, signal.SIGTERM, signal.SIGINT]

# A process that starts the guard, then a process it does not end itself, prints that one's PID and waits.
GUARDED = """\
import subprocess, sys, time
from edgeperf import processes
processes.guard()
if sys.argv[1] == "daemon":  # orphaned at once (setsid, its shell gone): before the guard looks, so by the mark
    cmd = ["sh", "-c", "setsid sleep 300 >/dev/null 2>&1 & echo $!"]
    print(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip(), flush=True)
else:  # no mark (a cleared environment), alive while the guard looks: by descent
    print(subprocess.Popen(["env", "-i", "sleep", "300"]).pid, flush=True)
time.sleep(300)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the guard reads /proc")
@pytest.mark.parametrize("how", ["daemon", "cleared-environment"])
def test_the_guard_ends_what_a_killed_process_left(how):
    """The mechanism under every row above, with nothing but sh and sleep: a SIGKILL leaves an orphan, the guard
    ends it."""
    proc = subprocess.Popen(
        [sys.executable, "-c", GUARDED, how], stdout=subprocess.PIPE, text=True, env=ENV, start_new_session=True
    )
    left = psutil.Process(int(proc.stdout.readline()))
    try:
        time.sleep(1.0)  # more than one look (LOOK_S)
        proc.kill()
        proc.wait()
        assert left.is_running(), "the orphan ended by itself: nothing was tested"
        try:
            left.wait(timeout=GONE_WITHIN_S)
        except psutil.TimeoutExpired:
            pytest.fail(f"{' '.join(left.cmdline())} outlived the process that started it by {GONE_WITHIN_S:g} s")
    finally:
        proc.kill()
        with contextlib.suppress(psutil.Error):
            left.kill()


def _rows(default):
    """Every signal; only `default` outside the slow suite."""
    return [pytest.param(s, id=s.name, marks=() if s == default else pytest.mark.slow) for s in SIGNALS]


@pytest.mark.parametrize("sig", _rows(signal.SIGKILL))
def test_web_validation_leaves_no_browser(sig, tmp_path):
    from tests.domains.web.setup_browser import chromium_missing

    why = chromium_missing()
    if why:
        pytest.skip(why)
    args = ["validate", "reference:web/click-button", "--domain", "web/click-button", "--workers", "2", "-n", "500"]
    # Ready: both pool workers drive a browser (ChromeDriver, its Chromium and Chromium's helpers).
    _run(args, sig, lambda t: len(_named(t, "chromedriver", parent_has="spawn_main")) >= 2, tmp_path)


@pytest.mark.parametrize("sig", _rows(signal.SIGKILL))
def test_ray_sweep_leaves_no_ray_process(sig, tmp_path):
    pytest.importorskip("ray")
    (tmp_path / "s.toml").write_text(
        '[validate]\nmodels = ["reference:gym:Pendulum-v1"]\ndomains = ["gym:Pendulum-v1"]\n'
        "seeds = [0, 1000, 2000]\nepisodes = 5000\n"
    )
    # A local Ray instance (GCS, raylet, agents) and its workers running jobs.
    ready = lambda t: any(n.startswith("ray::run") for n in t.names())  # noqa: E731
    _run(["sweep", "s.toml", "--executor", "ray", "-o", "out"], sig, ready, tmp_path)


@pytest.mark.slow
def test_ray_sweep_sigterm_during_ray_init(tmp_path):
    """Ray's own SIGTERM handlers are in place while ray.init runs: the run still ends as edgeperf says."""
    pytest.importorskip("ray")
    (tmp_path / "s.toml").write_text(
        '[validate]\nmodels = ["reference:gym:Pendulum-v1"]\ndomains = ["gym:Pendulum-v1"]\nseeds = [0]\n'
    )
    ready = lambda t: bool(_named(t, "gcs_server"))  # noqa: E731
    _run(["sweep", "s.toml", "--executor", "ray", "-o", "out"], signal.SIGTERM, ready, tmp_path)


def _tiny_pendulum_policy(path: Path) -> Path:
    """A linear Pendulum policy written with onnx.helper: no export (torch) needed for a process test."""
    np = pytest.importorskip("numpy")
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((3, 1), 0.1, np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["action"])],
        "pendulum",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 1])],
        [w],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _sshd_pid(port: int) -> int:
    with contextlib.suppress(psutil.Error):
        for c in psutil.net_connections("tcp"):
            if c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid:
                return c.pid
    pytest.skip(f"cannot tell which process is the test's sshd (port {port})")


@pytest.mark.parametrize("sig", _rows(signal.SIGKILL))
def test_hil_host_leaves_nothing_here_or_on_the_robot(sig, sshd, tmp_path):  # noqa: F811
    pytest.importorskip("zmq")
    pytest.importorskip("gymnasium")
    model = _tiny_pendulum_policy(tmp_path / "tiny.onnx")
    opts = [a for o in sshd["options"] for a in ("--ssh-option", o)]
    args = ["hil", str(model), "--domain", "gym:Pendulum-v1", "--host", sshd["host"], "--remote-edgeperf", EDGEPERF]
    args += [*opts, "--episodes", "500"]

    def ready(t: Tree) -> bool:
        # The server runs there and the tunnel is open here: the episodes are under way.
        serving = any("edgeperf serve ./tiny.onnx" in n for n in t.names())
        return serving and len(_named(t, "ssh")) >= 2

    _run(args, sig, ready, tmp_path, extra=[_sshd_pid(sshd["port"])])


def test_an_interrupted_pool_takes_what_its_workers_started():
    """The library's own layer (validate and sweep pools on an interrupt): a killed worker runs no cleanup, so
    what it started (a browser) goes with it."""
    from edgeperf import processes

    pool = processes.pool(1)
    child = psutil.Process(pool.submit(os.posix_spawnp, "sleep", ["sleep", "300"], dict(os.environ)).result())
    try:
        processes.stop_pool(pool)
        try:
            child.wait(timeout=GONE_WITHIN_S)
        except psutil.TimeoutExpired:
            pytest.fail("a pool worker's child outlived the stopped pool")
    finally:
        with contextlib.suppress(psutil.Error):
            child.kill()


def test_the_guard_spares_what_is_not_edgeperfs():
    """A process the caller started beside edgeperf (a sibling, not a descendant, without edgeperf's mark) lives on
    after an edgeperf run and after a SIGKILLed one: the guard kills only what edgeperf started."""
    neighbour = subprocess.Popen(["sleep", "60"])
    try:
        subprocess.run([sys.executable, "-m", "edgeperf", "--version"], check=True, capture_output=True, timeout=60)
        killed = subprocess.Popen([sys.executable, "-m", "edgeperf", "link", "--listen", "127.0.0.1:0", "--forward",
                                   "127.0.0.1:9"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        time.sleep(1.5)
        killed.kill()
        killed.wait(timeout=30)
        time.sleep(2)  # the guards' sweeps are done by then
        assert neighbour.poll() is None
    finally:
        neighbour.kill()
        neighbour.wait()
