"""The decision: every candidate's figures from its step reports, the Pareto front of task against energy per
action and p99, the recommendation (the lowest-energy candidate, then the lowest p99, that is equivalent to the
original and meets the budget), the runner-up, and why each other candidate lost.

Budget lines are judged by results/budget.py, the same code `edgeperf check` runs on the budget file the plan
writes: what the plan accepted, CI accepts.
"""

from __future__ import annotations

import math

from edgeperf.plan.candidates import Candidate, Limit, budget_dict
from edgeperf.results import figures
from edgeperf.results.budget import Budget

VERDICT_RANK = {"equivalent": 2, "inconclusive": 1, "different": 0}


def _f(report: dict | None, name: str):
    if not report or "error" in report:
        return None
    return figures.figure(report, name).value


def figures_of(c: Candidate, exported: dict | None, profiled: dict | None, validated: dict | None) -> dict:
    """One candidate's row: what its export, profile and validation measured (absent: None, never 0)."""
    row: dict = {**c.to_dict()}
    par = ((exported or {}).get("results") or {}).get("parity") or {}
    row["parity"] = {k: par.get(k) for k in ("passed", "max_abs_error", "p99_abs_error", "observations")}
    if profiled and "error" not in profiled:
        r = profiled.get("results") or {}
        lat, dl = r.get("latency_us") or {}, r.get("deadline") or {}
        power = r.get("power") or {}
        row.update(
            p50_us=lat.get("p50"),
            p99_us=lat.get("p99"),
            p99_9_us=lat.get("p99_9"),
            jitter_us=lat.get("std"),
            misses=dl.get("misses"),
            periods=dl.get("periods"),
            miss_rate=dl.get("miss_rate"),
            peak_rss_mb=_f(profiled, "peak_rss_mb"),
            mj_per_inference=_f(profiled, "mj_per_inference"),
            energy_estimate=bool(power.get("estimate")) if power else None,
            energy_source=power.get("source") if power else None,
            energy_unmeasured=None if power else (profiled.get("unmeasured") or {}).get("power", "no power measured"),
            profile_run=profiled.get("run_id"),
        )
    if validated and "error" not in validated:
        r = validated.get("results") or {}
        paired = r.get("paired") or {}
        row.update(
            verdict=paired.get("verdict"),
            return_diff=paired.get("mean_return_difference"),
            success=_f(validated, "success"),
            reference_success=_f(validated, "reference_success"),
            episodes=(validated.get("config") or {}).get("episodes"),
            episodes_needed=paired.get("episodes_needed"),
            validate_run=validated.get("run_id"),
        )
    return row


def _budget_failures(budget: Budget, profiled: dict | None, validated: dict | None) -> list[dict]:
    out = []
    for report in (profiled, validated):
        if not report or "error" in report:
            continue
        for res in budget.check(report):
            if not res.passed and res.key != "verdict":  # the verdict is judged on its own, with its episodes
                out.append(res.to_dict())
    return out


def _show(key: str, v) -> str:
    base = key.removesuffix("_min")
    if v is None:
        return "not measured"
    if base.endswith("_us"):
        return f"{v / 1e3:.3g} ms" if v >= 1000 else f"{v:.0f} us"
    if base in ("miss_rate", "success"):
        return f"{100 * v:.3g}%"
    if base == "mj_per_inference":
        return f"{v:.3g} mJ"
    if base == "peak_rss_mb":
        return f"{v:.0f} MiB"
    return f"{v:.4g}"


_NAMES = {"p50_us": "p50", "p99_us": "p99", "p99_9_us": "p99.9", "miss_rate": "deadline misses",
          "mj_per_inference": "energy per inference", "peak_rss_mb": "peak RSS", "success": "success"}  # fmt: skip


def failure_text(f: dict) -> str:
    base = f["key"].removesuffix("_min")
    name = _NAMES.get(base, base)
    if f["value"] is None:
        return f"{name} {f['reason']}"
    return f"{_show(base, f['value'])} {name} ({'over' if f['op'] == '<=' else 'under'} {_show(base, f['limit'])})"


