"""Latency scenarios. `stream`: back-to-back single inferences (MLPerf SingleStream), warm-up timed apart."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

CLOCK = "perf_counter_ns"
_now = time.perf_counter_ns


@dataclass
class StreamRun:
    samples_ns: np.ndarray  # one per measured inference, in order
    warmup_ns: np.ndarray
    start_ns: int
    end_ns: int
    cpu_s: float  # process CPU time (user + system) spent in the measured window

    @property
    def wall_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9


def stream(
    infer: Callable,
    feeds: Sequence,
    *,
    warmup: int,
    min_iterations: int,
    min_duration_s: float,
    progress: Callable[[int, float], None] | None = None,
) -> StreamRun:
    """Run until both minimums are met: at least `min_iterations` inferences and `min_duration_s` seconds."""
    k = len(feeds)
    warm = []
    for i in range(warmup):
        t0 = _now()
        infer(feeds[i % k])
        warm.append(_now() - t0)
    samples: list[int] = []
    append = samples.append
    cpu0 = time.process_time()
    start = _now()
    deadline = start + int(min_duration_s * 1e9)
    i = 0
    while True:
        feed = feeds[i % k]
        t0 = _now()
        infer(feed)
        t1 = _now()
        append(t1 - t0)
        i += 1
        if i >= min_iterations and t1 >= deadline:
            break
        if progress is not None and not i & 1023:
            progress(i, (t1 - start) / 1e9)
    end = _now()
    return StreamRun(
        np.asarray(samples, dtype=np.int64),
        np.asarray(warm, dtype=np.int64),
        start,
        end,
        time.process_time() - cpu0,
    )
