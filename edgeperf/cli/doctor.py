"""`edgeperf doctor`: why a policy that worked in training fails in another simulator, and the corrected spec."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, JsonOut, NoStoreOpt, console, store_target, write_report


def doctor(
    model: Annotated[str, typer.Argument(help="The policy: an artifact (policy.onnx) or any source export reads.")],
    domain: Annotated[str, typer.Option("--domain", help="Where it fails: mujoco:SPEC above all.")],
    reference: Annotated[
        str | None, typer.Option("--reference", help="The original policy: is the export or the contract at fault?")
    ] = None,
    recording: Annotated[
        Path | None,
        typer.Option("--recording", help="A .npz of the training side (obs, action, state): a term-by-term check."),
    ] = None,
    latency_from: Annotated[
        Path | None,
        typer.Option("--latency-from", help="A profile report: does it fail only with the measured latency?"),
    ] = None,
    budget_s: Annotated[float, typer.Option("--budget-s", help="Seconds for the closed-loop search.")] = 300.0,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Seeded episodes to confirm with.")] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode.")] = 0,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the corrected spec here, in the input's format.")
    ] = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Say why a policy fails in a domain; write the fixed spec.

    Say why a policy fails in a domain, and write the corrected deploy spec.

    Short seeded episodes find the failure; with --recording each observation term is rebuilt from the training
    side's state and the mismatch named (scale, sign, degrees, permutation, default pose, normaliser, history
    layout, stale last action); without one, the known mistake families are tried in closed loop (joint order,
    term scales, default pose, action scale and offset, history layout, physics step and rate, PD gains) and
    ranked by the success and return they recover. Exit 0 when nothing is wrong or a fix restores the task, 1
    when nothing known explains the failure, 2 for bad input.
    """
    from edgeperf import verdict
    from edgeperf.config import DoctorConfig
    from edgeperf.domains.mujoco import parse_id
    from edgeperf.pipeline import doctor as run
    from edgeperf.results import render
    from edgeperf.results.io import check_paths

    store = store_target(db, no_store)
    spec_file = parse_id(domain)[0] if domain.startswith("mujoco:") else None
    inputs = {"the model": model, "the spec": spec_file, "--recording": recording, "--latency-from": latency_from}
    check_paths({"--json": json_path, "--output": output, "--db": store and store.path}, inputs)
    cfg = DoctorConfig(
        domain=domain, reference=reference, recording=recording, latency_from=latency_from, budget_s=budget_s,
        episodes=episodes, seed=seed,
    ).check()  # fmt: skip
    con = console(json_path)
    with con.status(f"diagnosing {model} on {domain}"):
        report, _ = run(model, config=cfg, output=output)
    render.doctor(report, con)
    write_report(report, json_path, con, store=store)
    verdict.check(report)  # exit 1 unless healthy or fixed
