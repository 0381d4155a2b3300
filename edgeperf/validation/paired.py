"""`edgeperf validate`: the deployed artifact against the original policy in the same simulated worlds, and a
verdict on whether the deployment kept the task performance."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeperf.config.validate import ValidateConfig, check_paired
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.results.report import PERCENTILES, ModelInfo, Report, pct_key, sha256_file
from edgeperf.runtime import obsdict
from edgeperf.runtime.session import Session
from edgeperf.validation import chunks, statistics
from edgeperf.validation.chunks import ChunkExecution
from edgeperf.validation.latency import LatencyModel
from edgeperf.validation.rollout import PolicySpec, run_pairs

# The task "starts to fail" at the first latency whose success rate falls below this share of the rate at 0 ms.
FAIL_SHARE = 0.9


def describe_model(model, session: Session) -> ModelInfo:
    """The report's model block for a policy file (or source) and the session opened on it."""
    return ModelInfo(
        path=str(model),
        sha256=sha256_file(model) if Path(model).is_file() else None,
        format=session.backend,
        inputs=[s.to_dict() for s in session.io.inputs],
        outputs=[s.to_dict() for s in session.io.outputs],
    )


def check_fit(domain: base.Domain, spec: PolicySpec, role: str, chunking: ChunkExecution | None = None) -> Session:
    """Open a policy and check its observation and action sizes against the domain's (both sizes said)."""
    session = spec.open()
    try:
        check_fit_session(domain, session, spec.source, role, chunking)
    except BaseException:
        session.close()
        raise
    return session


def check_fit_session(
    domain: base.Domain, session: Session, name: str, role: str, chunking: ChunkExecution | None = None
) -> int | None:
    """Returns the chunk horizon H of a policy that returns action chunks, else None."""
    env = domain.env(0)
    try:
        obs_shape, act_shape = tuple(env.observation_space.shape or ()), tuple(env.action_space.shape)
        obs, _ = env.reset(seed=0)
        feed = obsdict.mask_feeder(env, [s.name for s in session.io.inputs], f"the {role} policy {name}")
        obs = feed(obs) if feed is not None else obs
    finally:
        env.close()
    if isinstance(obs, dict) or len(session.io.inputs) > 1:
        _check_inputs(domain, session, name, role, obs)
        obs_shape = tuple(session.io.inputs[0].shape[1:])  # checked per input above
    want = tuple(session.io.inputs[0].shape[1:])
    if any(isinstance(w, int) and w != o for w, o in zip(want, obs_shape, strict=False)) or len(want) != len(obs_shape):
        terms = f" ({', '.join(f'{t} {n}' for t, n in domain.observation_terms)})" if domain.observation_terms else ""
        raise BadInput(
            f"the {role} policy {name} takes observations of shape {list(want)} but {domain.id} gives "
            f"{list(obs_shape)}{terms}; was it trained/exported for another domain?"
        )
    got = tuple(np.shape(session.run(obs)))
    session.reset()
    horizon = chunks.horizon_of(got, act_shape)
    if horizon is not None and chunking is None:
        raise BadInput(
            f"the {role} policy {name} returns chunks of {horizon} actions ({list(got)}); say how to execute them: "
            "--chunk-exec open-loop|ensemble [--chunk-steps K]"
        )
    if horizon is None and got != act_shape:
        raise BadInput(
            f"the {role} policy {name} returns actions of shape {list(got)} but {domain.id} takes {list(act_shape)}"
        )
    if chunking is not None:
        if horizon is None:
            raise BadInput(
                f"--chunk-exec applies to policies that return action chunks; the {role} policy {name} returns "
                f"one action of shape {list(got)}"
            )
        chunking.check(horizon, f"the {role} policy {name}")
    return horizon


def _check_inputs(domain: base.Domain, session: Session, name: str, role: str, obs) -> None:
    """A policy of several named inputs against a Dict-observation domain: the Session's own checks on the
    domain's first observation (a missing key named, an image's layout said both ways, float pixels refused)."""
    try:
        session.prepare(obs)
    except BadInput as exc:
        raise BadInput(f"the {role} policy {name} cannot take {domain.id}'s observation: {exc}") from None


