"""`--executor ray`: the same jobs on a Ray cluster (the `ray` extra).

Validation, export and reliability jobs take one CPU anywhere. A profile job for a named device takes no CPU and
one unit of the custom resource of that name, so it runs only on nodes started with it, one at a time per unit:
start a board with `ray start --address HEAD:6379 --num-cpus 0 --resources '{"jetson-orin-nano": 1}'` and it
profiles, alone, and validates nothing. A device no node offers fails its jobs at once, saying so, instead of
waiting forever. Every node needs edgeperf (and the extras its jobs use) installed; export jobs write under the
output folder, which the nodes must share.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator

from edgeperf.errors import BadInput, HardwareMissing, require
from edgeperf.sweep import jobs as runner
from edgeperf.sweep.config import Job

CONNECT_TIMEOUT_S = 5.0


def _reachable(address: str) -> None:
    """Fail in seconds, not after Ray's minute of retries, when nothing listens at HOST:PORT."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        raise BadInput(f"--address {address}: give HOST:PORT of the Ray head (e.g. 10.0.0.5:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise HardwareMissing(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start its head with "
            f"`ray start --head --port {port}` or give the right --address"
        ) from None


# SIGINT and SIGTERM stay the caller's (the CLI: exit 130 or 143 and one line, after close() shut Ray down). Ray
# gets in the way twice: ray.init installs its own SIGTERM handlers (a C++ stack dump, then sys.exit(1)), and its
# blocking calls run Python's signal handlers inside Cython that passes on KeyboardInterrupt only (the CLI's
# SIGTERM exception comes out as a SystemError). So the handlers are set back after ray.init, and during Ray's
# calls a signal is only noted, then handed to the caller's handler once Ray has returned.


def _signal_handlers() -> dict:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return {}
    return {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}


def _restore(handlers: dict) -> None:
    import signal

    for sig, handler in handlers.items():
        if handler is not None:  # set again even if Python still names it: Ray's C++ handler may sit below
            signal.signal(sig, handler)


def _deliver(handlers: dict, sig: int) -> None:
    import signal

    handler = handlers.get(sig)
    if callable(handler):
        handler(sig, None)
    elif handler == signal.SIG_DFL:
        os.kill(os.getpid(), sig)


def _outside_signals(fn, *args, **kwargs):
    """fn(*args, **kwargs), a blocking Ray call, with SIGINT and SIGTERM noted while it runs and delivered after."""
    import signal

    handlers = _signal_handlers()
    noted: list[int] = []
    for sig in handlers:
        signal.signal(sig, lambda signum, frame: noted.append(signum))
    try:
        return fn(*args, **kwargs)
    finally:
        _restore(handlers)
        if noted:
            _deliver(handlers, noted[0])


class RayCluster:
    name = "ray"

    def __init__(self, address: str | None = None):
        self.ray = require("ray", "ray", "to run sweeps on a Ray cluster")
        self.address = address
        if address not in (None, "auto", "local"):
            _reachable(address)
        env = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
        handlers = _signal_handlers()
        try:
            self.ray.init(
                address=address,
                logging_level="ERROR",
                log_to_driver=False,
                include_dashboard=False,
                runtime_env={"env_vars": env} if env else None,
            )
        except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
            where = f"the Ray cluster at {address}" if address else "a local Ray instance"
            raise HardwareMissing(
                f"cannot connect to {where}: {' '.join(str(exc).split())[:300]}; start it with `ray start --head` "
                "(or give its HOST:PORT with --address)"
            ) from None
        except SystemExit:  # one of Ray's SIGTERM handlers, set for the call, ended it: end as for any SIGTERM
            import signal

            _restore(handlers)
            _deliver(handlers, signal.SIGTERM)
            raise
        finally:
            _restore(handlers)
        self._remote = self.ray.remote(runner.run)

    def describe(self) -> dict:
        nodes = [n for n in self.ray.nodes() if n.get("Alive")]
        return {
            "executor": "ray",
            "address": self.address,
            "nodes": len(nodes),
            "resources": {k: v for k, v in self.ray.cluster_resources().items() if not k.startswith("node:")},
        }

    def run(self, todo: list[Job], output: str) -> Iterator[dict]:
        offered = self.ray.cluster_resources()
        pending = {}
        for job in todo:
            need = job.resources()
            missing = [r for r in need if offered.get(r, 0) < need[r]]
            if missing:
                yield {
                    "id": job.id,
                    "ok": False,
                    "exit_code": 3,
                    "error": f"no node of the Ray cluster offers the resource '{missing[0]}'; start the device's "
                    f"node with ray start --resources '{{\"{missing[0]}\": 1}}'",
                }
                continue
            # A device-bound job holds the device, not a CPU: the board's node can offer no CPUs to other jobs.
            opts = {"resources": need, "num_cpus": 0} if need else {"num_cpus": 1}
            pending[self._remote.options(**opts).remote(job.kind, job.params, job.id, output)] = job
        try:
            while pending:
                # A timeout: a noted signal is delivered within it, not when a job ends.
                ready, _ = _outside_signals(self.ray.wait, list(pending), num_returns=1, timeout=0.2)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        result = _outside_signals(self.ray.get, ref)
                    except self.ray.exceptions.RayError as exc:  # the worker or its node died
                        result = {"id": job.id, "ok": False, "error": " ".join(str(exc).split())[:500]}
                    yield result
        except BaseException:
            for ref in pending:
                _outside_signals(self.ray.cancel, ref, force=True)
            raise

    def close(self) -> None:
        _outside_signals(self.ray.shutdown)


