"""`edgeperf validate`: does the deployed artifact still do the task? Paired episodes against the original."""

from __future__ import annotations

from typing import Annotated

import typer

from edgeperf.cli.common import (
    ChunkExecOpt,
    ChunkStepsOpt,
    DbOpt,
    EnsembleMOpt,
    JsonOut,
    MarginOpt,
    NoStoreOpt,
    console,
    store_target,
    write_report,
)


def validate(
    model: Annotated[str, typer.Argument(help="The deployed artifact, e.g. policy.onnx.")],
    domain: Annotated[
        str,
        typer.Option("--domain", help="quadruped/trot, gym:Pendulum-v1, or MODULE:ID for a domain MODULE registers."),
    ],
    reference: Annotated[
        str | None, typer.Option("--reference", help="The original policy (default: the domain's bundled one).")
    ] = None,
    vecnormalize: Annotated[
        str | None,
        typer.Option(
            "--vecnormalize",
            help="The SB3 reference's VecNormalize statistics (.pkl): it sees normalised observations, as in "
            "training (read through an allowlist: nothing in the file runs).",
        ),
    ] = None,
    trust_pickle: Annotated[
        bool,
        typer.Option(
            "--trust-pickle",
            help="Load SB3 .zip policies through SB3 itself, which unpickles them and runs code from the file "
            "(custom policies, Dict or image observations).",
        ),
    ] = False,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Paired episodes.")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode (episode k: seed + k).")] = 0,
    latency: Annotated[
        float | None, typer.Option("--latency", help="Delay every deployed action by this many ms.")
    ] = None,
    latency_from: Annotated[
        str | None, typer.Option("--latency-from", help="Delay actions by the latency measured in a profile JSON.")
    ] = None,
    sweep: Annotated[
        str | None, typer.Option("--latency-sweep", help="Success rate against latency, e.g. 0,10,20,40,80 (ms).")
    ] = None,
    margin: MarginOpt = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Processes (default: one per core).")] = None,
    chunk_exec: ChunkExecOpt = None,
    chunk_steps: ChunkStepsOpt = None,
    ensemble_m: EnsembleMOpt = 0.01,
    chunk_timing: Annotated[
        str,
        typer.Option(
            "--chunk-timing",
            help="With latency: sync (the robot waits for each chunk: stalls) or async (the next chunk is computed "
            "while the current runs; its stale first actions are skipped).",
        ),
    ] = "sync",
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Validate an artifact against its original, paired episodes.

    Validate a deployed policy against the original in a paired simulator.

    Episode k of both policies uses the same seed (initial state, pushes, terrain). Reports return, success,
    falls, reliability (IQR, CVaR 5%), action divergence along the reference's trajectories, and a paired
    verdict: equivalent, different or inconclusive. Exit code 1 unless equivalent.
    """
    from edgeperf import verdict
    from edgeperf.config import ValidateConfig
    from edgeperf.pipeline import validate as run_validate
    from edgeperf.results import render
    from edgeperf.results.io import check_paths
    from edgeperf.validation.chunks import from_options
    from edgeperf.validation.latency import parse, parse_sweep

    store = store_target(db, no_store)
    check_paths(
        {"--json": json_path, "--db": store and store.path},
        {"the model": model, "--reference": reference, "--latency-from": latency_from, "--vecnormalize": vecnormalize},
    )
    cfg = ValidateConfig(
        domain=domain, reference=reference, vecnormalize=vecnormalize, trust_pickle=trust_pickle, episodes=episodes,
        seed=seed, latency=parse(latency, latency_from), sweep_ms=parse_sweep(sweep) if sweep is not None else None,
        workers=workers, margin=margin, chunking=from_options(chunk_exec, chunk_steps, ensemble_m, chunk_timing),
    ).check()  # fmt: skip
    con = console(json_path)
    with con.status(f"validating {model} on {domain} ({episodes} paired episodes)"):
        report = run_validate(model, config=cfg)
    render.validate(report, con)
    write_report(report, json_path, con, store=store)
    verdict.check(report)  # exit 1 unless equivalent
