"""A report's verdict -> exit code 1, in one place: which figure decides it for each report kind, and the line
that says why. The CLI (`export`, `validate`, `hil`, `sim2sim`, `doctor`) and the library's pipeline (the demo)
ask here; a kind without a verdict (profile, measure) never fails one.

- export: parity was checked and did not pass;
- validate: the paired verdict is not `equivalent`;
- hil: the policy returned non-finite actions, or (hil --bus) the controller went silent with episodes left to
  run, or the paired verdict (against SIL, when there is one) is not `equivalent`;
- sim2sim: the transfer verdict is not `transfers`;
- doctor: the diagnosis is neither `healthy` nor `fixed`.
"""

from __future__ import annotations

from edgeperf.errors import VerdictFailed
from edgeperf.results import figures
from edgeperf.results.kinds import Document, ReportConfig

EQUIVALENT = "equivalent"


def failure(report) -> str | None:
    """Why `report`'s verdict failed, in one line; None when it passed or its kind has none. `report`: a Report,
    or a report dict."""
    doc = figures.document(report if isinstance(report, dict) else report.to_dict())
    r, c = doc.results, doc.config or ReportConfig()
    if doc.kind == "export":
        return _parity(doc)
    if doc.kind == "validate":
        verdict = r.paired.verdict
        if verdict == EQUIVALENT:
            return None
        return f"the deployed policy is {verdict} from the reference on {c.domain}"
    if doc.kind == "hil":
        stopped = r.bus.controller_stopped if r.bus else None
        if stopped is not None and r.episodes_run < r.episodes:  # hil --bus: the user's controller
            return (
                f"the controller went silent after step {stopped.step} of episode {stopped.episode} (seed "
                f"{stopped.seed}) and sent nothing more: {r.episodes_run} of {r.episodes} episodes ran"
            )
        if r.nonfinite_episodes:
            return f"the policy in the loop returned non-finite actions in {len(r.nonfinite_episodes)} episodes"
        verdict = r.paired.verdict if r.paired else None
        if verdict is None or verdict == EQUIVALENT:
            return None
        if c.has("bus"):  # edgeperf played the robot for the user's controller (hil --bus)
            return f"the controller on the bus is {verdict} from SIL of {c.reference} on {c.domain}"
        return f"the policy in the loop is {verdict} from the same artifact in simulation on {c.domain}"
    if doc.kind == "sim2sim":
        t = r.transfer
        if t.verdict == "transfers":
            return None
        why = f" ({t.moved_most} moved most)" if t.moved_most else ""
        return f"sim-to-sim {c.domain} -> {c.to}: {t.verdict}{why}"
    if doc.kind == "doctor":
        return None if r.verdict in ("healthy", "fixed") else f"doctor: {r.verdict}: {r.summary}"
    return None


def check(report) -> None:
    """Raise VerdictFailed (exit code 1) with failure(report)'s line when the verdict failed."""
    said = failure(report)
    if said is not None:
        raise VerdictFailed(said)


def _parity(doc: Document) -> str | None:
    parity = doc.results.parity
    if not parity or parity.passed:
        return None  # passed, or not checked (--no-check, or the artifact cannot run here)
    tol = parity.tolerance
    if parity.action_kind == "discrete":
        what = (
            f"chosen action agrees on {parity.agreement_rate:.1%} of observations "
            f"({parity.disagreements - parity.disagreements_on_near_ties} disagreements beyond near-ties), "
            f"max |logit error| {parity.max_abs_error:.3g}"
        )
    elif (rec := parity.recurrent) and rec.drift_ratio > 10 and not parity.elements_out_of_tolerance:
        what = (
            f"the error grows along the {rec.steps}-step sequences "
            f"({rec.drift_ratio:.3g}x from the first steps to the last): the state drifts"
        )
    else:
        what = (
            f"max |error| {parity.max_abs_error:.3g} exceeds the {doc.config.precision} tolerance "
            f"(atol {tol.atol:g}, rtol {tol.rtol:g}) on {parity.elements_out_of_tolerance} action values"
        )
    return (
        f"parity failed: {what}; the artifact at {doc.model.path} is kept for inspection but does not compute "
        "the same actions"
    )