# validate's numeric options (the paired commands', and the pipeline's before its export): edgeperf.config.
check_options = check_paired


def validate(
    model: str | Path,
    domain_id: str | None = None,
    config: ValidateConfig | None = None,
    *,
    opener: Callable[..., Session] = Session.open,
    reference_opener: Callable[..., Session] | None = None,
    **options,
) -> Report:
    """Paired validation of `model` against its reference in `domain_id`, as `config` says or as `options`
    (ValidateConfig's fields: reference, episodes, seed, latency (a LatencyModel), sweep_ms, workers, margin,
    chunking) say. `opener` opens both (a module-level function: it travels to the worker processes);
    edgeperf.pipeline.validate passes one that reads every policy source export reads."""
    cfg = ValidateConfig.of(config, options, **({"domain": domain_id} if config is None else {})).check()
    if config is not None and domain_id not in (None, cfg.domain):
        raise TypeError(f"domain {domain_id!r} is not the config's ({cfg.domain!r})")
    episodes, seed, latency, sweep_ms, chunking = cfg.episodes, cfg.seed, cfg.latency, cfg.sweep_ms, cfg.chunking
    sweep = _sweep_models(sweep_ms) if sweep_ms else None
    domain = base.make(cfg.domain)
    reference = cfg.reference or domain.reference
    if not reference:
        raise BadInput(f"{domain.id} has no bundled reference policy; pass --reference SOURCE (the original policy)")
    deployed_spec = PolicySpec(str(model), opener=opener)
    reference_spec = PolicySpec(reference, opener=reference_opener or opener)
    with check_fit(domain, deployed_spec, "deployed", chunking) as dep_session:
        model_info = describe_model(model, dep_session)
    check_fit(domain, reference_spec, "reference", chunking).close()
    workers = cfg.workers or min(os.cpu_count() or 1, episodes)
    seeds = [seed + k for k in range(episodes)]

    t0 = time.perf_counter()
    pairs = run_pairs(
        domain.id, deployed_spec, reference_spec, seeds, latency=latency, workers=workers, chunking=chunking
    )
    wall = time.perf_counter() - t0
    ref = [p.reference for p in pairs]
    dep = [p.deployed for p in pairs]
    report = Report.new("validate", host_summary())
    _check_reference(reference, ref)
    summary, verdict, margin = compare(domain, ref, dep, report, cfg.margin)
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
        # each seed's return, so that the pairs can be drawn and compared later, not only their summary
        "per_episode": per_episode(seeds, {"reference": ref, "deployed": dep}),
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
        **({"chunks": chunking.to_dict()} if chunking else {}),
        "failures": [
            {"seed": e.seed, "policy": name, "reason": e.failure_reason}
            for name, eps in (("reference", ref), ("deployed", dep))
            for e in eps
            if not e.success and e.failure_reason
        ][:50],
    }
    if any(e.env_timings for e in dep):
        results["decision_latency"] = decision_latency(domain, dep, workers)
    nonfinite = [e.seed for e in dep if e.nonfinite]
    if nonfinite:
        report.warn(
            f"the deployed policy produced non-finite actions in {len(nonfinite)} episodes "
            f"(seeds {nonfinite[:10]}); they count as failures"
        )
    if sweep:
        has_criterion = "success" not in report.unmeasured
        results["latency_sweep"] = _sweep(domain, deployed_spec, seeds, sweep, workers, has_criterion, chunking)
    report.model = model_info
    report.config = cfg.replace(domain=domain.id, reference=reference, workers=workers, margin=margin).to_dict()
    report.results = results
    return report


