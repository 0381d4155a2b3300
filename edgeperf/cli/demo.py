"""`edgeperf demo`: the main job end to end on a bundled reference policy (edgeperf.pipeline.deploy)."""

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
) -> None:
    """Run the main job end to end on a bundled reference policy.

    1. export the domain's reference policy to ONNX fp32, parity checked on the policy's own rollouts; 2.
    profile the artifact in a fresh process, in a control loop at the domain's rate on its own observations;
    3. validate it against the original in paired episodes with the measured latency in the loop; 4. serve it
    from a child process on loopback and drive it in real time at the control rate (hardware in the loop,
    against the same artifact in pure simulation). Writes policy.onnx, a JSON report per stage, the profile's
    timings.csv and report.html (every stage on one self-contained page) under --out, then a summary.
    """
    from edgeperf import pipeline
    from edgeperf.cli.common import console
    from edgeperf.domains import base
    from edgeperf.errors import BadInput, VerdictFailed
    from edgeperf.results import render

    con = console()
    d = base.make(domain)
    if not d.reference:
        raise BadInput(f"{domain} has no bundled reference policy to demonstrate; pick another --domain")
    titles = {
        "export": f"1/4 export {d.reference} -> ONNX fp32, parity on its own rollouts",
        "profile": f"2/4 profile in a fresh process: a {d.control_hz:g} Hz control loop for {duration:g} s",
        "validate": f"3/4 validate against the original on {domain}, measured latency in the loop",
        "hil": f"4/4 hardware in the loop over loopback: {hil_episodes} real-time episodes against edgeperf serve",
    }
    renderers = {"export": render.export, "profile": render.profile, "validate": render.validate, "hil": render.hil}

    stages = pipeline.STAGES if hil_episodes else pipeline.STAGES[:-1]

    def show(stage, report) -> None:
        renderers[stage](report, con)
        following = stages[stages.index(stage) + 1 :]
        if following:
            con.rule(titles[following[0]])

    con.rule(titles["export"])
    done = pipeline.deploy(
        d.reference, out, domain=domain, duration=duration, episodes=episodes, hil_episodes=hil_episodes, on_stage=show
    )
    exported, prof, val = (done.reports[s] for s in pipeline.STAGES[:3])
    parity, lat, dl, v = (
        exported.results["parity"],
        prof.results["latency_us"],
        prof.results["deadline"],
        val.results,
    )
    con.rule("summary")
    con.print(
        f"The {domain} reference policy was exported to {done.artifact} "
        f"({exported.results['size_bytes'] / 1024:.0f} KiB); on {parity['observations']} observations of its own "
        f"rollouts it computes the same actions as the original (max error {parity['max_abs_error']:.1e}).\n"
        f"On this computer one inference takes {lat['p50']:.0f} us at the median and {lat['p99']:.0f} us at p99 "
        f"({lat['count']} inferences in a {d.control_hz:g} Hz loop): {dl['misses']} of {dl['periods']} deadlines "
        f"missed, {100 * lat['p99'] / dl['deadline_us']:.2f}% of the {dl['deadline_us'] / 1e3:g} ms budget used at "
        f"p99.\nWith that latency in the loop, the deployed policy succeeded in "
        f"{100 * v['deployed']['success_rate']:.0f}% of {episodes} episodes (the original: "
        f"{100 * v['reference']['success_rate']:.0f}%); verdict: {v['paired']['verdict']}.\n"
        + (_hil_summary(done.reports["hil"]) if "hil" in done.reports else "")
        + f"Reports: {out}/"
        + ", ".join(f"{s}.json" for s in done.reports)
        + f"; timings: {done.timings}\nThe whole run on one page: {done.html}"
    )
    if v["paired"]["verdict"] == "different":
        raise VerdictFailed("the deployed policy behaves differently from the original; see validate.json")


def _hil_summary(report) -> str:
    r, link = report.results, report.results["link"]
    sil, hil = r["sil"], r["hil"]
    rtt = link.get("round_trip_us")
    came_back = (
        f"the actions took {rtt['p50']:.0f} us at the median and {rtt['p99']:.0f} us at p99 to come back"
        if rtt
        else "no action came back"
    )
    success = (
        f" (success {100 * hil['success_rate']:.0f}% in the loop, {100 * sil['success_rate']:.0f}% in simulation)"
        if "success_rate" in hil
        else ""
    )
    return (
        f"Served from another process over loopback and driven in real time, {came_back} ({link['misses']} of "
        f"{link['steps']} deadlines missed); with the link in the loop the task's return moved by "
        f"{hil['return']['mean'] - sil['return']['mean']:+.2f}{success}; verdict: {r['paired']['verdict']}.\n"
    )
