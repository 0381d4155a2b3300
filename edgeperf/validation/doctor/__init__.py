"""`edgeperf doctor`: why a policy that worked in training fails in another simulator, and the corrected spec.

1. The failure: `episodes` seeded episodes of the policy in the domain as given. A policy that succeeds in all of
   them has nothing to cure (verdict "healthy"). With --reference, the original runs there too: when it succeeds
   where the policy fails, the export is at fault, not the contract (verdict "export").
2. With a recording of the training side (recording.py): each observation term rebuilt from the recorded state
   and compared; each mismatch explained; the spec those explanations give is tried in closed loop.
3. The closed-loop search (candidates.py): every candidate spec of the known mistake families, screened on two
   seeds (success, then return), the best confirmed on all the seeds; when none restores the task, the best is
   taken as a first step and the search goes on from it (two mistakes at once). It stops at the budget and says
   how much of the space it covered.
4. Latency (--latency-from a profile report): when the policy succeeds without latency and fails with the
   measured one, the largest constant latency it tolerates, found by bisection, against the profile's p99.

Verdicts: healthy (nothing wrong), fixed (a candidate restores the task: success in a majority of the episodes
and more than as given), latency (it fails only with the measured latency), export (the original succeeds
where the policy fails), unexplained. Exit 0 for healthy and fixed, 1 otherwise.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from edgeperf.config.doctor import DoctorConfig
from edgeperf.devices.detect import host_summary
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.results.report import Report
from edgeperf.runtime.session import Session
from edgeperf.validation.doctor import recording as rec_mod
from edgeperf.validation.doctor.candidates import Candidate, candidates
from edgeperf.validation.latency import LatencyModel
from edgeperf.validation.paired import check_fit, describe_model
from edgeperf.validation.rollout import PolicySpec, episode

SCREEN_SEEDS = 2
CONFIRM = 5  # candidates confirmed on every seed


@dataclass
class Score:
    episodes: int
    successes: int
    falls: int
    mean_return: float
    failure: str = ""  # the first failed episode's reason

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0

    def key(self, plausibility: float = 0.5) -> tuple:
        """Rank: success, then fewer falls, then (among equals) the more conventional fix, then return."""
        return (self.success_rate, -self.falls / max(self.episodes, 1), plausibility, self.mean_return)

    def to_dict(self) -> dict:
        return {**asdict(self), "success_rate": self.success_rate}


@dataclass
class Finding:
    family: str
    fix: str
    diagnosis: str
    screen: Score
    confirm: Score | None = None
    restores: bool = False
    source: str = "search"  # search, recording

    def to_dict(self) -> dict:
        return {
            "family": self.family,
            "fix": self.fix,
            "diagnosis": self.diagnosis,
            "source": self.source,
            "screen": self.screen.to_dict(),
            "confirm": self.confirm.to_dict() if self.confirm else None,
            "restores": self.restores,
        }


@dataclass
class Diagnosis:
    """doctor's typed result (the report's results are its dict)."""

    verdict: str
    summary: str
    baseline: Score
    findings: list[Finding] = field(default_factory=list)
    fixed: object | None = None  # the DeploySpec that restores the task
    search: dict = field(default_factory=dict)
    recording: dict | None = None
    latency: dict | None = None
    reference: dict | None = None


def evaluate(domain: base.Domain, session: Session, seeds, latency: LatencyModel | None = None) -> Score:
    eps = [episode(domain, session, s, latency=latency)[0] for s in seeds]
    fails = [e.failure_reason for e in eps if not e.success and e.failure_reason]
    return Score(
        episodes=len(eps),
        successes=sum(e.success for e in eps),
        falls=sum(e.fall for e in eps),
        mean_return=sum(e.ret for e in eps) / len(eps),
        failure=fails[0] if fails else "",
    )


def doctor(
    model: str | Path,
    domain_id: str | None = None,
    config: DoctorConfig | None = None,
    *,
    opener: Callable[..., Session] = Session.open,
    **options,
) -> tuple[Report, Diagnosis]:
    """Diagnose `model` in `domain_id` as `config` says, or as `options` (DoctorConfig's fields: reference,
    recording, latency_from, budget_s, episodes, seed) say; (Report, Diagnosis)."""
    cfg = DoctorConfig.of(config, options, **({"domain": domain_id} if config is None else {})).check()
    domain_id, recording, latency_from, budget_s = cfg.domain, cfg.recording, cfg.latency_from, cfg.budget_s
    t0 = time.perf_counter()
    deadline = t0 + budget_s
    domain = base.make(domain_id)
    spec = _spec_of(domain_id)
    latency = LatencyModel.from_profile(latency_from) if latency_from else None
    rec = rec_mod.load(recording) if recording else None
    if rec is not None and spec is None:
        raise BadInput("--recording is compared term by term with a deploy spec: give --domain mujoco:SPEC")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with check_fit(domain, PolicySpec(str(model), opener=opener), "policy") as session:
        info = describe_model(model, session)
        diag = _diagnose(domain, cfg, spec, session, deadline, rec, latency, opener)
    diag.search["wall_s"] = time.perf_counter() - t0
    report = Report.new("doctor", host_summary())
    report.model = info
    report.config = cfg.to_dict()
    for term in (diag.recording or {}).get("terms", []):
        if diag.verdict == "healthy" and term["explanation"]:
            report.warn(f"the policy succeeds, but the recording differs: {term['explanation']}")
    report.results = {
        "verdict": diag.verdict,
        "summary": diag.summary,
        "baseline": diag.baseline.to_dict(),
        "findings": [f.to_dict() for f in diag.findings],
        "search": diag.search,
        **({"recording": diag.recording} if diag.recording else {}),
        **({"latency": diag.latency} if diag.latency else {}),
        **({"reference": diag.reference} if diag.reference else {}),
    }
    if spec is None:
        report.unmeasured["search"] = f"{domain_id} is not a deploy-spec domain: the search edits a mujoco:SPEC"
    return report, diag


def _spec_of(domain_id: str):
    if not domain_id.startswith("mujoco:"):
        return None
    from edgeperf.domains.mujoco import apply_overrides, load_id, parse_overrides

    spec = load_id(domain_id)
    _, overrides = parse_overrides(domain_id)
    return apply_overrides(spec, overrides) if overrides else spec


def _diagnose(domain, cfg: DoctorConfig, spec, session, deadline, rec, latency, opener) -> Diagnosis:
    domain_id, latency_from, reference = cfg.domain, cfg.latency_from, cfg.reference
    seeds = [cfg.seed + k for k in range(cfg.episodes)]
    baseline = evaluate(domain, session, seeds)
    diag = Diagnosis("unexplained", "", baseline)
    if baseline.successes == baseline.episodes:
        if rec is not None:  # nothing to cure, but a term that differs from training is worth a word
            from edgeperf.domains.mujoco.scene import compile_scene

            check_recording(spec, rec, compile_scene(spec)[1].joints, diag)
        if latency is not None:
            return _latency(diag, domain, session, seeds, latency, latency_from)
        diag.verdict = "healthy"
        diag.summary = f"nothing to cure: the policy succeeds in all {baseline.episodes} episodes of {domain_id}" + (
            " (without latency; give --latency-from to check it with the measured one)" if not latency else ""
        )
        return diag
    if reference:
        with check_fit(domain, PolicySpec(reference, opener=opener), "reference") as ref_session:
            ref = evaluate(domain, ref_session, seeds)
        diag.reference = {"source": reference, **ref.to_dict()}
        if ref.success_rate > 0.5 and ref.successes > baseline.successes:
            diag.verdict = "export"
            diag.summary = (
                f"the original ({reference}) succeeds in {ref.successes} of {ref.episodes} episodes here and the "
                f"policy in {baseline.successes}: the export differs from it, not the contract; run edgeperf "
                "validate on it"
            )
            return diag
    if spec is None:
        diag.summary = (
            f"the policy fails in {domain_id} ({baseline.failure or 'no success'}); the search for a contract "
            "mistake edits a deploy spec: run doctor on a mujoco:SPEC domain"
        )
        return diag
    _Search(domain_id, session, seeds, baseline, deadline).run(spec, rec, diag)
    if latency is not None:
        diag.latency = {"note": "the policy fails without latency already: fix that first"}
    return diag


def check_recording(spec, rec: dict, names, diag: Diagnosis) -> tuple[list, str]:
    """The recording's term-by-term check, kept in the diagnosis; returns (checks, layout)."""
    checks, layout = rec_mod.check(spec, rec, names)
    diag.recording = {"steps": len(rec["obs"]), "layout": layout, "terms": [asdict(c) for c in checks]}
    return checks, layout


