"""Generalization (A2Perf): one policy evaluated on several tasks it may not have been trained on.

Per task: the policy's return (mean, 95% t interval), success rate with its Wilson interval, and the task's own
reference policy on the same seeds (paired: episode k of both meets the same world), so the success rate reads
against what a policy made for that task achieves. The aggregate A2Perf reports is the sum over tasks of the mean
return; beside it the mean success rate over the tasks that judge success.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from edgeperf.analysis import datacost
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.exporter.sources import open_policy
from edgeperf.results.report import Report
from edgeperf.validation import statistics
from edgeperf.validation.paired import check_fit, check_options, describe_model
from edgeperf.validation.rollout import PolicySpec, run_pairs


def parse_domains(text: str) -> list[str]:
    ids = [d.strip() for d in str(text).split(",") if d.strip()]
    if not ids:
        raise BadInput("--domains: give one or more domain ids, e.g. quadruped/trot,quadruped/pace")
    if len(set(ids)) != len(ids):
        raise BadInput(f"--domains {text}: a domain is given twice")
    return ids


def parse_references(items: list[str] | None) -> dict[str, str]:
    out = {}
    for item in items or []:
        domain, sep, source = item.partition("=")
        if not sep or not domain or not source:
            raise BadInput(f"--reference {item}: give DOMAIN=SOURCE, e.g. quadruped/pace=pace.onnx")
        out[domain] = source
    return out


def generalize(
    model: str | Path,
    domains: list[str],
    *,
    episodes: int = 10,
    seed: int = 0,
    workers: int | None = None,
    references: dict[str, str] | None = None,
    cost: dict | None = None,
) -> Report:
    """Evaluate `model` (any policy `export` reads) on every domain; `references` overrides a domain's bundled
    reference (domain id -> policy source); `cost`: datacost.cost's arguments."""
    check_options(episodes, seed, workers, None)
    references = dict(references or {})
    unknown = set(references) - set(domains)
    if unknown:
        raise BadInput(f"--reference for {', '.join(sorted(unknown))}, which is not in --domains")
    cost_block, cost_missing = datacost.cost(**(cost or {}))
    spec = PolicySpec(str(model), opener=open_policy)
    made = [base.make(d) for d in domains]  # every id checked before any episode runs
    plans = []
    for domain, given in zip(made, domains, strict=True):
        with check_fit(domain, spec, "evaluated") as session:
            info = describe_model(model, session)
        ref = references.get(given, domain.reference)
        ref_spec = PolicySpec(ref, opener=open_policy) if ref else None
        if ref_spec is not None:
            check_fit(domain, ref_spec, "reference").close()
        plans.append((domain, ref_spec))
    seeds = [seed + k for k in range(episodes)]
    workers = workers or min(os.cpu_count() or 1, episodes)
    report = Report.new("generalize", host_summary(), model=info)
    tasks, t0 = [], time.perf_counter()
    for domain, ref_spec in plans:
        pairs = run_pairs(domain.id, spec, ref_spec, seeds, workers=workers)
        tasks.append(_task(domain, ref_spec, pairs, report))
    wall = time.perf_counter() - t0
    means = [t["policy"]["return"]["mean"] for t in tasks]
    rates = [t["policy"]["success_rate"] for t in tasks if "success_rate" in t["policy"]]
    aggregate = {
        "sum_of_mean_returns": float(np.sum(means)),
        "sum_of_mean_returns_note": "A2Perf's generalization figure: the sum over tasks of the mean return",
        "tasks": len(tasks),
    }
    if rates:
        aggregate["mean_success_rate"] = float(np.mean(rates))
        aggregate["tasks_judging_success"] = len(rates)
    report.config = {
        "domains": domains,
        "episodes": episodes,
        "seeds": [seeds[0], seeds[-1]],
        "workers": workers,
        "references": {domain.id: ref_spec.source if ref_spec else None for domain, ref_spec in plans},
        "pairing": "episode k of the policy and of the task's reference use seed + k (the same world)",
    }
    report.results = {"tasks": tasks, "aggregate": aggregate, "wall_s": wall}
    if cost_block:
        report.results["cost"] = cost_block
    report.unmeasured.update(cost_missing)
    return report


def _task(domain: base.Domain, ref_spec: PolicySpec | None, pairs, report: Report) -> dict:
    dep = [p.deployed for p in pairs]
    judged = all(e.success_reported for e in dep)
    summary = statistics.policy_summary(
        [e.ret for e in dep],
        [e.success for e in dep] if judged else None,
        [e.fall for e in dep],
        [e.metrics for e in dep],
    )
    out = {
        "domain": {"id": domain.id, "success_rule": domain.success_rule, "control_hz": domain.control_hz},
        "policy": summary,
    }
    if not judged:
        report.unmeasured[f"{domain.id}.success_rate"] = f"{domain.id} reports no success criterion"
    if ref_spec is None:
        report.unmeasured[f"{domain.id}.reference"] = f"{domain.id} has no bundled reference; pass --reference"
        return out
    ref = [p.reference for p in pairs]
    ref_summary = statistics.policy_summary(
        [e.ret for e in ref],
        [e.success for e in ref] if judged else None,
        [e.fall for e in ref],
        [e.metrics for e in ref],
    )
    out["reference"] = {"source": ref_spec.source, **ref_summary}
    diff = np.array([d.ret - r.ret for d, r in zip(dep, ref, strict=True)])
    versus = {"mean_return_difference": float(diff.mean()), "ci95": list(statistics.mean_ci(diff, 0.95))}
    if judged:
        s_dep, s_ref = np.array([e.success for e in dep]), np.array([e.success for e in ref])
        versus["success_rate_difference"] = float(s_dep.mean() - s_ref.mean())
        versus["mcnemar_p"] = statistics.mcnemar_p(int(np.sum(s_ref & ~s_dep)), int(np.sum(s_dep & ~s_ref)))
        if s_ref.any():
            versus["success_rate_relative"] = float(s_dep.mean() / s_ref.mean())
        else:
            report.unmeasured[f"{domain.id}.success_rate_relative"] = "the reference never succeeded on these seeds"
    out["versus_reference"] = versus
    return out
