"""Latency statistics: percentiles with an order-statistic confidence interval, and the warnings a careful
reader needs (a noisy run, a tail percentile resting on too few samples).

Bounded for any run length: `Quantiles` keeps the exact values while they fit in a preallocated buffer, then
folds them into a log-linear histogram of fixed size with a stated relative precision; count, mean, std, min
and max stay exact throughout (merged moments). `DeadlineStats` folds a periodic run chunk by chunk the same
way."""

from __future__ import annotations

import math

import numpy as np

from edgeperf.results.intervals import quantile_ci_ranks
from edgeperf.results.report import PERCENTILES, pct_key

# A tail percentile is only trusted when at least this many samples lie beyond it.
MIN_TAIL_SAMPLES = 10
HIGH_COV = 0.5
# 2^20 exact samples (8 MiB) cover ~20 s of back-to-back inferences at 20 us, or 5.8 h of a 50 Hz loop.
EXACT_CAPACITY = 1 << 20
MAX_LISTED_MISSES = 1000

# The histogram (HdrHistogram's layout, in numpy): values below 2^SUB_BITS ns are counted exactly; above,
# every power of two [2^e, 2^(e+1)) is split into 2^(SUB_BITS-1) equal buckets, so a bucket is at most
# 1/2^(SUB_BITS-1) of its lower bound wide and its midpoint is within half of that of any value in it.
SUB_BITS = 11
_SUB = 1 << SUB_BITS
_HALF = _SUB >> 1
_MAX_BITS = 53  # values are clipped below 2^53 ns (104 days) so float64 holds them exactly
N_BUCKETS = _SUB + (_MAX_BITS - SUB_BITS) * _HALF
_FOLD_SLICE = 1 << 16
RELATIVE_PRECISION = 1 / _SUB  # 0.049%: the worst relative error of a bucket's midpoint


def histogram_method(capacity: int) -> str:
    return (
        f"log-linear histogram beyond {capacity} samples: every percentile within "
        f"{100 * RELATIVE_PRECISION:.3f}% (relative) of the exact one; count, mean, std, min and max exact"
    )


class Moments:
    """Exact count, mean, variance (merged per chunk, Chan et al.), min and max of a stream of values."""

    def __init__(self) -> None:
        self.count = 0
        self.mean = 0.0
        self._m2 = 0.0
        self.min: float | None = None
        self.max: float | None = None

    def add(self, x: np.ndarray) -> None:
        n = len(x)
        if not n:
            return
        mean = float(x.mean())
        m2 = float(np.square(x - mean).sum())
        total = self.count + n
        delta = mean - self.mean
        self._m2 += m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        lo, hi = x.min().item(), x.max().item()
        self.min = lo if self.min is None else min(self.min, lo)
        self.max = hi if self.max is None else max(self.max, hi)

    def std(self, ddof: int = 0) -> float:
        return math.sqrt(self._m2 / (self.count - ddof)) if self.count > ddof else 0.0


def _bucket(v: np.ndarray) -> np.ndarray:
    bits = np.frexp(v.astype(np.float64))[1]  # the bit length of each (exact below 2^53)
    shift = np.maximum(bits - SUB_BITS, 0)
    return np.where(v < _SUB, v, _SUB + (shift - 1) * _HALF + (v >> shift) - _HALF)


def _midpoint(idx: np.ndarray) -> np.ndarray:
    j = np.maximum(idx - _SUB, 0)
    shift = j // _HALF + 1
    low = (j % _HALF + _HALF) << shift
    return np.where(idx < _SUB, idx, low + ((1 << shift) - 1) / 2)