def _prior(fc: tuple[Finding, Candidate]) -> float:
    """The recording's fix is evidence, not a guess: it ranks above a search candidate of the same success."""
    return 2.0 if fc[0].source == "recording" else fc[1].plausibility()


class _Search:
    """Candidates tried in closed loop: screened on the first seeds, the best confirmed on all of them."""

    def __init__(self, domain_id: str, session: Session, seeds: list[int], baseline: Score, deadline: float):
        self.domain_id, self.session, self.seeds = domain_id, session, seeds
        self.baseline, self.deadline = baseline, deadline

    def trial(self, c: Candidate, source: str) -> Finding:
        from edgeperf.domains.mujoco import domain_of

        score = evaluate(domain_of(c.spec, self.domain_id), self.session, self.seeds[:SCREEN_SEEDS])
        return Finding(c.family, c.fix, c.diagnosis, score, source=source)

    def confirm(self, top: list[tuple[Finding, Candidate]]) -> None:
        from edgeperf.domains.mujoco import domain_of

        for finding, c in top:
            if finding.screen.successes == 0 and finding.screen.mean_return <= self.baseline.mean_return:
                continue
            if finding.confirm is None:
                finding.confirm = evaluate(domain_of(c.spec, self.domain_id), self.session, self.seeds)
            s = finding.confirm
            finding.restores = s.success_rate > 0.5 and s.successes > self.baseline.successes

    def from_recording(self, spec, rec: dict, names, diag: Diagnosis) -> list[tuple[Finding, Candidate]]:
        checks, layout = check_recording(spec, rec, names, diag)
        fixed = rec_mod.fixed_spec(spec, checks, layout)
        if fixed is None:
            return []
        words = [c.explanation for c in checks if c.fix]
        if layout != spec.history_layout:
            words.insert(0, f"the history is laid out {spec.history_layout}; the recording is {layout}")
        c = Candidate("recording", rec_mod.describe_fixes(spec, checks, layout), "; ".join(words), fixed)
        return [(self.trial(c, "recording"), c)]

    def run(self, spec, rec: dict | None, diag: Diagnosis) -> None:
        from edgeperf.domains.mujoco.scene import compile_scene

        names = compile_scene(spec)[1].joints
        findings = self.from_recording(spec, rec, names, diag) if rec is not None else []
        total, tried, not_tried = 0, 0, {}
        start, first = spec, None
        for depth in range(2):
            for c in candidates(start, names):
                total += 1
                if time.perf_counter() > self.deadline:
                    not_tried[c.family] = not_tried.get(c.family, 0) + 1
                    continue
                step = c if first is None else Candidate(
                    f"{first.family} + {c.family}", f"{first.fix}; then {c.fix}",
                    f"{first.diagnosis}; and {c.diagnosis}", c.spec,
                )  # fmt: skip
                findings.append((self.trial(step, "search"), step))
                tried += 1
            findings.sort(key=lambda fc: fc[0].screen.key(_prior(fc)), reverse=True)
            self.confirm(findings[:CONFIRM])
            findings.sort(key=lambda fc: (fc[0].confirm or fc[0].screen).key(_prior(fc)), reverse=True)
            best = findings[0] if findings else None
            if best is None or best[0].restores or time.perf_counter() > self.deadline or depth == 1:
                break
            if best[0].screen.mean_return <= self.baseline.mean_return:
                break  # nothing got closer: no second mistake to look for on top of a first
            start, first = best[1].spec, best[1]
        diag.findings = [f for f, _ in findings]
        diag.search = {
            "candidates": total,
            "tried": tried,
            "coverage": tried / total if total else 1.0,
            "not_tried": not_tried,
            "not_searched": {
                "quaternion order": "the spec's terms read MuJoCo's quaternion themselves: only a recording shows it",
                "a missing normaliser": "its mean and std are not in the spec: only a recording shows them",
            },
            "screen_seeds": self.seeds[:SCREEN_SEEDS],
            "confirm_seeds": self.seeds,
        }
        self.conclude(diag, findings, tried, total)

    def conclude(self, diag: Diagnosis, findings, tried: int, total: int) -> None:
        base = self.baseline
        best = findings[0] if findings else None
        if best is not None and best[0].restores:
            f = best[0]
            diag.verdict, diag.fixed = "fixed", best[1].spec
            diag.summary = (
                f"{f.diagnosis}. Fix: {f.fix}. With it the policy succeeds in {f.confirm.successes} of "
                f"{f.confirm.episodes} episodes (as given: {base.successes} of {base.episodes})"
            )
            return
        closest = (
            f"; the closest: {best[0].fix}, success {best[0].screen.successes} of {best[0].screen.episodes}"
            if best
            else ""
        )
        diag.summary = (
            f"the policy fails in {self.domain_id} ({base.failure or 'no success'}) and no candidate of the known "
            f"mistake families restores it ({tried} of {total} tried within the budget{closest})"
        )


