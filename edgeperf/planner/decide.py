"""The decision: every candidate's figures from its step reports, the Pareto front of task against energy per
action and p99, the recommendation (the lowest-energy candidate, then the lowest p99, that is equivalent to the
original and meets the budget), the runner-up, and why each other candidate lost.

Step reports are read through their typed kinds (results/kinds/, results/figures.py), and a candidate's line is a
`Row` until plan.json is written. Budget lines are judged by results/budget.py, the same code `edgeperf check` runs
on the budget file the plan writes: what the plan accepted, CI accepts.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

from edgeperf.planner.candidates import Candidate, Limit, budget_dict
from edgeperf.results import figures
from edgeperf.results.budget import Budget, Result
from edgeperf.results.kinds import Document, Parity

VERDICT_RANK = {"equivalent": 2, "inconclusive": 1, "different": 0}
PARITY_KEYS = ("passed", "max_abs_error", "p99_abs_error", "observations")


def typed(step: dict | None) -> Document | None:
    """A step's report as its typed Document; None for a step that did not run or failed ({"error": ...})."""
    if not step or "error" in step:
        return None
    return figures.document(step)


@dataclass
class Row:
    """One candidate's line of the decision (plan.json's decision.candidates[i]): what its export, profile and
    validation measured (absent: None, never 0), then the judgement. A dict only in plan.json (`to_dict`), where
    the profile's figures are there once it was profiled and the validation's once it was validated."""

    candidate: Candidate
    parity: Parity = field(default_factory=Parity)
    profiled: bool = False
    p50_us: float | None = None
    p99_us: float | None = None
    p99_9_us: float | None = None
    jitter_us: float | None = None
    misses: int | None = None
    periods: int | None = None
    miss_rate: float | None = None
    peak_rss_mb: float | None = None
    mj_per_inference: float | None = None
    energy_estimate: bool | None = None
    energy_source: str | None = None
    energy_unmeasured: str | None = None
    profile_run: str | None = None
    validated: bool = False
    verdict: str | None = None
    return_diff: float | None = None
    success: float | None = None
    reference_success: float | None = None
    episodes: int | None = None
    episodes_needed: int | None = None
    validate_run: str | None = None
    budget_failures: list[Result] = field(default_factory=list)
    reason: str = ""
    eligible: bool = False
    status: str = "dropped"
    on_front: bool = False

    PROFILE = ("p50_us", "p99_us", "p99_9_us", "jitter_us", "misses", "periods", "miss_rate", "peak_rss_mb",
               "mj_per_inference", "energy_estimate", "energy_source", "energy_unmeasured", "profile_run")  # fmt: skip
    VALIDATE = ("verdict", "return_diff", "success", "reference_success", "episodes", "episodes_needed", "validate_run")

    @property
    def id(self) -> str:
        return self.candidate.id

    @property
    def label(self) -> str:
        return self.candidate.label

    @classmethod
    def from_dict(cls, d: dict) -> Row:
        """A row of plan.json typed again (the page and the sidecar read it)."""
        given = {f.name for f in dataclasses.fields(cls)} - {"candidate", "parity", "budget_failures"}
        return cls(
            Candidate(d["precision"], d["backend"], int(d["threads"])),
            parity=Parity.from_dict(d["parity"]),
            profiled="profile_run" in d,
            validated="validate_run" in d,
            budget_failures=[Result(**f) for f in d["budget_failures"]],
            **{k: d[k] for k in given if k in d},
        )

    def to_dict(self) -> dict:
        out = {**self.candidate.to_dict(), "parity": {k: self.parity.at(k) for k in PARITY_KEYS}}
        out |= {k: getattr(self, k) for k in self.PROFILE} if self.profiled else {}
        out |= {k: getattr(self, k) for k in self.VALIDATE} if self.validated else {}
        return out | {
            "budget_failures": [f.to_dict() for f in self.budget_failures],
            "reason": self.reason,
            "eligible": self.eligible,
            "status": self.status,
            "on_front": self.on_front,
        }


def _f(doc: Document | None, name: str):
    return None if doc is None else figures.figure(doc, name).value


