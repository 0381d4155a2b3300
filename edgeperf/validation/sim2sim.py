"""`edgeperf sim2sim`: the same policy in two simulators, and whether its task performance transfers.

The two domains are different worlds (another engine, another robot description), so episodes are not paired:
episode k of each uses seed + k, and the statistics are two-sample. Return: the difference of means (B - A)
with Welch's t interval. Success: each rate with its Wilson interval, and the difference with Newcombe's
hybrid-score interval (Newcombe 1998, method 10), built on those Wilson intervals.

Verdict (B against A):
  fails        B's success rate is at most half of A's: the upper end of B's 95% Wilson interval under half
               of A's rate (or B succeeds in no episode where A succeeds in some)
  transfers    B is not worse than A by more than TRANSFER_MARGIN in success rate (the lower end of the
               difference's 90% Newcombe interval above -TRANSFER_MARGIN, a non-inferiority test at 5%), and
               B does not fall significantly more often
  degrades     B's success rate, or its return where the domains judge no success, is significantly lower
               (the 95% interval of the difference below 0)
  inconclusive none of these: run more episodes
Without a success criterion in either domain, the return decides: transfers when Welch's 90% interval of the
difference lies within +-A's equivalence margin. "The metric that moved most": the largest standardised shift
|mean B - mean A| / pooled standard deviation among the metrics both domains report.

`randomize`: levels of one physical quantity applied to B (friction, pushes, mass, motor strength, sensor
noise, for MuJoCo deploy specs; action latency for any domain), each level run on the same seeds: success
against the level, a robustness curve.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeperf.config.sim2sim import Sim2simConfig
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.results.intervals import t_quantile
from edgeperf.results.report import Report
from edgeperf.runtime.session import Session
from edgeperf.validation import statistics
from edgeperf.validation.latency import LatencyModel
from edgeperf.validation.paired import check_fit, describe_model
from edgeperf.validation.rollout import Episode, PolicySpec, run_pairs

TRANSFER_MARGIN = 0.25  # success-rate points B may lose and still "transfer" (non-inferiority margin)
ALPHA = 0.05
# The randomisation keys of a MuJoCo domain id (`mujoco:spec.toml,friction=0.5`), and latency for any domain
RANDOMIZE = {
    "friction": "ground friction coefficient",
    "push_n": "push force (N), every 2-4 s",
    "mass_scale": "every body's mass x",
    "motor_strength": "PD gains x",
    "obs_noise": "sensor noise std (raw units)",
    "latency_ms": "action latency (ms)",
}


def run_episodes(domain_id: str, policy: PolicySpec, seeds: list[int], workers: int, latency=None) -> list[Episode]:
    return [p.deployed for p in run_pairs(domain_id, policy, None, seeds, latency=latency, workers=workers)]


def newcombe(s_a: int, n_a: int, s_b: int, n_b: int, confidence: float) -> tuple[float, float]:
    """Newcombe's hybrid-score interval of p_b - p_a from the two Wilson intervals."""
    pa, pb = s_a / n_a, s_b / n_b
    la, ua = statistics.wilson(s_a, n_a, confidence)
    lb, ub = statistics.wilson(s_b, n_b, confidence)
    d = pb - pa
    return d - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2), d + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2)


def welch(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float]:
    """Welch's t interval of mean(b) - mean(a)."""
    d = float(b.mean() - a.mean())
    va, vb = (float(x.var(ddof=1)) / len(x) if len(x) > 1 else 0.0 for x in (a, b))
    se = math.sqrt(va + vb)
    if se == 0:
        return d, d
    dof = (va + vb) ** 2 / ((va**2 / (len(a) - 1) if va else 0.0) + (vb**2 / (len(b) - 1) if vb else 0.0))
    half = t_quantile(1 - (1 - confidence) / 2, dof) * se
    return d - half, d + half


