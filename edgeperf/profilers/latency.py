"""Latency scenarios.

`stream`: back-to-back single inferences (MLPerf SingleStream). `periodic`: a fixed-rate control loop with
absolute release times (release k = start + k * period, so lateness never accumulates into drift); a late
inference runs at once and the next one keeps its own release. Both time the warm-up apart and run until
both the iteration and the duration minimums are met.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

CLOCK = "perf_counter_ns"
_now = time.perf_counter_ns
# The last stretch before a release is spun rather than slept: time.sleep overshoots by tens of microseconds.
DEFAULT_SPIN_NS = 200_000


@dataclass
class Run:
    start_ns: np.ndarray  # when each measured inference started
    end_ns: np.ndarray
    warmup_ns: np.ndarray  # latencies of the warm-up inferences
    window_start_ns: int
    window_end_ns: int
    cpu_s: float  # process CPU time (user + system) spent in the measured window
    release_ns: np.ndarray | None = None  # periodic only: each inference's release time

    @property
    def samples_ns(self) -> np.ndarray:
        return self.end_ns - self.start_ns

    @property
    def wall_s(self) -> float:
        return (self.window_end_ns - self.window_start_ns) / 1e9


def _warmup(infer: Callable, feeds: Sequence, n: int) -> np.ndarray:
    k, out = len(feeds), []
    for i in range(n):
        t0 = _now()
        infer(feeds[i % k])
        out.append(_now() - t0)
    return np.asarray(out, dtype=np.int64)


def stream(
    infer: Callable,
    feeds: Sequence,
    *,
    warmup: int,
    min_iterations: int,
    min_duration_s: float,
    progress: Callable[[int, float], None] | None = None,
) -> Run:
    """Back-to-back inferences until both minimums are met."""
    k = len(feeds)
    warm = _warmup(infer, feeds, warmup)
    starts: list[int] = []
    ends: list[int] = []
    cpu0 = time.process_time()
    window = _now()
    deadline = window + int(min_duration_s * 1e9)
    i = 0
    while True:
        feed = feeds[i % k]
        t0 = _now()
        infer(feed)
        t1 = _now()
        starts.append(t0)
        ends.append(t1)
        i += 1
        if i >= min_iterations and t1 >= deadline:
            break
        if progress is not None and not i & 1023:
            progress(i, (t1 - window) / 1e9)
    return Run(
        np.asarray(starts, np.int64), np.asarray(ends, np.int64), warm, window, _now(), time.process_time() - cpu0
    )


def periodic(
    infer: Callable,
    feeds: Sequence,
    *,
    period_ns: int,
    warmup: int,
    min_iterations: int,
    min_duration_s: float,
    spin_ns: int = DEFAULT_SPIN_NS,
    progress: Callable[[int, float], None] | None = None,
) -> Run:
    """One inference per period, released at absolute times; never skips a period, never drifts."""
    k = len(feeds)
    warm = _warmup(infer, feeds, warmup)
    releases: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    cpu0 = time.process_time()
    window = _now()
    first = window + period_ns  # the first release one period out, so set-up never makes it late
    min_ns = int(min_duration_s * 1e9)
    i = 0
    while True:
        release = first + i * period_ns
        sleep_until(release, spin_ns)
        t0 = _now()
        infer(feeds[i % k])
        t1 = _now()
        releases.append(release)
        starts.append(t0)
        ends.append(t1)
        i += 1
        if i >= min_iterations and t1 - first >= min_ns:
            break
        if progress is not None and not i % 256:
            progress(i, (t1 - window) / 1e9)
    return Run(
        np.asarray(starts, np.int64),
        np.asarray(ends, np.int64),
        warm,
        window,
        _now(),
        time.process_time() - cpu0,
        release_ns=np.asarray(releases, np.int64),
    )


def sleep_until(target_ns: int, spin_ns: int = DEFAULT_SPIN_NS) -> None:
    remaining = target_ns - _now()
    if remaining > spin_ns:
        time.sleep((remaining - spin_ns) / 1e9)
    while _now() < target_ns:
        pass