def decision_latency(domain: base.Domain, episodes: list, workers: int) -> dict:
    """Per step of the deployed episodes, the decision as a user of the agent sees it: the env's read of the world
    and its encoding (from an env that times them, e.g. web pages) plus the policy's inference; the action's
    execution apart. Milliseconds, p50..p99.9, set against a person's reaction time where the domain has one."""

    parts: dict[str, list] = {"dom_read": [], "encode": [], "inference": [], "execute": []}
    for e in episodes:
        t = e.env_timings
        n = min(len(e.inference_us), len(t.get("dom_read_us", [])), len(t.get("encode_us", [])))
        parts["dom_read"] += t["dom_read_us"][:n]
        parts["encode"] += t["encode_us"][:n]
        parts["inference"] += e.inference_us[:n]
        parts["execute"] += t.get("execute_us", [])[:n]
    arr = {k: np.asarray(v, np.float64) / 1e3 for k, v in parts.items()}
    arr["decision"] = arr["dom_read"] + arr["encode"] + arr["inference"]

    def dist(x):
        if not len(x):
            return None
        return {**{pct_key(p): float(np.percentile(x, p)) for p in PERCENTILES}, "mean": float(x.mean()),
                "max": float(x.max())}  # fmt: skip

    out = {
        "unit": "ms",
        "clock": "perf_counter_ns",
        "steps": len(arr["decision"]),
        "workers": workers,
        "decision": dist(arr["decision"]),
        "parts": {k: dist(arr[k]) for k in ("dom_read", "encode", "inference")},
        "execute": dist(arr["execute"]),
        "definition": "decision = page/state read + encoding + inference, per step; the action's execution apart; "
        f"measured on this machine with {workers} worker(s) running episodes side by side",
    }
    human = domain.human_reaction_ms
    if human and out["decision"]:
        p50, p99 = out["decision"]["p50"], out["decision"]["p99"]

        def said(v):
            return f"{human / v:.1f}x faster than" if v < human else f"{v / human:.1f}x slower than"

        out["human_reaction"] = {"ms": human, "source": domain.human_reaction_source}
        out["summary"] = (
            f"decision latency p50 {p50:.1f} ms ({said(p50)}) and p99 {p99:.1f} ms ({said(p99)}) a person's "
            f"~{human:g} ms simple visual reaction"
        )
    return out


def compare(domain: base.Domain, ref: list, dep: list, report: Report, margin: float | None):
    """Per-policy summaries and the paired verdict of two lists of episodes on the same seeds (validate's, and
    hil's HIL-against-SIL); warnings and unmeasured figures go into `report`. Returns (summary, verdict, margin)."""
    has_criterion = _success_criterion(domain, ref + dep, report)
    summary = {
        name: statistics.policy_summary(
            [e.ret for e in eps],
            [e.success for e in eps] if has_criterion else None,
            [e.fall for e in eps],
            [e.metrics for e in eps],
        )
        for name, eps in (("reference", ref), ("deployed", dep))
    }
    margin_note = None
    if margin is None:
        margin = domain.equivalence_margin
        if not math.isfinite(margin):
            margin, margin_note = derived_margin(summary["reference"]["return"])
    diffs = np.array([d.ret - r.ret for d, r in zip(dep, ref, strict=True)])
    verdict = statistics.equivalence(
        diffs,
        margin,
        np.array([e.success for e in ref]) if has_criterion else None,
        np.array([e.success for e in dep]) if has_criterion else None,
        nonfinite_deployed=sum(e.nonfinite or not math.isfinite(e.ret) for e in dep),
    )
    if margin_note:
        verdict["margin_source"] = margin_note
    if verdict["verdict"] == "inconclusive":
        need = verdict.get("episodes_needed")
        report.warn(
            "the verdict is inconclusive: "
            + (f"run about {need} episodes (--episodes)" if need else "the difference is as large as the margin")
        )
    return summary, verdict, margin