def decide(
    candidates: list[Candidate],
    steps: dict[str, dict],
    limits: list[Limit],
    rate_hz: float,
) -> dict:
    """steps: candidate id -> {"export": report|error|None, "profile": ..., "validate": ...}."""
    budget = Budget.from_dict(budget_dict(limits, rate_hz, allow_estimate=True), "the plan's budget")
    rows = []
    for c in candidates:
        s = steps.get(c.id, {})
        row = figures_of(c, s.get("export"), s.get("profile"), s.get("validate"))
        row["budget_failures"] = _budget_failures(budget, s.get("profile"), s.get("validate"))
        row["reason"], row["eligible"] = _judge(c, s, row)
        rows.append(row)

    eligible = [r for r in rows if r["eligible"]]
    eligible.sort(key=lambda r: (_num(r.get("mj_per_inference")), _num(r.get("p99_us"))))
    chosen = eligible[0] if eligible else None
    runner = eligible[1] if len(eligible) > 1 else None
    for r in rows:
        r["status"] = "dropped"
    for r in eligible:
        r["status"] = "eligible"
        if r is chosen:
            r["status"], r["reason"] = "recommended", _why_chosen(r, eligible)
        elif r is runner:
            r["status"], r["reason"] = "runner-up", "runner-up: " + _behind(r, chosen)
        else:
            r["reason"] = "equivalent and within budget, but " + _behind(r, chosen)
    front = pareto(rows)
    feasible = pareto([r for r in rows if not r["budget_failures"]])
    for r in rows:
        r["on_front"] = r["id"] in front
    out = {
        "candidates": rows,
        "front": front,
        "front_within_budget": feasible,
        "recommendation": chosen["id"] if chosen else None,
        "runner_up": runner["id"] if runner else None,
        "rule": "the lowest energy per inference, then the lowest p99, among the candidates equivalent to the "
        "original (paired, own measured latency in the loop) that meet the budget",
    }
    if chosen is None:
        out["no_recommendation"] = binding(rows)
    return out


def _num(v) -> float:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else math.inf


def _judge(c: Candidate, s: dict, row: dict) -> tuple[str, bool]:
    exported, profiled, validated = s.get("export"), s.get("profile"), s.get("validate")
    if exported is None:
        return "not exported (the plan stopped before its export)", False
    if "error" in exported:
        return f"{c.precision} {c.format}: export failed: {exported['error']}", False
    par = row["parity"]
    if not par.get("passed"):
        tol = ((exported.get("results") or {}).get("parity") or {}).get("tolerance") or {}
        err = par.get("max_abs_error")
        said = f"max error {err:.3g}" if isinstance(err, (int, float)) else "no error figure"
        if tol:
            said += f", tolerance atol {tol.get('atol')} rtol {tol.get('rtol')}"
        return f"{c.label}: parity FAILED ({said}): dropped", False
    if profiled is None:
        return f"{c.label}: parity passed, not profiled (the plan stopped before)", False
    if "error" in profiled:
        return f"{c.label}: parity passed, profile failed: {profiled['error']}", False
    fails = row["budget_failures"]
    if validated is None:
        if fails:
            return f"{c.label}: " + "; ".join(failure_text(f) for f in fails), False
        return f"{c.label}: parity passed, not validated (the plan stopped before)", False
    if "error" in validated:
        return f"{c.label}: parity passed, validation failed: {validated['error']}", False
    verdict = row.get("verdict")
    if verdict != "equivalent":
        n = row.get("episodes")
        diff = row.get("return_diff")
        said = f"{verdict} at {n} episodes" + (f": {diff:+.3g} return" if isinstance(diff, (int, float)) else "")
        if verdict == "inconclusive" and row.get("episodes_needed"):
            said += f" (about {row['episodes_needed']} episodes would decide)"
        return f"{c.label}: parity passed, {said}" + (
            "; " + "; ".join(failure_text(f) for f in fails) if fails else ""
        ), False
    if fails:
        return f"{c.label}: equivalent, but " + "; ".join(failure_text(f) for f in fails), False
    return "", True


def _energy(r: dict) -> str:
    v = r.get("mj_per_inference")
    if v is None:
        return "energy not measured"
    return f"{v:.3g} mJ per inference" + (" (estimate)" if r.get("energy_estimate") else "")


