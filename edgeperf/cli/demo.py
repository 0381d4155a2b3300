"""`edgeperf demo`: the main job end to end on a bundled reference policy: export, profile, validate."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer


def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the artifact and reports.")] = Path("out/demo"),
    domain: Annotated[str, typer.Option("--domain", help="The domain whose bundled policy to deploy.")] = (
        "quadruped/trot"
    ),
    duration: Annotated[float, typer.Option("--duration", help="Seconds of profiling.")] = 3.0,
    episodes: Annotated[int, typer.Option("--episodes", help="Paired validation episodes.")] = 6,
) -> None:
    """Run the main job end to end on a bundled reference policy.

    1. export the domain's reference policy to ONNX fp32 with a parity check; 2. profile the artifact on this
    machine in a control loop at the domain's rate; 3. validate it against the original in paired episodes
    with the measured latency in the loop. Writes policy.onnx, export.json, profile.json and validate.json
    under --out, then a summary.
    """
    from edgeperf.cli.common import console
    from edgeperf.domains import base
    from edgeperf.domains.latency import LatencyModel
    from edgeperf.domains.paired import validate
    from edgeperf.errors import VerdictFailed
    from edgeperf.exporter.onnx import export
    from edgeperf.results import render
    from edgeperf.results.report import load_report

    con = console()
    d = base.make(domain)
    out.mkdir(parents=True, exist_ok=True)
    artifact = out / "policy.onnx"
    con.rule(f"1/3 export {d.reference} -> ONNX fp32")
    exported = export(d.reference, artifact)
    render.export(exported, con)
    exported.write(out / "export.json")
    parity = exported.results["parity"]
    if not parity["passed"]:
        raise VerdictFailed("the exported policy failed parity; see export.json")

    con.rule(f"2/3 profile on this machine: a {d.control_hz:g} Hz control loop (onnxruntime)")
    # In a fresh process, as on a robot: the exporter's torch must not inflate the memory being measured.
    cmd = [
        sys.executable,
        "-m",
        "edgeperf",
        "profile",
        str(artifact),
        "--rate",
        f"{d.control_hz:g}",
        "--observations",
        f"domain:{domain}",
        "--duration",
        str(duration),
        "--iterations",
        "100",
        "--json",
        str(out / "profile.json"),
    ]
    code = subprocess.call(cmd)
    if code:
        raise typer.Exit(code)  # the profile's own one-line error is above; keep its exit code
    prof = load_report(out / "profile.json", kind="profile")

    con.rule(f"3/3 validate against the original on {domain}, measured latency in the loop")
    latency = LatencyModel.from_profile(out / "profile.json")
    with con.status(f"{episodes} paired episodes"):
        val = validate(artifact, domain, episodes=episodes, latency=latency)
    render.validate(val, con)
    val.write(out / "validate.json")

    lat, dl = prof.results["latency_us"], prof.results["deadline"]
    v = val.results
    con.rule("summary")
    con.print(
        f"The {domain} reference policy was exported to {artifact} ({exported.results['size_bytes'] / 1024:.0f} KiB); "
        f"it computes the same actions as the original (max error {parity['max_abs_error']:.1e}).\n"
        f"On this computer one inference takes {lat['p50']:.0f} us at the median and {lat['p99']:.0f} us at p99 in a "
        f"{d.control_hz:g} Hz loop: {dl['misses']} of {dl['periods']} deadlines missed "
        f"({100 * lat['p99'] / dl['deadline_us']:.2f}% of the {dl['deadline_us'] / 1e3:g} ms budget used at p99).\n"
        f"With that latency in the loop, the deployed policy succeeded in {100 * v['deployed']['success_rate']:.0f}% "
        f"of {episodes} episodes (the original: {100 * v['reference']['success_rate']:.0f}%); verdict: "
        f"{v['paired']['verdict']}.\nReports: {out}/export.json, profile.json, validate.json"
    )
    if v["paired"]["verdict"] == "different":
        raise VerdictFailed("the deployed policy behaves differently from the original; see validate.json")