class Quantiles(Moments):
    """Non-negative values in ns: exact while they fit in `capacity`, then a log-linear histogram."""

    def __init__(self, capacity: int = EXACT_CAPACITY) -> None:
        super().__init__()
        self.capacity = capacity
        # float64 holds integer ns exactly below 2^53; the pages are touched only as they fill
        self._exact: np.ndarray | None = np.empty(capacity, np.float64)
        self._counts: np.ndarray | None = None
        self._sorted: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        return self._exact is not None

    @property
    def method(self) -> str:
        return "exact" if self.exact else histogram_method(self.capacity)

    def add(self, x: np.ndarray) -> None:
        x = np.asarray(x)
        n0 = self.count
        super().add(x)
        self._sorted = None
        if self._exact is not None:
            if self.count <= len(self._exact):
                self._exact[n0 : self.count] = x
                return
            self._counts = np.zeros(N_BUCKETS, np.int64)
            for i in range(0, n0, _FOLD_SLICE):  # in slices: the temporaries of 2^20 at once would add ~60 MB
                self._fold(self._exact[i : min(i + _FOLD_SLICE, n0)])
            self._exact = None  # the histogram holds them now
        self._fold(x)

    def _fold(self, x: np.ndarray) -> None:
        b = np.bincount(_bucket(np.clip(x, 0, (1 << _MAX_BITS) - 1).astype(np.int64)))
        self._counts[: len(b)] += b

    def values(self) -> np.ndarray:
        """The exact values in arrival order (only while they fit)."""
        if self._exact is None:
            raise ValueError(f"more than {EXACT_CAPACITY} values: only the histogram is kept")
        return self._exact[: self.count]

    def weighted(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(values, weights) to draw a histogram from: the exact values, or each bucket's midpoint and count."""
        if self.exact:
            return self.values(), None
        idx = np.flatnonzero(self._counts)
        return _midpoint(idx), self._counts[idx]

    def at_rank(self, ranks: np.ndarray) -> np.ndarray:
        """The values of 0-based order statistics (histogram: their bucket's midpoint, within the min and max)."""
        ranks = np.asarray(ranks, np.int64)
        if self.exact:
            if self._sorted is None:
                self._sorted = np.sort(self.values())
            return self._sorted[ranks]
        idx = np.searchsorted(np.cumsum(self._counts), ranks, side="right")
        return np.clip(_midpoint(idx), self.min, self.max)

    def percentile(self, q: float) -> float:
        """numpy's default (linear) percentile; from the histogram within RELATIVE_PRECISION of it, since both
        order statistics it interpolates between are."""
        h = (self.count - 1) * q / 100
        lo = math.floor(h)
        a, b = self.at_rank([lo, min(lo + 1, self.count - 1)])
        return float(a + (h - lo) * (b - a))


def latency_stats(samples_ns: np.ndarray | Quantiles, unit: float = 1e3) -> tuple[dict, list[str]]:
    """Summary of latencies (given in ns, reported in us by default) and warnings about their reliability."""
    q = samples_ns
    if not isinstance(q, Quantiles):
        q = Quantiles(len(samples_ns))
        q.add(np.asarray(samples_ns))
    n = q.count
    if n == 0:
        return {"count": 0}, ["no latency samples were taken"]
    mean = q.mean / unit
    std = q.std(ddof=1) / unit if n > 1 else 0.0
    out = {
        "count": n,
        "method": q.method,
        "mean": mean,
        "std": std,
        "cov": std / mean if mean > 0 else None,
        "min": q.min / unit,
        "max": q.max / unit,
    }
    if not q.exact:
        out["relative_precision"] = RELATIVE_PRECISION
    for p in PERCENTILES:
        out[pct_key(p)] = q.percentile(p) / unit
    ranks = quantile_ci_ranks(n, 0.99)
    if ranks:
        out["p99_ci95"] = (q.at_rank(ranks) / unit).tolist()
    warnings = []
    if out["cov"] is not None and out["cov"] > HIGH_COV:
        warnings.append(
            f"latency is noisy (CoV {out['cov']:.2f} > {HIGH_COV}): other load on this machine, frequency "
            "scaling or thermal throttling; pin the CPU governor or rerun on an idle machine"
        )
    # A tail percentile with fewer than MIN_TAIL_SAMPLES beyond it is all but the max: it stays in the report,
    # named here, and the tables leave it out (a figure shown is one the samples support).
    short = {}
    for p in PERCENTILES[1:]:
        beyond = round(n * (1 - p / 100), 6)  # 100 * (1 - 0.9) is 9.999999999999998
        if beyond < MIN_TAIL_SAMPLES:
            need = math.ceil(round(MIN_TAIL_SAMPLES / (1 - p / 100), 6))  # 10 / 0.001 is 10000.000000000002
            short[pct_key(p)] = f"{beyond:g} samples beyond it of {n}: {need} inferences needed"
    if short:
        out["tail_unsupported"] = short
    return out, warnings


def _summary_us(q: Quantiles) -> dict:
    if not q.count:
        return {"count": 0}
    return {
        "count": q.count,
        "mean": q.mean / 1e3,
        "p50": q.percentile(50) / 1e3,
        "p99": q.percentile(99) / 1e3,
        "max": q.max / 1e3,
    }


class DeadlineStats:
    """What a controller designer needs from a periodic run: how often the action came too late, in what runs,
    by how much, and how regular the loop itself was; folded chunk by chunk (`add`), bounded for any length."""

    def __init__(self, period_ns: int, deadline_ns: int, capacity: int = EXACT_CAPACITY) -> None:
        self.period_ns, self.deadline_ns = period_ns, deadline_ns
        self.periods = self.misses = 0
        self.longest_streak = self._streak = 0  # the run of misses that the last chunk ended in
        self.miss_indices: list[int] = []
        self.response = Quantiles(capacity)  # from release to action ready
        self.lateness = Quantiles(capacity)  # beyond the deadline, of the missed ones
        self.start_delay = Quantiles(capacity)  # how late each inference began (sleep overshoot + overruns)
        self.jitter = Moments()  # start-to-start interval minus the period, signed
        self.abs_jitter = Quantiles(capacity)
        self._last_start: int | None = None

    def add(self, release_ns: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray) -> None:
        n = len(release_ns)
        if not n:
            return
        response = end_ns - release_ns
        missed = response > self.deadline_ns
        idx = np.flatnonzero(missed)
        room = MAX_LISTED_MISSES + 1 - len(self.miss_indices)  # one more than listed, to know it was cut
        self.miss_indices += (idx[:room] + self.periods).tolist()
        self._add_streaks(missed, idx)
        self.periods += n
        self.misses += len(idx)
        self.response.add(response)
        self.lateness.add(response[missed] - self.deadline_ns)
        self.start_delay.add(start_ns - release_ns)
        starts = start_ns if self._last_start is None else np.concatenate(([self._last_start], start_ns))
        jitter = np.diff(starts) - self.period_ns
        self.jitter.add(jitter)
        self.abs_jitter.add(np.abs(jitter))
        self._last_start = int(start_ns[-1])

    def _add_streaks(self, missed: np.ndarray, idx: np.ndarray) -> None:
        met = np.flatnonzero(~missed)
        if not len(met):  # the streak goes on through the whole chunk
            self._streak += len(missed)
            self.longest_streak = max(self.longest_streak, self._streak)
            return
        if len(idx):
            runs = np.diff(met) - 1  # misses between two met deadlines
            inner = int(runs.max()) if len(runs) else 0
            self.longest_streak = max(self.longest_streak, self._streak + int(met[0]), inner)
        self._streak = len(missed) - 1 - int(met[-1])
        self.longest_streak = max(self.longest_streak, self._streak)

    def result(self) -> dict:
        out = {
            "period_us": self.period_ns / 1e3,
            "deadline_us": self.deadline_ns / 1e3,
            "periods": self.periods,
            "misses": self.misses,
            "miss_rate": self.misses / self.periods if self.periods else None,
            "longest_miss_streak": self.longest_streak,
            "miss_indices": self.miss_indices[:MAX_LISTED_MISSES],
            "lateness_us": _summary_us(self.lateness),
            "response_us": _summary_us(self.response),
            "start_delay_us": _summary_us(self.start_delay),
        }
        if len(self.miss_indices) > MAX_LISTED_MISSES:
            out["miss_indices_truncated"] = True
        if self.jitter.count:
            out["period_jitter_us"] = {
                "std": self.jitter.std() / 1e3,
                "p99_abs": self.abs_jitter.percentile(99) / 1e3,
                "max_abs": self.abs_jitter.max / 1e3,
            }
        if not self.response.exact:
            out["method"] = self.response.method
        return out


def deadline_stats(
    release_ns: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray, period_ns: int, deadline_ns: int
) -> dict:
    """DeadlineStats of whole arrays at once."""
    d = DeadlineStats(period_ns, deadline_ns, capacity=max(len(release_ns), 1))
    d.add(np.asarray(release_ns, np.int64), np.asarray(start_ns, np.int64), np.asarray(end_ns, np.int64))
    return d.result()