def figures_of(c: Candidate, exported: dict | None, profiled: dict | None, validated: dict | None) -> Row:
    """One candidate's row: what its export, profile and validation measured (absent: None, never 0)."""
    ex, prof, val = typed(exported), typed(profiled), typed(validated)
    row = Row(c)
    if ex is not None and ex.results.parity is not None:
        row.parity = ex.results.parity
    if prof is not None:
        r = prof.results
        lat, dl, power = r.latency_us, r.deadline, r.power
        row.profiled = True
        if lat is not None:
            row.p50_us, row.p99_us, row.p99_9_us, row.jitter_us = lat.p50, lat.p99, lat.p99_9, lat.std
        if dl is not None:
            row.misses, row.periods, row.miss_rate = dl.misses, dl.periods, dl.miss_rate
        row.peak_rss_mb = _f(prof, "peak_rss_mb")
        row.mj_per_inference = _f(prof, "mj_per_inference")
        if power:
            row.energy_estimate, row.energy_source = bool(power.estimate), power.source
        else:
            row.energy_unmeasured = prof.why("power", default="no power measured")
        row.profile_run = prof.run_id
    if val is not None:
        paired = val.results.paired
        row.validated = True
        if paired is not None:
            row.verdict, row.return_diff = paired.verdict, paired.mean_return_difference
            row.episodes_needed = paired.episodes_needed
        row.success = _f(val, "success")
        row.reference_success = _f(val, "reference_success")
        row.episodes = val.config.episodes if val.config is not None else None
        row.validate_run = val.run_id
    return row


def _budget_failures(budget: Budget, *reports: Document | None) -> list[Result]:
    out = []
    for doc in reports:
        if doc is None:
            continue
        for res in budget.check(doc):
            if not res.passed and res.key != "verdict":  # the verdict is judged on its own, with its episodes
                out.append(res)
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


def failure_text(f: Result) -> str:
    base = f.key.removesuffix("_min")
    name = _NAMES.get(base, base)
    if f.value is None:
        return f"{name} {f.reason}"
    return f"{_show(base, f.value)} {name} ({'over' if f.op == '<=' else 'under'} {_show(base, f.limit)})"


def decide(
    candidates: list[Candidate],
    steps: dict[str, dict],
    limits: list[Limit],
    rate_hz: float,
) -> dict:
    """steps: candidate id -> {"export": report|error|None, "profile": ..., "validate": ...}; the decision as
    plan.json holds it."""
    budget = Budget.from_dict(budget_dict(limits, rate_hz, allow_estimate=True), "the plan's budget")
    rows = []
    for c in candidates:
        s = steps.get(c.id, {})
        exported, profiled, validated = (s.get(k) for k in ("export", "profile", "validate"))
        row = figures_of(c, exported, profiled, validated)
        row.budget_failures = _budget_failures(budget, typed(profiled), typed(validated))
        row.reason, row.eligible = _judge(c, exported, profiled, validated, row)
        rows.append(row)

    eligible = [r for r in rows if r.eligible]
    eligible.sort(key=lambda r: (_num(r.mj_per_inference), _num(r.p99_us)))
    chosen = eligible[0] if eligible else None
    runner = eligible[1] if len(eligible) > 1 else None
    for r in eligible:
        r.status = "eligible"
        if r is chosen:
            r.status, r.reason = "recommended", _why_chosen(r, eligible)
        elif r is runner:
            r.status, r.reason = "runner-up", "runner-up: " + _behind(r, chosen)
        else:
            r.reason = "equivalent and within budget, but " + _behind(r, chosen)
    front = pareto(rows)
    feasible = pareto([r for r in rows if not r.budget_failures])
    for r in rows:
        r.on_front = r.id in front
    out = {
        "candidates": [r.to_dict() for r in rows],
        "front": front,
        "front_within_budget": feasible,
        "recommendation": chosen.id if chosen else None,
        "runner_up": runner.id if runner else None,
        "rule": "the lowest energy per inference, then the lowest p99, among the candidates equivalent to the "
        "original (paired, own measured latency in the loop) that meet the budget",
    }
    if chosen is None:
        out["no_recommendation"] = binding(rows)
    return out


def _num(v) -> float:
    return v if isinstance(v, (int, float)) and math.isfinite(v) else math.inf


