"""`--executor ray`: the same jobs on a Ray cluster (the `ray` extra).

Validation, export and reliability jobs take one CPU anywhere. A profile job for a named device takes no CPU and
one unit of the custom resource of that name, so it runs only on nodes started with it, one at a time per unit:
start a board with `ray start --address HEAD:6379 --num-cpus 0 --resources '{"jetson-orin-nano": 1}'` and it
profiles, alone, and validates nothing. A device no node offers fails its jobs at once, saying so, instead of
waiting forever. Every node needs edgeperf (and the extras its jobs use) installed; export jobs write under the
output folder, which the nodes must share.
"""

from __future__ import annotations

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


class RayCluster:
    name = "ray"

    def __init__(self, address: str | None = None):
        self.ray = require("ray", "ray", "to run sweeps on a Ray cluster")
        self.address = address
        if address not in (None, "auto", "local"):
            _reachable(address)
        env = {k: os.environ[k] for k in ("PYTHONPATH",) if k in os.environ}
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
                ready, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in ready:
                    job = pending.pop(ref)
                    try:
                        yield self.ray.get(ref)
                    except self.ray.exceptions.RayError as exc:  # the worker or its node died
                        yield {"id": job.id, "ok": False, "error": " ".join(str(exc).split())[:500]}
        except BaseException:
            for ref in pending:
                self.ray.cancel(ref, force=True)
            raise

    def close(self) -> None:
        self.ray.shutdown()