def _why_chosen(r: dict, eligible: list[dict]) -> str:
    n = len(eligible)
    diff = r.get("return_diff")
    diff = f"{diff:+.3g}" if isinstance(diff, (int, float)) else "no measured"  # a NaN is written as null
    return (
        f"{r['label']}: equivalent to the original ({diff} return at {r.get('episodes')} "
        f"episodes), within budget, and the lowest energy of the {n} that are: {_energy(r)}, p99 "
        f"{_show('p99_us', r.get('p99_us'))}"
    )


def _behind(r: dict, chosen: dict) -> str:
    e, e0 = r.get("mj_per_inference"), chosen.get("mj_per_inference")
    if isinstance(e, (int, float)) and isinstance(e0, (int, float)) and e != e0:
        return f"{_energy(r)}, {e - e0:+.3g} mJ against the recommendation (p99 {_show('p99_us', r.get('p99_us'))})"
    return f"p99 {_show('p99_us', r.get('p99_us'))} against {_show('p99_us', chosen.get('p99_us'))} at equal energy"


def task_score(r: dict) -> tuple:
    s = r.get("success")
    return (VERDICT_RANK.get(r.get("verdict"), -1), s if isinstance(s, (int, float)) else -1.0)


def pareto(rows: list[dict]) -> list[str]:
    """The validated candidates no other beats or equals on task (verdict, then success), energy per inference
    and p99 while beating it on one of them."""
    pts = [r for r in rows if r.get("verdict") is not None and r.get("p99_us") is not None]

    def key(r):
        return task_score(r), -_num(r.get("mj_per_inference")), -_num(r.get("p99_us"))

    def dominates(a, b) -> bool:
        ka, kb = key(a), key(b)
        return all(x >= y for x, y in zip(ka, kb, strict=True)) and ka != kb

    return [r["id"] for r in pts if not any(dominates(o, r) for o in pts if o is not r)]


def binding(rows: list[dict]) -> dict:
    """With no recommendation: which constraint binds and by how much, on the candidates that are equivalent (or,
    if none is, on the ones profiled)."""
    equivalent = [r for r in rows if r.get("verdict") == "equivalent"]
    if not equivalent:
        profiled = [r for r in rows if r.get("p99_us") is not None]
        if not profiled:
            return {"constraint": "parity", "message": "no candidate passed parity and was profiled"}
        best = max(rows, key=task_score)
        return {
            "constraint": "equivalence",
            "candidate": best["id"],
            "message": f"no candidate is equivalent to the original; the closest, {best['reason']}",
        }
    # Per budget line: the best value any equivalent candidate reached, and its distance to the limit.
    worst: dict = {}
    for r in equivalent:
        for f in r["budget_failures"]:
            key = f["key"]
            if f["value"] is None:
                continue
            excess = (f["value"] - f["limit"]) if f["op"] == "<=" else (f["limit"] - f["value"])
            rel = excess / f["limit"] if f["limit"] else math.inf
            cur = worst.get(key)
            if cur is None or rel < cur["relative"]:
                worst[key] = {**f, "candidate": r["id"], "label": r["label"], "excess": excess, "relative": rel}
    # The line that binds: one that every equivalent candidate fails, by the largest margin the best of them has.
    failing_all = [k for k in worst if all(any(f["key"] == k for f in r["budget_failures"]) for r in equivalent)]
    pick = max((worst[k] for k in failing_all or worst), key=lambda w: w["relative"], default=None)
    if pick is None:
        return {"constraint": "budget", "message": "no equivalent candidate meets the budget"}
    base = pick["key"].removesuffix("_min")
    name = _NAMES.get(base, base)
    over = "over" if pick["op"] == "<=" else "under"
    return {
        "constraint": pick["key"],
        "limit": pick["limit"],
        "best": pick["value"],
        "candidate": pick["candidate"],
        "excess": pick["excess"],
        "message": (
            f"no candidate meets the budget: {name} {pick['op']} {_show(base, pick['limit'])} binds; the best "
            f"equivalent candidate, {pick['label']}, has {_show(base, pick['value'])}, "
            f"{_show(base, abs(pick['excess']))} {over}"
            + (f" ({100 * pick['relative']:.0f}%)" if math.isfinite(pick["relative"]) else "")
        ),
    }