def _judge(c: Candidate, exported, profiled, validated, row: Row) -> tuple[str, bool]:
    """Why the candidate is out (and False), or ("", True); `exported`...: the step's report, its error, or None."""
    if exported is None:
        return "not exported (the plan stopped before its export)", False
    if "error" in exported:
        return f"{c.precision} {c.format}: export failed: {exported['error']}", False
    par = row.parity
    if not par.passed:
        tol = par.tolerance
        err = par.max_abs_error
        said = f"max error {err:.3g}" if isinstance(err, (int, float)) else "no error figure"
        if tol:
            said += f", tolerance atol {tol.atol} rtol {tol.rtol}"
        return f"{c.label}: parity FAILED ({said}): dropped", False
    if profiled is None:
        return f"{c.label}: parity passed, not profiled (the plan stopped before)", False
    if "error" in profiled:
        return f"{c.label}: parity passed, profile failed: {profiled['error']}", False
    fails = row.budget_failures
    if validated is None:
        if fails:
            return f"{c.label}: " + "; ".join(failure_text(f) for f in fails), False
        return f"{c.label}: parity passed, not validated (the plan stopped before)", False
    if "error" in validated:
        return f"{c.label}: parity passed, validation failed: {validated['error']}", False
    verdict = row.verdict
    if verdict != "equivalent":
        diff = row.return_diff
        said = f"{verdict} at {row.episodes} episodes" + (
            f": {diff:+.3g} return" if isinstance(diff, (int, float)) else ""
        )
        if verdict == "inconclusive" and row.episodes_needed:
            said += f" (about {row.episodes_needed} episodes would decide)"
        return f"{c.label}: parity passed, {said}" + (
            "; " + "; ".join(failure_text(f) for f in fails) if fails else ""
        ), False
    if fails:
        return f"{c.label}: equivalent, but " + "; ".join(failure_text(f) for f in fails), False
    return "", True


def _energy(r: Row) -> str:
    v = r.mj_per_inference
    if v is None:
        return "energy not measured"
    return f"{v:.3g} mJ per inference" + (" (estimate)" if r.energy_estimate else "")


def _why_chosen(r: Row, eligible: list[Row]) -> str:
    n = len(eligible)
    diff = r.return_diff
    diff = f"{diff:+.3g}" if isinstance(diff, (int, float)) else "no measured"  # a NaN is written as null
    return (
        f"{r.label}: equivalent to the original ({diff} return at {r.episodes} "
        f"episodes), within budget, and the lowest energy of the {n} that are: {_energy(r)}, p99 "
        f"{_show('p99_us', r.p99_us)}"
    )


def _behind(r: Row, chosen: Row) -> str:
    e, e0 = r.mj_per_inference, chosen.mj_per_inference
    if isinstance(e, (int, float)) and isinstance(e0, (int, float)) and e != e0:
        return f"{_energy(r)}, {e - e0:+.3g} mJ against the recommendation (p99 {_show('p99_us', r.p99_us)})"
    return f"p99 {_show('p99_us', r.p99_us)} against {_show('p99_us', chosen.p99_us)} at equal energy"


def task_score(r: Row) -> tuple:
    s = r.success
    return (VERDICT_RANK.get(r.verdict, -1), s if isinstance(s, (int, float)) else -1.0)


def pareto(rows: list[Row]) -> list[str]:
    """The validated candidates no other beats or equals on task (verdict, then success), energy per inference
    and p99 while beating it on one of them."""
    pts = [r for r in rows if r.verdict is not None and r.p99_us is not None]

    def key(r):
        return task_score(r), -_num(r.mj_per_inference), -_num(r.p99_us)

    def dominates(a, b) -> bool:
        ka, kb = key(a), key(b)
        return all(x >= y for x, y in zip(ka, kb, strict=True)) and ka != kb

    return [r.id for r in pts if not any(dominates(o, r) for o in pts if o is not r)]


def binding(rows: list[Row]) -> dict:
    """With no recommendation: which constraint binds and by how much, on the candidates that are equivalent (or,
    if none is, on the ones profiled)."""
    equivalent = [r for r in rows if r.verdict == "equivalent"]
    if not equivalent:
        profiled = [r for r in rows if r.p99_us is not None]
        if not profiled:
            return {"constraint": "parity", "message": "no candidate passed parity and was profiled"}
        best = max(rows, key=task_score)
        return {
            "constraint": "equivalence",
            "candidate": best.id,
            "message": f"no candidate is equivalent to the original; the closest, {best.reason}",
        }
    # Per budget line: the best value any equivalent candidate reached, and its distance to the limit.
    worst: dict = {}
    for r in equivalent:
        for f in r.budget_failures:
            if f.value is None:
                continue
            excess = (f.value - f.limit) if f.op == "<=" else (f.limit - f.value)
            rel = excess / f.limit if f.limit else math.inf
            cur = worst.get(f.key)
            if cur is None or rel < cur["relative"]:
                worst[f.key] = {**f.to_dict(), "candidate": r.id, "label": r.label, "excess": excess, "relative": rel}
    # The line that binds: one that every equivalent candidate fails, by the largest margin the best of them has.
    failing_all = [k for k in worst if all(any(f.key == k for f in r.budget_failures) for r in equivalent)]
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
