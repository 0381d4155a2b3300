"""`edgeperf demo`: the main job end to end on a bundled reference policy (edgeperf.deploy.deploy)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the artifact and reports.")] = Path("out/demo"),
    domain: Annotated[str, typer.Option("--domain", help="The domain whose bundled policy to deploy.")] = (
        "quadruped/trot"
    ),
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds of profiling (20 s at 50 Hz supports p99).")
    ] = 20.0,
    episodes: Annotated[int, typer.Option("--episodes", help="Paired validation episodes.")] = 6,
    hil_episodes: Annotated[
        int, typer.Option("--hil-episodes", help="Real-time HIL episodes over loopback (0: no HIL stage).")
    ] = 2,
    sim2sim_episodes: Annotated[
        int,
        typer.Option(
            "--sim2sim-episodes",
            help="Episodes per engine of the sim-to-sim stage (pybullet A1 -> its MuJoCo twin; 0: none).",
        ),
    ] = 4,
    plan_episodes: Annotated[
        int,
        typer.Option(
            "--plan-episodes",
            help="Paired episodes per candidate of the plan stage (fp32 vs int8 on ONNX Runtime; 0: none).",
        ),
    ] = 4,
) -> None:
    """Run the main job end to end on a bundled reference policy.

    1. export the domain's reference policy to ONNX fp32, parity checked on the policy's own rollouts; 2.
    profile the artifact in a fresh process, in a control loop at the domain's rate on its own observations;
    3. validate it against the original in paired episodes with the measured latency in the loop; 4. serve it
    from a child process on loopback and drive it in real time at the control rate (hardware in the loop,
    against the same artifact in pure simulation); 5. for a quadruped domain, run the artifact on the same A1 in
    MuJoCo (sim-to-sim: does it transfer?); 6. plan: fp32 against int8, each profiled and validated with its own
    latency, and the cheapest that still does the task recommended. Writes policy.onnx, a JSON report per stage,
    the profile's timings.csv and report.html (every stage on one self-contained page) and plan/ (plan.html,
    budget.toml, ...) under --out, then a summary.
    """
    from edgeperf import deploy
    from edgeperf.cli.common import console
    from edgeperf.config import DeployConfig
    from edgeperf.domains import base
    from edgeperf.errors import BadInput, VerdictFailed
    from edgeperf.results import figures, render

    con = console()
    d = base.make(domain)
    if not d.reference:
        raise BadInput(f"{domain} has no bundled reference policy to demonstrate; pick another --domain")
    twin = deploy.sim2sim_twin(domain) if sim2sim_episodes else None
    stages = [s for s in deploy.STAGES if (s != "hil" or hil_episodes) and (s != "sim2sim" or twin)]
    stages += ["plan"] if plan_episodes else []
    what = {
        "export": f"export {d.reference} -> ONNX fp32, parity on its own rollouts",
        "profile": f"profile in a fresh process: a {d.control_hz:g} Hz control loop for {duration:g} s",
        "validate": f"validate against the original on {domain}, measured latency in the loop",
        "hil": f"hardware in the loop over loopback: {hil_episodes} real-time episodes against edgeperf serve",
        "sim2sim": f"sim-to-sim: {sim2sim_episodes} episodes each on {domain} (pybullet) and {twin} (MuJoCo)",
        "plan": f"plan: fp32 or int8 on ONNX Runtime, each profiled and validated ({plan_episodes} episodes) with "
        "its own latency",
    }
    titles = {s: f"{i}/{len(stages)} {what[s]}" for i, s in enumerate(stages, 1)}
    renderers = {
        "export": render.export,
        "profile": render.profile,
        "validate": render.validate,
        "hil": render.hil,
        "sim2sim": render.sim2sim,
    }

    def show(stage, report) -> None:
        renderers[stage](report, con)
        following = stages[stages.index(stage) + 1 :]
        if following:
            con.rule(titles[following[0]])

    def show_plan(done_plan) -> None:
        from edgeperf.cli.plan import render as render_plan

        render_plan(done_plan, con)

    con.rule(titles["export"])
    cfg = DeployConfig(
        domain=domain,
        duration=duration,
        episodes=episodes,
        hil_episodes=hil_episodes,
        sim2sim_episodes=sim2sim_episodes if twin else 0,
        plan_episodes=plan_episodes,
    )
    done = deploy.deploy(d.reference, out, cfg, on_stage=show, on_plan=show_plan)
    docs = {stage: figures.document(report.to_dict()) for stage, report in done.reports.items()}
    exported, prof, v = (docs[s].results for s in deploy.STAGES[:3])
    parity, lat, dl = exported.parity, prof.latency_us, prof.deadline
    con.rule("summary")
    con.print(
        f"The {domain} reference policy was exported to {done.artifact} "
        f"({exported.size_bytes / 1024:.0f} KiB); on {parity.observations} observations of its own "
        f"rollouts it computes the same actions as the original (max error {parity.max_abs_error:.1e}).\n"
        f"On this computer one inference takes {lat.p50:.0f} us at the median and {lat.p99:.0f} us at p99 "
        f"({lat.count} inferences in a {d.control_hz:g} Hz loop): {dl.misses} of {dl.periods} deadlines "
        f"missed, {100 * lat.p99 / dl.deadline_us:.2f}% of the {dl.deadline_us / 1e3:g} ms budget used at "
        f"p99.\nWith that latency in the loop, the deployed policy succeeded in "
        f"{100 * v.deployed.success_rate:.0f}% of {episodes} episodes (the original: "
        f"{100 * v.reference.success_rate:.0f}%); verdict: {v.paired.verdict}.\n"
        + (_hil_summary(docs["hil"]) if "hil" in docs else "")
        + (_sim2sim_summary(docs["sim2sim"]) if "sim2sim" in docs else "")
        + (_plan_summary(done.plan) if done.plan is not None else "")
        + f"Reports: {out}/"
        + ", ".join(f"{s}.json" for s in done.reports)
        + f"; timings: {done.timings}\nThe whole run on one page: {done.html}"
    )
    if v.paired.verdict == "different":
        raise VerdictFailed("the deployed policy behaves differently from the original; see validate.json")


def _plan_summary(done_plan) -> str:
    from edgeperf.planner.decide import Row

    decision = done_plan.doc["decision"]
    rows = [Row.from_dict(r) for r in decision["candidates"]]
    rec = next((r for r in rows if r.id == decision["recommendation"]), None)
    others = "; ".join(f"{r.label}: {r.reason}" for r in rows if rec is None or r.id != rec.id)
    if rec is None:
        head = f"The plan recommends no candidate: {decision['no_recommendation']['message']}"
    else:
        e = rec.mj_per_inference
        energy = f"{e:.3g} mJ per inference{' (estimated)' if rec.energy_estimate else ''}, " if e else ""
        head = f"The plan recommends {rec.label} ({energy}p99 {rec.p99_us / 1e3:.3g} ms)"
    return f"{head}{'; ' + others if others else ''}. Plan: {done_plan.folder}/plan.html\n"


def _hil_summary(doc) -> str:
    r = doc.results
    link, sil, hil = r.link, r.sil, r.hil
    rtt = link.round_trip_us
    came_back = (
        f"the actions took {rtt.p50:.0f} us at the median and {rtt.p99:.0f} us at p99 to come back"
        if rtt
        else "no action came back"
    )
    success = (
        f" (success {100 * hil.success_rate:.0f}% in the loop, {100 * sil.success_rate:.0f}% in simulation)"
        if hil.has("success_rate")
        else ""
    )
    return (
        f"Served from another process over loopback and driven in real time, {came_back} ({link.misses} of "
        f"{link.steps} deadlines missed); with the link in the loop the task's return moved by "
        f"{hil.return_.mean - sil.return_.mean:+.2f}{success}; verdict: {r.paired.verdict}.\n"
    )


def _sim2sim_summary(doc) -> str:
    r = doc.results
    t, a, b = r.transfer, r.a, r.b
    success = (
        f"succeeded in {100 * b.success_rate:.0f}% of {r.episodes} episodes on the same A1 in MuJoCo "
        f"({100 * a.success_rate:.0f}% in pybullet)"
        if a.has("success_rate") and b.has("success_rate")
        else f"returned {b.return_.mean:.2f} in MuJoCo against {a.return_.mean:.2f} in pybullet"
    )
    moved = f"; the metric that moved most: {t.moved_most}" if t.moved_most else ""
    return f"In another engine, the exported policy {success}; sim-to-sim verdict: {t.verdict}{moved}.\n"