class LocalCluster:
    """A throwaway Ray cluster on this machine, for trying a sweep, the tests and the benchmark: a head and
    `nodes` further nodes on 127.0.0.1, each `ray start --block` a child of this process, stopped by stop()
    (SIGTERM to each, which takes its Ray daemons down with it). nodes: [(num_cpus, {resource: amount})]."""

    def __init__(self, head_cpus: int = 2, nodes=(), object_store_mb: int = 100, timeout_s: float = 120.0):
        import shutil
        import subprocess
        import sys
        import tempfile
        import time
        from pathlib import Path

        require("ray", "ray", "to start a local Ray cluster")
        ray_cli = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.address = f"127.0.0.1:{port}"
        self.tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths have a length limit
        # Ray >= 2.59 turns token authentication on for a head when a token sits in ~/.ray (an earlier local
        # ray.init() leaves one), and a driver reads its own mode when ray is first imported: a throwaway cluster
        # says its mode to its nodes explicitly, off, so any driver of this machine connects. It listens on every
        # interface for its lifetime (Ray binds so): use it on a trusted network only.
        self.env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
        common = ["--node-ip-address=127.0.0.1", f"--object-store-memory={object_store_mb * 2**20}", "--block"]
        self.procs = []

        def start(args):
            self.procs.append(
                subprocess.Popen(
                    [ray_cli, "start", *args, *common],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    env=self.env,
                )
            )

        start(
            [
                "--head",
                f"--port={port}",
                f"--num-cpus={head_cpus}",
                "--include-dashboard=false",
                f"--temp-dir={self.tmp}",
                "--disable-usage-stats",
            ]
        )
        self._wait(1, timeout_s, time)
        for cpus, resources in nodes:
            start([f"--address={self.address}", f"--num-cpus={cpus}", f"--resources={json.dumps(resources)}"])
        self._wait(1 + len(nodes), timeout_s, time)

    def _wait(self, n: int, timeout_s: float, time) -> None:
        import subprocess
        import sys

        probe = (
            "import ray, time, sys\n"
            f"ray.init(address={self.address!r}, logging_level='ERROR')\n"
            f"t = time.time()\n"
            f"while sum(x['Alive'] for x in ray.nodes()) < {n} and time.time() - t < {timeout_s}:\n"
            "    time.sleep(0.5)\n"
            f"sys.exit(0 if sum(x['Alive'] for x in ray.nodes()) >= {n} else 1)\n"
        )
        deadline = time.time() + timeout_s
        while True:
            if any(p.poll() is not None for p in self.procs):
                self.stop()
                raise HardwareMissing("a local Ray node exited at start; run `ray start --head` by hand to see why")
            try:
                with socket.create_connection(("127.0.0.1", int(self.address.rsplit(":", 1)[1])), timeout=1):
                    break
            except OSError:
                if time.time() > deadline:
                    self.stop()
                    raise HardwareMissing(f"the local Ray head did not listen within {timeout_s:g} s") from None
                time.sleep(0.5)
        # A driver can attach only once the head's raylet is up, a little after its port listens: retry.
        while True:
            left = max(1.0, deadline - time.time())
            try:
                r = subprocess.run(
                    [sys.executable, "-c", probe],
                    check=False,
                    capture_output=True,
                    text=True,
                    timeout=left + 30,
                    env=self.env,
                )
            except subprocess.TimeoutExpired:
                r = None
            if r is not None and r.returncode == 0:
                return
            if time.time() > deadline:
                self.stop()
                said = " ".join((r.stderr if r is not None else "").split())[-300:]
                raise HardwareMissing(f"the local Ray cluster did not reach {n} nodes within {timeout_s:g} s: {said}")
            time.sleep(1.0)

    def stop(self) -> None:
        import shutil
        import subprocess

        # The other nodes first, each gone before the next: a node whose head went first can hang in its exit.
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