def compare(a: list[Episode], b: list[Episode], margin: float) -> dict:
    ra = np.array([e.ret for e in a])
    rb = np.array([e.ret for e in b])
    criterion = all(e.success_reported for e in a + b)
    out: dict = {
        "return_difference": float(rb.mean() - ra.mean()),
        "return_difference_ci90": list(welch(ra, rb, 0.90)),
        "return_difference_ci95": list(welch(ra, rb, 0.95)),
        "margin": margin,
        "success_margin": TRANSFER_MARGIN,
    }
    fa, fb = (int(sum(e.fall for e in x)) for x in (a, b))
    fall90 = newcombe(fa, len(a), fb, len(b), 0.90)
    out["fall_rate_difference_ci90"] = list(fall90)
    falls_more = fall90[0] > 0
    if criterion:
        sa, sb = (int(sum(e.success for e in x)) for x in (a, b))
        pa = sa / len(a)
        ci90 = newcombe(sa, len(a), sb, len(b), 0.90)
        ci95 = newcombe(sa, len(a), sb, len(b), 0.95)
        out.update(success_rate_difference=sb / len(b) - pa, success_difference_ci90=list(ci90))
        out["success_difference_ci95"] = list(ci95)
        upper_b = statistics.wilson(sb, len(b), 0.95)[1]
        if sa and (sb == 0 or upper_b < pa / 2):
            verdict = "fails"
        elif ci90[0] > -TRANSFER_MARGIN and not falls_more:
            verdict = "transfers"
        elif ci95[1] < 0 or falls_more:
            verdict = "degrades"
        else:
            verdict = "inconclusive"
        out["basis"] = "success rates (non-inferiority) and falls"
    else:
        lo90, hi90 = out["return_difference_ci90"]
        if -margin < lo90 and hi90 < margin and not falls_more:
            verdict = "transfers"
        elif out["return_difference_ci95"][1] < 0 or falls_more:
            verdict = "degrades"
        else:
            verdict = "inconclusive"
        out["basis"] = "returns only (no success criterion)"
    out["verdict"] = verdict
    out["metric_shifts"] = metric_shifts(a, b)
    moved = [(k, v["standardized"]) for k, v in out["metric_shifts"].items() if v["standardized"] is not None]
    out["moved_most"] = max(moved, key=lambda kv: abs(kv[1]))[0] if moved else None
    return out


def metric_shifts(a: list[Episode], b: list[Episode]) -> dict:
    out = {}
    keys = sorted({k for e in a for k in e.metrics} & {k for e in b for k in e.metrics})
    for key in keys:
        xa = np.array([e.metrics[key] for e in a if key in e.metrics])
        xb = np.array([e.metrics[key] for e in b if key in e.metrics])
        diff = float(xb.mean() - xa.mean())
        pooled = math.sqrt((xa.var(ddof=1) + xb.var(ddof=1)) / 2) if len(xa) > 1 and len(xb) > 1 else 0.0
        std = diff / pooled if pooled > 0 else (None if diff == 0 else math.copysign(math.inf, diff))
        out[key] = {
            "a": float(xa.mean()),
            "b": float(xb.mean()),
            "difference": diff,
            "relative": diff / abs(float(xa.mean())) if xa.mean() else None,
            "standardized": None if std is None or not math.isfinite(std) else float(std),
        }
    return out


def parse_randomize(text: str | None) -> tuple[str, list[float]] | None:
    """`KEY=V1,V2,...` (levels of one quantity) -> (key, levels)."""
    if text is None:
        return None
    key, sep, values = text.partition("=")
    if not sep or key not in RANDOMIZE:
        raise BadInput(f"--randomize {text}: give KEY=LEVEL,LEVEL,... with KEY one of {', '.join(RANDOMIZE)}")
    try:
        levels = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"--randomize {text}: levels must be numbers") from None
    if not levels or len(levels) > 20 or any(not math.isfinite(v) or v < 0 for v in levels):
        raise BadInput(f"--randomize {text}: give 1 to 20 levels, each a finite number >= 0")
    return key, levels


def _level_id(domain_id: str, key: str, level: float) -> str:
    if not (domain_id.startswith("mujoco:") or domain_id.startswith("mujoco/a1-")):
        raise BadInput(
            f"--randomize {key}: {domain_id} is not a MuJoCo domain; only latency_ms applies to every domain"
        )
    return f"{domain_id},{key}={level:g}"


