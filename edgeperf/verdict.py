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

EQUIVALENT = "equivalent"


def failure(report) -> str | None:
    """Why `report`'s verdict failed, in one line; None when it passed or its kind has none."""
    r, c = report.results, report.config
    kind = report.schema.split("/")[0].removeprefix("edgeperf.")
    if kind == "export":
        return _parity(report)
    if kind == "validate":
        verdict = r["paired"]["verdict"]
        if verdict == EQUIVALENT:
            return None
        return f"the deployed policy is {verdict} from the reference on {c['domain']}"
    if kind == "hil":
        stopped = (r.get("bus") or {}).get("controller_stopped")
        if stopped is not None and r["episodes_run"] < r["episodes"]:  # hil --bus: the user's controller
            return (
                f"the controller went silent after step {stopped['step']} of episode {stopped['episode']} (seed "
                f"{stopped['seed']}) and sent nothing more: {r['episodes_run']} of {r['episodes']} episodes ran"
            )
        nonfinite = r.get("nonfinite_episodes") or []
        if nonfinite:
            return f"the policy in the loop returned non-finite actions in {len(nonfinite)} episodes"
        verdict = (r.get("paired") or {}).get("verdict")
        if verdict is None or verdict == EQUIVALENT:
            return None
        if "bus" in c:  # edgeperf played the robot for the user's controller (hil --bus)
            return f"the controller on the bus is {verdict} from SIL of {c.get('reference')} on {c['domain']}"
        return f"the policy in the loop is {verdict} from the same artifact in simulation on {c['domain']}"
    if kind == "sim2sim":
        transfer = r["transfer"]
        if transfer["verdict"] == "transfers":
            return None
        moved = transfer.get("moved_most")
        why = f" ({moved} moved most)" if moved else ""
        return f"sim-to-sim {c['domain']} -> {c['to']}: {transfer['verdict']}{why}"
    if kind == "doctor":
        return None if r["verdict"] in ("healthy", "fixed") else f"doctor: {r['verdict']}: {r['summary']}"
    return None


def check(report) -> None:
    """Raise VerdictFailed (exit code 1) with failure(report)'s line when the verdict failed."""
    said = failure(report)
    if said is not None:
        raise VerdictFailed(said)


def _parity(report) -> str | None:
    parity = report.results.get("parity")
    if not parity or parity["passed"]:
        return None  # passed, or not checked (--no-check, or the artifact cannot run here)
    tol = parity["tolerance"]
    if parity.get("action_kind") == "discrete":
        what = (
            f"chosen action agrees on {parity['agreement_rate']:.1%} of observations "
            f"({parity['disagreements'] - parity['disagreements_on_near_ties']} disagreements beyond near-ties), "
            f"max |logit error| {parity['max_abs_error']:.3g}"
        )
    elif (rec := parity.get("recurrent")) and rec["drift_ratio"] > 10 and not parity["elements_out_of_tolerance"]:
        what = (
            f"the error grows along the {parity['recurrent']['steps']}-step sequences "
            f"({parity['recurrent']['drift_ratio']:.3g}x from the first steps to the last): the state drifts"
        )
    else:
        what = (
            f"max |error| {parity['max_abs_error']:.3g} exceeds the {report.config['precision']} tolerance "
            f"(atol {tol['atol']:g}, rtol {tol['rtol']:g}) on {parity['elements_out_of_tolerance']} action values"
        )
    return (
        f"parity failed: {what}; the artifact at {report.model.path} is kept for inspection but does not compute "
        "the same actions"
    )
