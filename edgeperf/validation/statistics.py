"""Statistics for validation: confidence intervals, reliability (A2Perf's dispersion and risk), and the
paired equivalence verdict. Wilson intervals and the exact McNemar test come from scipy.stats, the t and normal
quantiles from results/intervals.py (scipy's too)."""

from __future__ import annotations

import math

import numpy as np

from edgeperf.errors import require
from edgeperf.results.intervals import normal_quantile, t_quantile

stats = require("scipy.stats", "sim", "for validation statistics", package="scipy")

ALPHA = 0.05  # TOST at alpha 0.05: each one-sided test at 5%, i.e. a 90% interval
POWER = 0.80  # episodes_needed: the count that makes "equivalent" likely (at least 80%) at the observed difference


def mean_ci(x: np.ndarray, confidence: float) -> tuple[float, float]:
    """t-based confidence interval of the mean (the percentile bootstrap is too narrow at the small episode
    counts validation runs: it made TOST say "equivalent" 10% of the time at the margin with 6 pairs)."""
    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2 or np.all(x == x[0]):
        return mean, mean
    half = t_quantile(1 - (1 - confidence) / 2, len(x) - 1) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean - half, mean + half


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a success rate (the whole [0, 1] when there are no trials)."""
    if n == 0:
        return 0.0, 1.0
    ci = stats.binomtest(int(successes), int(n)).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar test on the discordant pairs (success for one policy only)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    return float(stats.binomtest(min(only_a, only_b), n, 0.5).pvalue)


def cvar(returns: np.ndarray, fraction: float = 0.05) -> float:
    """Mean of the worst `fraction` of returns (at least one episode): A2Perf's risk across rollouts."""
    x = np.sort(np.asarray(returns, dtype=np.float64))
    return float(x[: max(1, math.ceil(fraction * len(x)))].mean())


def iqr(x: np.ndarray) -> float:
    q75, q25 = np.percentile(x, [75, 25])
    return float(q75 - q25)


def policy_summary(returns, successes, falls, metrics: list[dict]) -> dict:
    """Per-policy figures; `successes` None: the domain has no success criterion, so no success rate."""
    r = np.asarray(returns, dtype=np.float64)
    n = len(r)
    out = {
        "episodes": n,
        "return": {
            "mean": float(r.mean()),
            "ci95": list(mean_ci(r, 0.95)),
            "std": float(r.std(ddof=1)) if n > 1 else 0.0,
            "min": float(r.min()),
            "max": float(r.max()),
        },
        "falls": int(np.sum(falls)),
        "reliability": {"dispersion_iqr": iqr(r), "risk_cvar5": cvar(r)},
    }
    if successes is not None:
        wins = int(np.sum(successes))
        out["success_rate"] = wins / n
        out["success_ci95"] = list(wilson(wins, n))
    for key in sorted({k for m in metrics for k in m}):
        vals = [m[key] for m in metrics if key in m]
        out.setdefault("metrics", {})[key] = float(np.mean(vals))
    return out


SUCCESS_MARGIN = 0.10  # success rates within 10 points count as the same task performance


def equivalence(
    diff: np.ndarray, margin: float, success_ref=None, success_dep=None, nonfinite_deployed: int = 0
) -> dict:
    """Paired verdict on the return differences (deployed - reference) and the paired successes.

    equivalent: TOST at alpha 0.05 on both the mean return difference (its 90% t interval within +-margin) and
    the paired success difference (within +-10 points), and the deployed policy never produced a non-finite
    action. different: non-finite actions, success rates that differ (exact McNemar, p < 0.05), or a return
    difference whose 95% interval excludes 0 while TOST fails. inconclusive otherwise, with the episodes a
    TOST on the returns would need. Successes None (a domain with no success criterion): returns only.
    """
    d = np.asarray(diff, dtype=np.float64)
    mean = float(d.mean())
    ci90, ci95 = mean_ci(d, 1 - 2 * ALPHA), mean_ci(d, 0.95)
    tost = bool(-margin < ci90[0] and ci90[1] < margin)
    out = {
        "mean_return_difference": mean,
        "ci90": list(ci90),
        "ci95": list(ci95),
        "margin": margin,
        "deployed_nonfinite_episodes": nonfinite_deployed,
    }
    success_differs = False
    if success_ref is None:
        out["basis"] = "returns only (the domain has no success criterion)"
    else:
        s_ref, s_dep = np.asarray(success_ref, bool), np.asarray(success_dep, bool)
        only_ref = int(np.sum(s_ref & ~s_dep))
        only_dep = int(np.sum(s_dep & ~s_ref))
        p_success = mcnemar_p(only_ref, only_dep)
        s_ci90 = mean_ci(s_dep.astype(float) - s_ref.astype(float), 1 - 2 * ALPHA)
        tost = tost and s_ci90[0] > -SUCCESS_MARGIN and s_ci90[1] < SUCCESS_MARGIN
        success_differs = p_success < ALPHA
        out.update(
            basis="returns and successes",
            success_only_reference=only_ref,
            success_only_deployed=only_dep,
            success_mcnemar_p=p_success,
            success_difference_ci90=list(s_ci90),
            success_margin=SUCCESS_MARGIN,
        )
    out["tost_within_margin"] = bool(tost)
    if nonfinite_deployed or success_differs or (not tost and (ci95[0] > 0 or ci95[1] < 0)):
        out["verdict"] = "different"
    elif tost:
        out["verdict"] = "equivalent"
    else:
        sd = float(d.std(ddof=1)) if len(d) > 1 else 0.0
        room = margin - abs(mean)
        out["verdict"] = "inconclusive"
        out["episodes_needed"] = episodes_needed(sd, room, len(d)) if room > 0 and sd > 0 else None
    return out


def episodes_needed(sd: float, room: float, have: int) -> int:
    """The episodes that make "equivalent" likely: the smallest n with room * sqrt(n) / sd >= t(1 - ALPHA, n - 1)
    + z((1 + POWER) / 2), where room = margin - |observed mean| (TOST passes when |mean| + t * se < margin), and
    more than the `have` episodes that just came out inconclusive. Were the true difference the observed one, the
    one-sided test that binds would then pass with probability about (1 + POWER) / 2 (90%), so TOST with at least
    POWER; were it 0, more likely still.
    The normal quantile in place of t asked too few of a small sample (2 episodes in the demo: "run about 1
    episodes")."""
    n = max(2, have + 1)
    while n < 1_000_000:
        t = t_quantile(1 - ALPHA, n - 1) + normal_quantile((1 + POWER) / 2)
        if (t * sd / room) ** 2 <= n:
            return n
        n = max(n + 1, math.ceil((t * sd / room) ** 2))
    return n
