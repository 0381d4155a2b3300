"""`edgeperf validate`: the deployed artifact against the original policy in the same simulated worlds, and a
verdict on whether the deployment kept the task performance."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeperf.devices.detect import host_summary
from edgeperf.domains import base, statistics
from edgeperf.domains.latency import LatencyModel
from edgeperf.domains.rollout import PolicySpec, run_pairs
from edgeperf.errors import BadInput
from edgeperf.results.report import ModelInfo, Report, sha256_file
from edgeperf.runtime.session import Session

# The task "starts to fail" at the first latency whose success rate falls below this share of the rate at 0 ms.
FAIL_SHARE = 0.9


def check_fit(domain: base.Domain, spec: PolicySpec, role: str) -> Session:
    """Open a policy and check its observation and action sizes against the domain's (both sizes said)."""
    session = spec.open()
    env = domain.env(0)
    try:
        obs_shape, act_shape = tuple(env.observation_space.shape), tuple(env.action_space.shape)
        obs, _ = env.reset(seed=0)
    finally:
        env.close()
    want = tuple(session.io.inputs[0].shape[1:])
    if any(isinstance(w, int) and w != o for w, o in zip(want, obs_shape, strict=False)) or len(want) != len(obs_shape):
        raise BadInput(
            f"the {role} policy {spec.source} takes observations of shape {list(want)} but {domain.id} gives "
            f"{list(obs_shape)}; was it trained/exported for another domain?"
        )
    got = tuple(np.shape(session.run(obs)))
    if got != act_shape:
        raise BadInput(
            f"the {role} policy {spec.source} returns actions of shape {list(got)} but {domain.id} takes "
            f"{list(act_shape)}"
        )
    return session


