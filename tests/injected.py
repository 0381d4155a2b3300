"""A session with a known, injected latency: the ground truth the profiler is checked against (by the tests
and scripts/bench_runtime.py). Not a backend for models; opened directly, never by Session.open."""

from __future__ import annotations

import time

import numpy as np

from edgeperf.runtime.session import IOSpec, Session, TensorSpec


def busy_wait_us(us: float) -> None:
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


class InjectedLatency(Session):
    """Each inference busy-waits `us` microseconds; every `every`-th observation of the pool (index % every ==
    every - 1) takes `overrun_us` instead. prepare() hands out pool indices so the pattern is exact."""

    backend = "injected"

    def __init__(self, us: float, overrun_us: float | None = None, every: int = 10):
        self.us, self.overrun_us, self.every = us, overrun_us, every
        self.path = "injected"
        self._next = 0
        self.io = IOSpec((TensorSpec("obs", (None, 4), "float32"),), (TensorSpec("action", (None, 2), "float32"),), {})

    def prepare(self, obs):
        index, self._next = self._next, self._next + 1
        return index

    def infer(self, index) -> np.ndarray:
        overrun = self.overrun_us is not None and index % self.every == self.every - 1
        busy_wait_us(self.overrun_us if overrun else self.us)
        return np.zeros((1, 2), np.float32)
