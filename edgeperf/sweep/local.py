"""The default executor: a local process pool (spawn: no worker inherits onnxruntime/torch threads).

Profile jobs do not share the machine: a latency measured beside other jobs is not the device's. They run one at
a time, after every other job, in a pool of one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import as_completed
from concurrent.futures.process import BrokenProcessPool

from edgeperf import processes
from edgeperf.config.validate import WORKERS_PER_CORE
from edgeperf.errors import BadInput
from edgeperf.sweep import jobs as runner
from edgeperf.sweep.config import Job


def check_workers(workers: int | None, what: str = "workers") -> None:
    """The pool size validate and generalize accept too: None for one per core, else 1 to a few per core (0 is
    not "the default" here either, and a million is a typo that would start a process per job)."""

    most = WORKERS_PER_CORE * (os.cpu_count() or 1)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= most):
        raise BadInput(
            f"{what} must be from 1 to {most} ({WORKERS_PER_CORE} per core here), got {workers}; leave it out for "
            "one per core"
        )


class LocalPool:
    name = "local"

    def __init__(self, workers: int | None = None):
        check_workers(workers)
        self.workers = workers or os.cpu_count() or 1

    def describe(self) -> dict:
        return {"executor": "local", "workers": self.workers}

    def run(self, todo: list[Job], output: str) -> Iterator[dict]:
        shared = [j for j in todo if j.kind != "profile"]
        alone = [j for j in todo if j.kind == "profile"]
        yield from self._pool(shared, output, self.workers)
        yield from self._pool(alone, output, 1)

    def _pool(self, todo: list[Job], output: str, workers: int) -> Iterator[dict]:
        if not todo:
            return
        pool = processes.pool(min(workers, len(todo)))
        try:
            futures = {pool.submit(runner.run, j.kind, j.params, j.id, output): j for j in todo}
            for fut in as_completed(futures):
                try:
                    yield fut.result()
                except BrokenProcessPool as exc:  # a worker died (killed, out of memory): the job failed
                    yield {"id": futures[fut].id, "ok": False, "error": f"the worker process died ({exc})"}
        except BaseException:
            # An interrupt must not wait for the queued jobs: drop them and stop the running ones (and what they
            # started).
            processes.stop_pool(pool)
            raise
        pool.shutdown()

    def close(self) -> None:
        pass