def derived_margin(ret: dict) -> tuple[float, str]:
    """The equivalence margin of a domain edgeperf has no task knowledge for, from the reference's own returns:
    half their episode-to-episode standard deviation (a difference under half the spread the original shows by
    itself from seed to seed is one no evaluation of it could tell from noise: Cohen's 'medium' effect), and at
    least 5% of their mean (so an original whose returns barely vary still gets a margin of its scale)."""
    sd, mean = float(ret.get("std") or 0.0), abs(float(ret["mean"]))
    half_sd, five_pct = 0.5 * sd, 0.05 * mean
    if half_sd >= five_pct and half_sd > 0:
        return half_sd, f"half the reference's return standard deviation ({sd:.4g}): no margin is defined here"
    return (five_pct or 1e-6), f"5% of the reference's mean return ({mean:.4g}): no margin is defined here"


def per_episode(seeds, policies: dict[str, list]) -> dict:
    """{'seeds': [...], name: [return of each seed], name_success: [...]} (JSON null for a non-finite return)."""
    out: dict = {"seeds": list(seeds)}
    for name, eps in policies.items():
        out[name] = [float(e.ret) if math.isfinite(e.ret) else None for e in eps]
        out[f"{name}_success"] = [bool(e.success) for e in eps]
    return out


def _sweep_models(sweep_ms) -> list[LatencyModel]:
    """The sweep's constant latencies, 0 ms first; each checked here, before any episode runs."""
    for ms in sweep_ms:
        LatencyModel.constant(ms, "--latency-sweep")
    return [LatencyModel.constant(ms) for ms in sorted({0.0, *map(float, sweep_ms)})]


def _check_reference(reference: str, episodes) -> None:
    """A reference that acts or scores non-finitely is broken: a verdict would blame the deployed policy."""
    broken = [e.seed for e in episodes if e.nonfinite or not math.isfinite(e.ret)]
    if broken:
        raise BadInput(
            f"the reference policy {reference} is broken: non-finite actions or returns in {len(broken)} of "
            f"{len(episodes)} episodes (seeds {broken[:5]}); no verdict on the deployed policy can rest on it: "
            "pass a reference that acts finitely in every episode (--reference)"
        )


def _success_criterion(domain, episodes, report: Report) -> bool:
    """Gymnasium's env checker in spirit: an env that never reports success has no success criterion, and its
    episodes are not all failures ("0% vs 0%" would look equivalent on a task nobody judged)."""
    if not any(e.success_reported for e in episodes):
        report.unmeasured["success"] = (
            f"{domain.id}'s env never put 'success' in info on a final step: the domain has no success criterion"
        )
        report.warn(
            f"{domain.id} has no success criterion (its env never reports info['success']): the verdict rests on "
            "returns only"
        )
        return False
    silent = sum(not e.success_reported and not e.nonfinite for e in episodes)
    if silent:
        report.warn(f"{silent} episodes ended without info['success'] on their final step; counted as failures")
    return True


def _sweep(domain, deployed: PolicySpec, seeds, models: list[LatencyModel], workers: int, has_criterion, chunking=None):
    """Success rate of the deployed policy against a constant latency, and where the task starts to fail
    (returns only, and no failure point, for a domain without a success criterion)."""
    points = []
    for model in models:
        pairs = run_pairs(domain.id, deployed, None, seeds, latency=model, workers=workers, chunking=chunking)
        point = {
            "latency_ms": model.quantiles[0][1] * 1e3,
            "mean_return": float(np.mean([p.deployed.ret for p in pairs])),
            "falls": sum(p.deployed.fall for p in pairs),
        }
        if has_criterion:
            wins = sum(p.deployed.success for p in pairs)
            point["success_rate"] = wins / len(pairs)
            point["success_ci95"] = list(statistics.wilson(wins, len(pairs)))
        points.append(point)
    if not has_criterion:
        return {"points": points, "fails_from_ms": None, "rule": "none: the domain has no success criterion"}
    base_rate = points[0]["success_rate"]
    failing = next((p["latency_ms"] for p in points if p["success_rate"] < FAIL_SHARE * base_rate), None)
    return {
        "points": points,
        "fails_from_ms": failing,
        "rule": f"first latency whose success rate is below {FAIL_SHARE:.0%} of the rate at 0 ms",
    }