def validate(
    model: str | Path,
    domain_id: str,
    *,
    reference: str | None = None,
    episodes: int = 20,
    seed: int = 0,
    latency: LatencyModel | None = None,
    sweep_ms: list[float] | None = None,
    workers: int | None = None,
    margin: float | None = None,
    opener: Callable[..., Session] = Session.open,
) -> Report:
    """Paired validation of `model` against `reference` (default: the domain's bundled policy). `opener` opens
    both (a module-level function: it travels to the worker processes); edgeperf.pipeline.validate passes one
    that reads every policy source export reads."""
    if episodes < 2:
        raise BadInput(f"--episodes must be at least 2 for paired statistics, got {episodes}")
    if margin is not None and not margin > 0:
        raise BadInput(f"--margin must be a positive number of return units, got {margin}")
    domain = base.make(domain_id)
    reference = reference or domain.reference
    if not reference:
        raise BadInput(f"{domain.id} has no bundled reference policy; pass --reference SOURCE (the original policy)")
    deployed_spec, reference_spec = PolicySpec(str(model), opener=opener), PolicySpec(reference, opener=opener)
    dep_session = check_fit(domain, deployed_spec, "deployed")
    check_fit(domain, reference_spec, "reference").close()
    workers = workers or min(os.cpu_count() or 1, episodes)
    seeds = [seed + k for k in range(episodes)]

    t0 = time.perf_counter()
    pairs = run_pairs(domain.id, deployed_spec, reference_spec, seeds, latency=latency, workers=workers)
    wall = time.perf_counter() - t0
    ref = [p.reference for p in pairs]
    dep = [p.deployed for p in pairs]
    summary = {
        name: statistics.policy_summary(
            [e.ret for e in eps], [e.success for e in eps], [e.fall for e in eps], [e.metrics for e in eps]
        )
        for name, eps in (("reference", ref), ("deployed", dep))
    }
    report = Report.new("validate", host_summary())
    margin_note = None
    if margin is None:
        margin = domain.equivalence_margin
        if not math.isfinite(margin):
            margin = 0.05 * abs(summary["reference"]["return"]["mean"]) or 1e-6
            margin_note = "5% of the reference's mean return (no margin is defined for this domain)"
    diffs = np.array([d.ret - r.ret for d, r in zip(dep, ref, strict=True)])
    verdict = statistics.equivalence(
        diffs,
        margin,
        np.array([e.success for e in ref]),
        np.array([e.success for e in dep]),
        nonfinite_deployed=sum("non-finite" in e.failure_reason for e in dep),
    )
    if margin_note:
        verdict["margin_source"] = margin_note
    all_diffs = np.concatenate([p.action_diff for p in pairs if p.action_diff is not None and len(p.action_diff)])
    finite_diffs = all_diffs[np.isfinite(all_diffs)]
    separations = [p.separation_step for p in pairs]
    apart = [s for s in separations if s is not None]
    results = {
        "domain": {
            "id": domain.id,
            "control_hz": domain.control_hz,
            "success_rule": domain.success_rule,
            "episode_s": domain.episode_s,
        },
        "episodes": episodes,
        "seeds": [seeds[0], seeds[-1]],
        "workers": workers,
        "wall_s": wall,
        **summary,
        "paired": verdict,
        "action_divergence": {
            "along": "the reference's own trajectories (both policies given the same observations)",
            # nan-aware: a step where the deployed policy returned NaN is counted apart, not allowed to blank
            # the whole distribution
            "p50": float(np.nanpercentile(finite_diffs, 50)) if len(finite_diffs) else None,
            "p99": float(np.nanpercentile(finite_diffs, 99)) if len(finite_diffs) else None,
            "max": float(finite_diffs.max()) if len(finite_diffs) else None,
            "steps": len(all_diffs),
            "nonfinite_steps": int(len(all_diffs) - len(finite_diffs)),
            "trajectories_separated": len(apart),
            "separation_tolerance": 1e-3,
            "first_separation_step_median": float(np.median(apart)) if apart else None,
        },
        "latency": latency.to_dict() if latency else None,
        "failures": [
            {"seed": e.seed, "policy": name, "reason": e.failure_reason}
            for name, eps in (("reference", ref), ("deployed", dep))
            for e in eps
            if not e.success and e.failure_reason
        ][:50],
    }
    for name, eps in (("reference", ref), ("deployed", dep)):
        nonfinite = [e.seed for e in eps if "non-finite" in e.failure_reason]
        if nonfinite:
            report.warn(
                f"the {name} policy produced non-finite actions in {len(nonfinite)} episodes "
                f"(seeds {nonfinite[:10]}); they count as failures"
            )
    if sweep_ms:
        results["latency_sweep"] = _sweep(domain, deployed_spec, seeds, sweep_ms, workers)
    if verdict["verdict"] == "inconclusive":
        need = verdict.get("episodes_needed")
        report.warn(
            "the verdict is inconclusive: "
            + (f"run about {need} episodes (--episodes)" if need else "the difference is as large as the margin")
        )
    report.model = ModelInfo(
        path=str(model),
        sha256=sha256_file(model) if Path(model).is_file() else None,
        format=dep_session.backend,
        inputs=[s.to_dict() for s in dep_session.io.inputs],
        outputs=[s.to_dict() for s in dep_session.io.outputs],
    )
    dep_session.close()
    report.config = {
        "domain": domain.id,
        "reference": reference,
        "episodes": episodes,
        "seed": seed,
        "workers": workers,
        "margin": margin,
        "latency": latency.source if latency else None,
        "latency_sweep_ms": sweep_ms,
    }
    report.results = results
    return report


def _sweep(domain, deployed: PolicySpec, seeds, sweep_ms: list[float], workers: int) -> dict:
    """Success rate of the deployed policy against a constant latency, and where the task starts to fail."""
    points = []
    for ms in sorted({0.0, *map(float, sweep_ms)}):
        pairs = run_pairs(domain.id, deployed, None, seeds, latency=LatencyModel.constant(ms), workers=workers)
        wins = sum(p.deployed.success for p in pairs)
        points.append(
            {
                "latency_ms": ms,
                "success_rate": wins / len(pairs),
                "success_ci95": list(statistics.wilson(wins, len(pairs))),
                "mean_return": float(np.mean([p.deployed.ret for p in pairs])),
                "falls": sum(p.deployed.fall for p in pairs),
            }
        )
    base_rate = points[0]["success_rate"]
    failing = next((p["latency_ms"] for p in points if p["success_rate"] < FAIL_SHARE * base_rate), None)
    return {
        "points": points,
        "fails_from_ms": failing,
        "rule": f"first latency whose success rate is below {FAIL_SHARE:.0%} of the rate at 0 ms",
    }
