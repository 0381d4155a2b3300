"""The one home of the confidence intervals reports carry: the distribution-free interval of a quantile (binomial
ranks, normal approximation; profile's p99_ci95 and compare's shifts) and the normal and Student's t quantiles
behind every interval (compare's batch means, validation's mean and Welch intervals, TOST).

The normal quantile is the standard library's (statistics.NormalDist, exact to double precision: profile and
compare need no scipy). Student's t for the small integer degrees of freedom compare and most validations use is
the exact CDF (Abramowitz and Stegun 26.7.3-4, a finite sum for integer df) inverted by bisection, equal to
scipy's to 1e-12 (tested) and free of scipy's 0.7 s import; fractional (Welch) or large df are scipy.stats.t.ppf's
(validation requires scipy)."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()
_EXACT_MAX_DF = 400  # the finite sum has df / 2 terms per bisection step: cheap up to here


def normal_quantile(p: float) -> float:
    """The standard normal's p-quantile (scipy.stats.norm.ppf)."""
    return _NORMAL.inv_cdf(p)


def two_sided_z(confidence: float) -> float:
    """z such that a normal value lies within +-z with probability `confidence` (1.959964 at 0.95)."""
    return normal_quantile(1 - (1 - confidence) / 2)


def t_quantile(p: float, df: float) -> float:
    """Student's t p-quantile with df degrees of freedom (scipy.stats.t.ppf)."""
    if df == int(df) and 1 <= df <= _EXACT_MAX_DF:
        return _t_quantile_exact(p, df)
    try:
        from scipy import stats  # optional (the sim extra) and heavy: imported on use
    except ImportError:
        return _t_quantile_exact(p, df)
    return float(stats.t.ppf(p, df))


def _t_quantile_exact(p: float, df: float) -> float:
    """t.ppf without scipy, for integer df: bisection on theta = atan(t / sqrt(df)), where P(|T| <= t) is a
    finite sum in sin and cos of theta."""
    if df != int(df) or df < 1:
        raise ValueError(f"without scipy, Student's t needs integer degrees of freedom >= 1 (got {df})")
    if not 0 < p < 1:
        return math.copysign(math.inf, p - 0.5) if p in (0, 1) else math.nan
    if p < 0.5:
        return -_t_quantile_exact(1 - p, df)
    want, lo, hi = 2 * p - 1, 0.0, math.pi / 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if mid in (lo, hi):
            break
        lo, hi = (mid, hi) if _t_central(mid, int(df)) < want else (lo, mid)
    return math.sqrt(df) * math.tan((lo + hi) / 2)


def _t_central(theta: float, df: int) -> float:
    """P(|T| <= sqrt(df) tan(theta)) for Student's t with integer df (Abramowitz and Stegun 26.7.3 and 26.7.4)."""
    s, c = math.sin(theta), math.cos(theta)
    c2 = c * c
    if df % 2:  # odd: (2/pi) (theta + sin cos (1 + 2/3 cos^2 + 2*4/(3*5) cos^4 + ...)), the last power df - 2
        term = total = c if df > 1 else 0.0
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            total += term
        return 2 / math.pi * (theta + s * total)
    term = total = 1.0  # even: sin (1 + 1/2 cos^2 + 1*3/(2*4) cos^4 + ...), the last power df - 2
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        total += term
    return s * total


def quantile_ci_ranks(n: int, q: float, confidence: float = 0.95) -> tuple[int, int] | None:
    """The 0-based ranks of the bounds of quantile_ci for n sorted values, or None when the interval would not
    stay inside the data."""
    half = two_sided_z(confidence) * math.sqrt(n * q * (1 - q))
    lo, hi = math.floor(n * q - half), math.ceil(n * q + half)  # 1-based ranks
    if lo < 1 or hi > n:
        return None
    return lo - 1, hi - 1


def quantile_ci(sorted_x: np.ndarray, q: float, confidence: float = 0.95) -> tuple[float, float] | None:
    """Distribution-free interval of the q-quantile of sorted values from the binomial ranks (normal
    approximation); None when the sample is too small for the interval to stay inside it."""
    ranks = quantile_ci_ranks(len(sorted_x), q, confidence)
    return None if ranks is None else (float(sorted_x[ranks[0]]), float(sorted_x[ranks[1]]))
