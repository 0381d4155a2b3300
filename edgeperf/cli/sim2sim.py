"""`edgeperf sim2sim`: the same policy in two simulators, and whether its task performance transfers."""

from __future__ import annotations

from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, JsonOut, NoStoreOpt, console, store_target, write_report


def sim2sim(
    model: Annotated[str, typer.Argument(help="The policy: an artifact (policy.onnx) or any source export reads.")],
    domain: Annotated[str, typer.Option("--domain", help="Where it works: quadruped/trot, mujoco:SPEC, ...")],
    to: Annotated[str, typer.Option("--to", help="Where it goes: mujoco/a1-trot, mujoco:g1.yaml, ...")],
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes in each domain.")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode (episode k: seed + k).")] = 0,
    randomize: Annotated[
        str | None,
        typer.Option(
            "--randomize",
            help="Success in --to against levels of one quantity, e.g. friction=1,0.6,0.3 (also push_n, "
            "mass_scale, motor_strength, obs_noise for MuJoCo domains; latency_ms for any).",
        ),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: one per core).")] = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Run a policy in two simulators and say whether it transfers.

    Episodes are not paired (the worlds differ): two-sample intervals for return and success, each metric's
    shift, and a verdict: transfers, degrades, fails or inconclusive. Exit code 1 unless it transfers.
    """
    from edgeperf import verdict
    from edgeperf.config import Sim2simConfig
    from edgeperf.pipeline import sim2sim as run
    from edgeperf.results import render
    from edgeperf.results.io import check_paths
    from edgeperf.validation.sim2sim import parse_randomize

    store = store_target(db, no_store)
    check_paths({"--json": json_path, "--db": store and store.path}, {"the model": model})
    cfg = Sim2simConfig(
        domain=domain, to=to, episodes=episodes, seed=seed, workers=workers, randomize=parse_randomize(randomize)
    ).check()
    con = console(json_path)
    with con.status(f"running {model} on {domain} and {to} ({episodes} episodes each)"):
        report = run(model, config=cfg)
    render.sim2sim(report, con)
    write_report(report, json_path, con, store=store)
    verdict.check(report)  # exit 1 unless it transfers