def _latency(diag: Diagnosis, domain, session, seeds, latency: LatencyModel, latency_from) -> Diagnosis:
    measured = evaluate(domain, session, seeds, latency=latency)
    qs, secs = zip(*latency.quantiles, strict=True)
    p99_ms = float(np.interp(0.99, qs, secs)) * 1e3
    diag.latency = {"profile": str(latency_from), "with_measured": measured.to_dict(), "profile_p99_ms": p99_ms}
    if measured.successes == measured.episodes:
        diag.verdict = "healthy"
        diag.summary = (
            f"nothing to cure: the policy succeeds in all {measured.episodes} episodes, with the latency measured "
            f"in {latency_from} in the loop too"
        )
        return diag
    # bisection: the largest constant latency (ms) at which it still succeeds in every episode
    lo, hi = 0.0, max(1.0, 2 * (p99_ms or 20.0))
    while evaluate(domain, session, seeds, latency=LatencyModel.constant(hi)).successes == len(seeds):
        lo, hi = hi, hi * 2
        if hi > 2000:
            break
    for _ in range(6):
        mid = (lo + hi) / 2
        ok = evaluate(domain, session, seeds, latency=LatencyModel.constant(mid)).successes == len(seeds)
        lo, hi = (mid, hi) if ok else (lo, mid)
    diag.latency["tolerated_ms"] = lo
    diag.verdict = "latency"
    diag.summary = (
        f"the policy succeeds without latency but in {measured.successes} of {measured.episodes} episodes with the "
        f"measured one: it needs under {hi:.1f} ms of action latency (tolerates {lo:.1f} ms)"
        + (f", the profile measured {p99_ms:.1f} ms at p99" if p99_ms else "")
    )
    return diag
