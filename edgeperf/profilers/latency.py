"""Latency scenarios.

`stream`: back-to-back single inferences (MLPerf SingleStream). `periodic`: a fixed-rate control loop with
absolute release times (release k = start + k * period, so lateness never accumulates into drift); a late
inference runs at once and the next one keeps its own release. Both time the warm-up apart and run until
both the iteration and the duration minimums are met.

Memory stays bounded for any duration: the loop appends its timestamps to lists of one chunk (a list append
is the cheapest store CPython has), and between timed calls each full chunk is folded into bounded statistics
(`Record`) and handed to the sinks (the streamed CSV), then dropped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from edgeperf.config.profile import DEFAULT_SPIN_US
from edgeperf.profilers.stats import EXACT_CAPACITY, DeadlineStats, Moments, Quantiles

CLOCK = "perf_counter_ns"
_now = time.perf_counter_ns
# The last stretch before a release is spun rather than slept: time.sleep overshoots by tens of microseconds.
DEFAULT_SPIN_NS = round(DEFAULT_SPIN_US * 1e3)
CHUNK = 4096  # stream: timestamps folded every CHUNK inferences (~0.1 ms of numpy per fold, 1.5 ms with --csv)
# periodic: folded once PERIODIC_CHUNK are pending and the slack before the next release allows it; at
# MAX_PENDING whatever the slack (and a release the fold made late is counted).
PERIODIC_CHUNK = 256
MAX_PENDING = 16 * PERIODIC_CHUNK

# A sink receives each chunk: start, end and (periodic) release times in ns, int64 arrays.
Sink = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], None]


class Timeline:
    """Latency over time for plotting, bounded: at most `bins` bins of `width` consecutive inferences, each with
    its start time, mean and max; when full, pairs of bins merge (width doubles), which keeps mean and max exact."""

    def __init__(self, bins: int = 4096) -> None:
        self.bins, self.width, self.count = bins, 1, 0
        self.t_ns = np.zeros(bins, np.int64)  # the first start in each bin
        self.n = np.zeros(bins, np.int64)
        self.sum_ns = np.zeros(bins)
        self.max_ns = np.zeros(bins)
        self.max_response_ns = np.zeros(bins)

    def add(self, start: np.ndarray, latency: np.ndarray, response: np.ndarray | None) -> None:
        if not len(start):
            return
        while (self.count + len(start) - 1) // self.width >= self.bins:
            self._halve()
        b = (self.count + np.arange(len(start))) // self.width
        edges = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
        ub = b[edges]
        fresh = self.n[ub] == 0
        self.t_ns[ub[fresh]] = start[edges[fresh]]
        self.n[ub] += np.diff(np.r_[edges, len(b)])
        self.sum_ns[ub] += np.add.reduceat(latency, edges)
        self.max_ns[ub] = np.maximum(self.max_ns[ub], np.maximum.reduceat(latency, edges))
        if response is not None:
            self.max_response_ns[ub] = np.maximum(self.max_response_ns[ub], np.maximum.reduceat(response, edges))
        self.count += len(start)

    def _halve(self) -> None:
        half = self.bins // 2
        self.t_ns[:half] = self.t_ns[0::2]
        for a, merge in ((self.n, np.add), (self.sum_ns, np.add), (self.max_ns, np.maximum)):
            a[:half] = merge(a[0::2], a[1::2])
        self.max_response_ns[:half] = np.maximum(self.max_response_ns[0::2], self.max_response_ns[1::2])
        for a in (self.t_ns, self.n, self.sum_ns, self.max_ns, self.max_response_ns):
            a[half:] = 0
        self.width *= 2

    def series(self) -> dict:
        used = self.n > 0
        return {
            "t_ns": self.t_ns[used],
            "mean_ns": self.sum_ns[used] / self.n[used],
            "max_ns": self.max_ns[used],
            "max_response_ns": self.max_response_ns[used],
        }


@dataclass
class Record:
    """Everything kept of a run: bounded statistics folded chunk by chunk."""

    latency: Quantiles
    timeline: Timeline = field(default_factory=Timeline)
    deadline: DeadlineStats | None = None
    sinks: Sequence[Sink] = ()

    def add(self, starts: list[int], ends: list[int], releases: list[int] | None = None) -> None:
        s, e = np.asarray(starts, np.int64), np.asarray(ends, np.int64)
        r = None if releases is None else np.asarray(releases, np.int64)
        lat = e - s
        self.latency.add(lat)
        self.timeline.add(s, lat, None if r is None else e - r)
        if self.deadline is not None:
            self.deadline.add(r, s, e)
        for sink in self.sinks:
            sink(s, e, r)


@dataclass
class Run:
    record: Record
    warmup: Moments  # latencies of the warm-up inferences, ns
    window_start_ns: int
    window_end_ns: int
    cpu_s: float  # process CPU time (user + system) spent in the measured window
    late_folds: int = 0  # periodic: releases that started late because the profiler's own folding overran them

    @property
    def latency(self) -> Quantiles:
        return self.record.latency

    @property
    def count(self) -> int:
        return self.record.latency.count

    @property
    def samples_ns(self) -> np.ndarray:
        """Every latency in order, while the run fits the exact buffer (ValueError beyond)."""
        return self.record.latency.values()

    @property
    def wall_s(self) -> float:
        return (self.window_end_ns - self.window_start_ns) / 1e9


def _record(sinks: Sequence[Sink], capacity: int | None, deadline: DeadlineStats | None = None) -> Record:
    return Record(Quantiles(capacity or EXACT_CAPACITY), deadline=deadline, sinks=sinks)


def _warmup(infer: Callable, feeds: Sequence, n: int) -> Moments:
    k, out, lat = len(feeds), Moments(), []
    for i in range(n):
        t0 = _now()
        infer(feeds[i % k])
        lat.append(_now() - t0)
        if len(lat) == CHUNK:
            out.add(np.asarray(lat, np.int64))
            lat.clear()
    out.add(np.asarray(lat, np.int64))
    return out


def stream(
    infer: Callable,
    feeds: Sequence,
    *,
    warmup: int,
    min_iterations: int,
    min_duration_s: float,
    progress: Callable[[int, float], None] | None = None,
    sinks: Sequence[Sink] = (),
    capacity: int | None = None,
) -> Run:
    """Back-to-back inferences until both minimums are met. `capacity`: exact samples kept before the
    histogram takes over (default stats.EXACT_CAPACITY)."""
    k = len(feeds)
    warm = _warmup(infer, feeds, warmup)
    record = _record(sinks, capacity)
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
        if not i % CHUNK:
            record.add(starts, ends)
            starts.clear()
            ends.clear()
        if progress is not None and not i & 1023:
            progress(i, (t1 - window) / 1e9)
    window_end, cpu = _now(), time.process_time() - cpu0
    record.add(starts, ends)
    return Run(record, warm, window, window_end, cpu)


def periodic(  # noqa: PLR0913 - the loop's keyword-only knobs (stream() takes the run-length ones too)
    infer: Callable,
    feeds: Sequence,
    *,
    period_ns: int,
    deadline_ns: int | None = None,
    warmup: int,
    min_iterations: int,
    min_duration_s: float,
    spin_ns: int = DEFAULT_SPIN_NS,
    progress: Callable[[int, float], None] | None = None,
    sinks: Sequence[Sink] = (),
    capacity: int | None = None,
) -> Run:
    """One inference per period, released at absolute times; never skips a period, never drifts. Deadline
    statistics against `deadline_ns` (default: the period)."""
    k = len(feeds)
    warm = _warmup(infer, feeds, warmup)
    record = _record(sinks, capacity, DeadlineStats(period_ns, deadline_ns or period_ns, capacity or EXACT_CAPACITY))
    releases: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    fold_ns = late_folds = 0
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
        if len(ends) >= PERIODIC_CHUNK:
            # Fold in the slack before the next release, so the profiler's own work does not make it late.
            nxt = first + i * period_ns
            if nxt - t1 > 2 * fold_ns + spin_ns or len(ends) >= MAX_PENDING:
                record.add(starts, ends, releases)
                starts.clear()
                ends.clear()
                releases.clear()
                done = _now()
                fold_ns = done - t1
                late_folds += done > nxt
        if progress is not None and not i % 256:
            progress(i, (t1 - window) / 1e9)
    window_end, cpu = _now(), time.process_time() - cpu0
    record.add(starts, ends, releases)
    return Run(record, warm, window, window_end, cpu, late_folds=late_folds)


def sleep_until(target_ns: int, spin_ns: int = DEFAULT_SPIN_NS) -> None:
    remaining = target_ns - _now()
    if remaining > spin_ns:
        time.sleep((remaining - spin_ns) / 1e9)
    while _now() < target_ns:
        pass
