"""Statistics for validation: confidence intervals, reliability (A2Perf's dispersion and risk), and the
paired equivalence verdict. numpy only: bootstrap intervals, Wilson intervals, exact McNemar."""

from __future__ import annotations

import math

import numpy as np

BOOTSTRAP = 10_000
Z_95, Z_90 = 1.959964, 1.644854
Z_POWER_80_TWO_SIDED = 1.281552  # TOST at true difference 0: each side needs power 90%


def bootstrap_mean_ci(x: np.ndarray, confidence: float, seed: int = 0) -> tuple[float, float]:
    x = np.asarray(x, dtype=np.float64)
    if len(x) < 2 or np.all(x == x[0]):
        return float(x.mean()), float(x.mean())
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, len(x), (BOOTSTRAP, len(x)))].mean(axis=1)
    tail = (1 - confidence) / 2
    return float(np.quantile(means, tail)), float(np.quantile(means, 1 - tail))


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
            "ci95": list(bootstrap_mean_ci(r, 0.95)),
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


def equivalence(diff: np.ndarray, margin: float, success_ref, success_dep) -> dict:
    """Paired verdict on the return differences (deployed - reference) and the paired successes.

    equivalent: the 90% CI of the mean difference lies within +-margin (TOST at alpha 0.05) and the success
    rates do not differ (exact McNemar, p >= 0.05). different: the success rates differ, or the 95% CI
    excludes 0 while TOST fails. inconclusive otherwise, with the episodes a TOST would need.
    """
    d = np.asarray(diff, dtype=np.float64)
    mean = float(d.mean())
    ci90, ci95 = bootstrap_mean_ci(d, 0.90, seed=1), bootstrap_mean_ci(d, 0.95, seed=2)
    only_ref = int(np.sum(np.asarray(success_ref) & ~np.asarray(success_dep)))
    only_dep = int(np.sum(np.asarray(success_dep) & ~np.asarray(success_ref)))
    p_success = mcnemar_p(only_ref, only_dep)
    tost = -margin < ci90[0] and ci90[1] < margin
    out = {
        "mean_return_difference": mean,
        "ci90": list(ci90),
        "ci95": list(ci95),
        "margin": margin,
        "tost_within_margin": bool(tost),
        "success_only_reference": only_ref,
        "success_only_deployed": only_dep,
        "success_mcnemar_p": p_success,
    }
    if p_success < 0.05 or (not tost and (ci95[0] > 0 or ci95[1] < 0)):
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
