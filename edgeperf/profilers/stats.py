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
    lo, hi = math.floor(n * q - half), math.ceil(n * q + half)
    if lo < 0 or hi >= n:
        return None
    return float(sorted_x[lo]), float(sorted_x[hi])


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
        beyond = n * (1 - p / 100)
        if beyond < MIN_TAIL_SAMPLES:
            need = math.ceil(MIN_TAIL_SAMPLES / (1 - p / 100))
            warnings.append(
                f"{pct_key(p)} rests on {beyond:.1f} samples beyond it ({n} in all), and higher percentiles on "
                f"fewer: run at least {need} iterations (--iterations) before trusting it"
            )
            break
    return out, warnings
