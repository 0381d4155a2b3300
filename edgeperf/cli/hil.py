"""`edgeperf hil`: the simulator here, the policy on the robot's computer (`edgeperf serve` there), in real time."""

from __future__ import annotations

from pathlib import Path
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
    RemoteEdgeperfOpt,
    SshOptionOpt,
    console,
    host_option,
    store_target,
    write_report,
)


def hil(
    model: Annotated[
        Path | None,
        typer.Argument(help="The artifact the robot serves, here too: HIL is compared with it in pure simulation."),
    ] = None,
    domain: Annotated[str, typer.Option("--domain", help="quadruped/trot, gym:Pendulum-v1, ...")] = "",
    connect: Annotated[
        str | None, typer.Option("--connect", metavar="HOST:PORT", help="The `edgeperf serve` to drive.")
    ] = None,
    episodes: Annotated[int, typer.Option("--episodes", "-n", help="Episodes (seeds S .. S+N-1).")] = 10,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the first episode.")] = 0,
    mode: Annotated[
        str, typer.Option("--mode", help="realtime (paced at the control rate) or lockstep (waits for every action).")
    ] = "realtime",
    on_miss: Annotated[
        str, typer.Option("--on-miss", help="What a missed deadline applies: hold, zero or default.")
    ] = "hold",
    deadline: Annotated[
        float | None, typer.Option("--deadline", metavar="MS", help="Per step (default: 80% of the period).")
    ] = None,
    chunk_exec: ChunkExecOpt = None,
    chunk_steps: ChunkStepsOpt = None,
    ensemble_m: EnsembleMOpt = 0.01,
    host: host_option("Copy MODEL to this robot over ssh and serve it there.") = None,
    remote_edgeperf: RemoteEdgeperfOpt = "edgeperf",
    ssh_option: SshOptionOpt = None,
    token_file: Annotated[
        Path | None, typer.Option("--token-file", metavar="F", help="The server's shared token (mode 600).")
    ] = None,
    connect_timeout: Annotated[float, typer.Option("--connect-timeout", metavar="S", help="Handshake timeout.")] = 5.0,
    margin: MarginOpt = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
    # --- edgeperf as the robot on DDS (--bus): edgeperf/bus/ ---
    bus: Annotated[
        str | None,
        typer.Option("--bus", metavar="unitree_hg|unitree_go", help="Play the robot on DDS for your controller."),
    ] = None,
    interface: Annotated[str, typer.Option("--interface", help="--bus: the network interface.")] = "lo",
    dds_domain: Annotated[int, typer.Option("--dds-domain", metavar="N", help="--bus: the DDS domain id.")] = 0,
    realtime: Annotated[
        bool, typer.Option("--realtime", help="--bus: physics on the wall clock (else lockstep with the controller).")
    ] = False,
    reference: Annotated[
        str | None, typer.Option("--reference", metavar="SOURCE", help="--bus: the policy to run in SIL, compared.")
    ] = None,
    wait: Annotated[
        float, typer.Option("--wait", metavar="S", help="--bus: how long to wait for an episode's first command.")
    ] = 10.0,
    remote_buttons: Annotated[
        bool,
        typer.Option(
            "--remote-buttons",
            help="--bus: press the remote's start, then A, as deploy_real.py's operator does (the robot stays held "
            "until the policy's first command). Without it, physics starts with the first command with gains; "
            "zero-torque commands (kp = kd = tau = 0) keep the robot held.",
        ),
    ] = False,
) -> None:
    """Hardware in the loop: the policy over a link, or on DDS.

    Hardware in the loop: drive the policy `edgeperf serve` answers over the real link at the domain's
    control rate, count what the link does (round trip, network and inference time, clock offset, misses,
    stale replies, reconnects and gaps), and compare the task with the same artifact in pure simulation (SIL)
    on the same seeds. A policy that returns action chunks is executed as --chunk-exec says: in realtime
    asynchronously (the robot runs the current chunk while the next is in flight), in lockstep waiting for each.
    Exit code 1 unless HIL is equivalent to SIL (when MODEL is given).

    With --bus, edgeperf is the robot instead: the mujoco:SPEC domain's robot publishes unitree_sdk2's
    rt/lowstate and obeys rt/lowcmd on DDS, your controller runs as it would on the robot, and the report says
    what it did (command rate, jitter, state age, misses, gaps, refused commands) and, with --reference, the task
    against SIL with validate's verdict."""
    if bus is not None:  # --- edgeperf as the robot on DDS ---
        if model is not None or connect or host:
            from edgeperf.errors import BadInput

            raise BadInput("--bus plays the robot for your controller: give no MODEL, --connect or --host with it")
        from edgeperf.cli.hil_bus import hil_bus

        return hil_bus(domain, bus, interface=interface, dds_domain=dds_domain, episodes=episodes, seed=seed,
                       realtime=realtime, reference=reference, wait=wait, margin=margin, json_path=json_path, db=db,
                       no_store=no_store, remote_buttons=remote_buttons)  # fmt: skip
    from edgeperf import pipeline, verdict
    from edgeperf.config import HilConfig
    from edgeperf.errors import BadInput
    from edgeperf.results import io, render
    from edgeperf.validation.chunks import from_options

    if not domain:
        raise BadInput("give the simulated task with --domain ID (e.g. quadruped/trot)")
    chunking = from_options(chunk_exec, chunk_steps, ensemble_m)
    store = store_target(db, no_store)
    io.check_paths(
        {"--json": json_path, "--db": store and store.path}, {"the model": model, "--token-file": token_file}
    )
    cfg = HilConfig(
        domain=domain, connect=connect, model=model, host=host, remote_edgeperf=remote_edgeperf,
        ssh_options=ssh_option or (), token_file=token_file, connect_timeout=connect_timeout, episodes=episodes,
        seed=seed, mode=mode, on_miss=on_miss, deadline_ms=deadline, margin=margin, chunking=chunking,
    ).check()  # fmt: skip
    con = console(json_path)
    with con.status(f"hardware in the loop: {episodes} episodes of {domain} against {connect or host}"):
        report = pipeline.hil(config=cfg)
    render.hil(report, con)
    write_report(report, json_path, con, store=store)
    verdict.check(report)  # exit 1 on non-finite actions, or unless HIL is equivalent to SIL
