"""Latency statistics: percentiles with an order-statistic confidence interval, and the warnings a careful
reader needs (a noisy run, a tail percentile resting on too few samples)."""

from __future__ import annotations

import math

import numpy as np

PERCENTILES = (50, 90, 95, 99, 99.9)
# A tail percentile is only trusted when at least this many samples lie beyond it.
MIN_TAIL_SAMPLES = 10
HIGH_COV = 0.5


def pct_key(p: float) -> str:
    return f"p{p:g}".replace(".", "_")


def order_statistic_ci(sorted_x: np.ndarray, q: float, confidence: float = 0.95) -> tuple[float, float] | None:
    """Distribution-free CI for the q-quantile from the binomial ranks (normal approximation).

    None when the sample is too small for the interval to stay inside the data.
    """
    n = len(sorted_x)
    z = _z(confidence)
    half = z * math.sqrt(n * q * (1 - q))
    lo, hi = math.floor(n * q - half), math.ceil(n * q + half)  # 1-based ranks
    if lo < 1 or hi > n:
        return None
    return float(sorted_x[lo - 1]), float(sorted_x[hi - 1])


def _z(confidence: float) -> float:
    return {0.90: 1.6449, 0.95: 1.9600, 0.99: 2.5758}[round(confidence, 2)]


def latency_stats(samples_ns: np.ndarray, unit: float = 1e3) -> tuple[dict, list[str]]:
    """Summary of latencies (given in ns, reported in us by default) and warnings about their reliability."""
    x = np.sort(np.asarray(samples_ns, dtype=np.float64)) / unit
    n = len(x)
    if n == 0:
        return {"count": 0}, ["no latency samples were taken"]
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if n > 1 else 0.0
    out = {
        "count": n,
        "mean": mean,
        "std": std,
        "cov": std / mean if mean > 0 else None,
        "min": float(x[0]),
        "max": float(x[-1]),
    }
    for p in PERCENTILES:
        out[pct_key(p)] = float(np.percentile(x, p))
    ci = order_statistic_ci(x, 0.99)
    if ci:
        out["p99_ci95"] = list(ci)
    warnings = []
    if out["cov"] is not None and out["cov"] > HIGH_COV:
        warnings.append(
            f"latency is noisy (CoV {out['cov']:.2f} > {HIGH_COV}): other load on this machine, frequency "
            "scaling or thermal throttling; pin the CPU governor or rerun on an idle machine"
        )
    for p in PERCENTILES[1:]:
        beyond = round(n * (1 - p / 100), 6)  # 100 * (1 - 0.9) is 9.999999999999998
        if beyond < MIN_TAIL_SAMPLES:
            need = math.ceil(round(MIN_TAIL_SAMPLES / (1 - p / 100), 6))  # 10 / 0.001 is 10000.000000000002
            warnings.append(
                f"{pct_key(p)} rests on {beyond:.1f} samples beyond it ({n} in all), and higher percentiles on "
                f"fewer: run at least {need} iterations (--iterations) before trusting it"
            )
            break
    return out, warnings


def _summary_us(values_ns: np.ndarray) -> dict:
    x = np.asarray(values_ns, dtype=np.float64) / 1e3
    if len(x) == 0:
        return {"count": 0}
    return {
        "count": len(x),
        "mean": float(x.mean()),
        "p50": float(np.percentile(x, 50)),
        "p99": float(np.percentile(x, 99)),
        "max": float(x.max()),
    }


def longest_streak(flags: np.ndarray) -> int:
    best = cur = 0
    for f in flags:
        cur = cur + 1 if f else 0
        best = max(best, cur)
    return best


MAX_LISTED_MISSES = 1000


def deadline_stats(
    release_ns: np.ndarray, start_ns: np.ndarray, end_ns: np.ndarray, period_ns: int, deadline_ns: int
) -> dict:
    """What a controller designer needs from a periodic run: how often the action came too late, in what
    runs, by how much, and how regular the loop itself was."""
    response = end_ns - release_ns  # from release to action ready
    missed = response > deadline_ns
    lateness = response[missed] - deadline_ns
    wake = start_ns - release_ns  # how late each inference began (sleep overshoot + previous overrun)
    intervals = np.diff(start_ns)
    idx = np.flatnonzero(missed)
    out = {
        "period_us": period_ns / 1e3,
        "deadline_us": deadline_ns / 1e3,
        "periods": len(release_ns),
        "misses": int(missed.sum()),
        "miss_rate": float(missed.mean()) if len(missed) else None,
        "longest_miss_streak": longest_streak(missed),
        "miss_indices": idx[:MAX_LISTED_MISSES].tolist(),
        "lateness_us": _summary_us(lateness),
        "response_us": _summary_us(response),
        "start_delay_us": _summary_us(wake),
    }
    if len(idx) > MAX_LISTED_MISSES:
        out["miss_indices_truncated"] = True
    if len(intervals):
        jitter = (intervals - period_ns) / 1e3
        out["period_jitter_us"] = {
            "std": float(jitter.std()),
            "p99_abs": float(np.percentile(np.abs(jitter), 99)),
            "max_abs": float(np.abs(jitter).max()),
        }
    return out
