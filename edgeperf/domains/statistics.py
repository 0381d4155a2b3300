"""Statistics for validation: confidence intervals, reliability (A2Perf's dispersion and risk), and the
paired equivalence verdict. numpy only: t intervals, Wilson intervals, exact McNemar."""

from __future__ import annotations

import math

import numpy as np

Z_95, Z_90 = 1.959964, 1.644854
Z_POWER_80_TWO_SIDED = 1.281552  # TOST at true difference 0: each side needs power 90%


def t_quantile(p: float, df: int) -> float:
    """Student's t quantile: exact for 1 and 2 degrees of freedom, a Cornish-Fisher expansion beyond (error
    below 1e-3 from 3 degrees of freedom on, at the levels used here)."""
    if df == 1:
        return math.tan(math.pi * (p - 0.5))
    if df == 2:
        return (2 * p - 1) / math.sqrt(2 * p * (1 - p))
    z = {0.95: Z_90, 0.975: Z_95}[round(p, 3)]
    g1 = (z**3 + z) / 4
    g2 = (5 * z**5 + 16 * z**3 + 3 * z) / 96
    g3 = (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / 384
    g4 = (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / 92160
    return z + g1 / df + g2 / df**2 + g3 / df**3 + g4 / df**4


def mean_ci(x: np.ndarray, confidence: float) -> tuple[float, float]:
    """t-based confidence interval of the mean (the percentile bootstrap is too narrow at the small episode
    counts validation runs: it made TOST say "equivalent" 10% of the time at the margin with 6 pairs)."""
    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2 or np.all(x == x[0]):
        return mean, mean
    half = t_quantile(1 - (1 - confidence) / 2, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean - half, mean + half


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar test on the discordant pairs (success for one policy only)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n
    return min(1.0, 2 * tail)


def cvar(returns: np.ndarray, fraction: float = 0.05) -> float:
    """Mean of the worst `fraction` of returns (at least one episode): A2Perf's risk across rollouts."""
    x = np.sort(np.asarray(returns, dtype=np.float64))
    return float(x[: max(1, math.ceil(fraction * len(x)))].mean())


def iqr(x: np.ndarray) -> float:
    q75, q25 = np.percentile(x, [75, 25])
    return float(q75 - q25)


def policy_summary(returns, successes, falls, metrics: list[dict]) -> dict:
    r = np.asarray(returns, dtype=np.float64)
    n, wins = len(r), int(np.sum(successes))
    out = {
        "episodes": n,
        "return": {
            "mean": float(r.mean()),
            "ci95": list(mean_ci(r, 0.95)),
            "std": float(r.std(ddof=1)) if n > 1 else 0.0,
            "min": float(r.min()),
            "max": float(r.max()),
        },
        "success_rate": wins / n,
        "success_ci95": list(wilson(wins, n)),
        "falls": int(np.sum(falls)),
        "reliability": {"dispersion_iqr": iqr(r), "risk_cvar5": cvar(r)},
    }
    for key in sorted({k for m in metrics for k in m}):
        vals = [m[key] for m in metrics if key in m]
        out.setdefault("metrics", {})[key] = float(np.mean(vals))
    return out


SUCCESS_MARGIN = 0.10  # success rates within 10 points count as the same task performance


def equivalence(diff: np.ndarray, margin: float, success_ref, success_dep, nonfinite_deployed: int = 0) -> dict:
    """Paired verdict on the return differences (deployed - reference) and the paired successes.

    equivalent: TOST at alpha 0.05 on both the mean return difference (its 90% t interval within +-margin) and
    the paired success difference (within +-10 points), and the deployed policy never produced a non-finite
    action. different: non-finite actions, success rates that differ (exact McNemar, p < 0.05), or a return
    difference whose 95% interval excludes 0 while TOST fails. inconclusive otherwise, with the episodes a
    TOST on the returns would need.
    """
    d = np.asarray(diff, dtype=np.float64)
    mean = float(d.mean())
    ci90, ci95 = mean_ci(d, 0.90), mean_ci(d, 0.95)
    s_ref, s_dep = np.asarray(success_ref, bool), np.asarray(success_dep, bool)
    only_ref = int(np.sum(s_ref & ~s_dep))
    only_dep = int(np.sum(s_dep & ~s_ref))
    p_success = mcnemar_p(only_ref, only_dep)
    s_ci90 = mean_ci(s_dep.astype(float) - s_ref.astype(float), 0.90)
    success_tost = s_ci90[0] > -SUCCESS_MARGIN and s_ci90[1] < SUCCESS_MARGIN
    tost = -margin < ci90[0] and ci90[1] < margin and success_tost
    out = {
        "mean_return_difference": mean,
        "ci90": list(ci90),
        "ci95": list(ci95),
        "margin": margin,
        "tost_within_margin": bool(tost),
        "success_only_reference": only_ref,
        "success_only_deployed": only_dep,
        "success_mcnemar_p": p_success,
        "success_difference_ci90": list(s_ci90),
        "success_margin": SUCCESS_MARGIN,
        "deployed_nonfinite_episodes": nonfinite_deployed,
    }
    if nonfinite_deployed or p_success < 0.05 or (not tost and (ci95[0] > 0 or ci95[1] < 0)):
        out["verdict"] = "different"
    elif tost:
        out["verdict"] = "equivalent"
    else:
        sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
        room = margin - abs(mean)
        need = math.ceil(((Z_90 + Z_POWER_80_TWO_SIDED) * sd / room) ** 2) if room > 0 and sd > 0 else None
        out["verdict"] = "inconclusive"
        out["episodes_needed"] = need
    return out