def robustness(domain_id, policy, seeds, workers, key: str, levels: list[float]) -> list[dict]:
    rows = []
    for level in levels:
        if key == "latency_ms":
            eps = run_episodes(domain_id, policy, seeds, workers, LatencyModel.constant(level, "--randomize"))
        else:
            eps = run_episodes(_level_id(domain_id, key, level), policy, seeds, workers)
        wins = sum(e.success for e in eps)
        rows.append(
            {
                "level": level,
                "success_rate": wins / len(eps),
                "success_ci95": list(statistics.wilson(wins, len(eps))),
                "falls": int(sum(e.fall for e in eps)),
                "return_mean": float(np.mean([e.ret for e in eps])),
            }
        )
    return rows


def sim2sim(
    model: str | Path,
    domain_a: str | None = None,
    domain_b: str | None = None,
    config: Sim2simConfig | None = None,
    *,
    opener: Callable[..., Session] = Session.open,
    **options,
) -> Report:
    """`model` in `domain_a` and in `domain_b`, as `config` says or as `options` (Sim2simConfig's fields:
    episodes, seed, workers, randomize) say."""
    given = {"domain": domain_a, "to": domain_b} if config is None else {}
    cfg = Sim2simConfig.of(config, options, **given).check()
    episodes, seed, workers, randomize = cfg.episodes, cfg.seed, cfg.workers, cfg.randomize
    da, db = base.make(cfg.domain), base.make(cfg.to)
    policy = PolicySpec(str(model), opener=opener)
    with check_fit(da, policy, "policy") as session:
        model_info = describe_model(model, session)
    check_fit(db, policy, "policy").close()
    workers = workers or min(os.cpu_count() or 1, episodes)
    seeds = [seed + k for k in range(episodes)]
    t0 = time.perf_counter()
    eps_a = run_episodes(da.id, policy, seeds, workers)
    eps_b = run_episodes(db.id, policy, seeds, workers)
    report = Report.new("sim2sim", host_summary())
    verdict = compare(eps_a, eps_b, da.equivalence_margin)
    results = {
        "domains": {
            side: {"id": d.id, "control_hz": d.control_hz, "success_rule": d.success_rule, "episode_s": d.episode_s}
            for side, d in (("a", da), ("b", db))
        },
        "episodes": episodes,
        "seeds": [seeds[0], seeds[-1]],
        "workers": workers,
        "a": _summary(eps_a),
        "b": _summary(eps_b),
        "transfer": verdict,
        "per_episode": {
            "seed": seeds,
            "a_return": [e.ret for e in eps_a],
            "b_return": [e.ret for e in eps_b],
            "a_success": [e.success for e in eps_a],
            "b_success": [e.success for e in eps_b],
        },
        "failures": [
            {"seed": e.seed, "domain": side, "reason": e.failure_reason}
            for side, eps in (("a", eps_a), ("b", eps_b))
            for e in eps
            if not e.success and e.failure_reason
        ][:50],
    }
    if randomize:
        key, levels = randomize
        results["robustness"] = {
            "quantity": key,
            "what": RANDOMIZE[key],
            "domain": db.id,
            "levels": robustness(db.id, policy, seeds, workers, key, levels),
        }
    results["wall_s"] = time.perf_counter() - t0
    sa = results["a"].get("success_rate")
    if sa is not None and sa < 0.5:
        report.warn(f"the policy succeeds in {sa:.0%} of {da.id}'s episodes: it does not solve the source domain")
    report.model = model_info
    report.config = cfg.replace(domain=da.id, to=db.id, workers=workers).to_dict()
    report.results = results
    return report


def _summary(eps: list[Episode]) -> dict:
    criterion = all(e.success_reported for e in eps)
    return statistics.policy_summary(
        [e.ret for e in eps], [e.success for e in eps] if criterion else None, [e.fall for e in eps],
        [e.metrics for e in eps],
    )  # fmt: skip
