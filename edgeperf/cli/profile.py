"""`edgeperf profile`: latency under a control-loop deadline, cold start and memory of a model on this
computer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import (
    DbOpt,
    IdleOpt,
    JsonOut,
    NoPowerOpt,
    NoStoreOpt,
    PowerOpt,
    PowerRateOpt,
    RemoteEdgeperfOpt,
    SshOptionOpt,
    console,
    host_option,
    power_mode,
    store_target,
    write_report,
)


def profile(
    model: Annotated[str, typer.Argument(help="The model: policy.onnx, policy.xml (OpenVINO), a TorchScript .pt.")],
    backend: Annotated[str, typer.Option("--backend", help="auto, onnxruntime, openvino or torch.")] = "auto",
    device: Annotated[
        str, typer.Option("--device", help="The target computer: auto, a catalog ID or a family (jetson).")
    ] = "auto",
    accelerator: Annotated[
        str, typer.Option("--accelerator", help="Where the backend runs: auto, cpu, cuda (onnxruntime: tensorrt).")
    ] = "auto",
    rate: Annotated[
        float | None, typer.Option("--rate", help="Control rate in Hz: a periodic run with deadlines.")
    ] = None,
    deadline: Annotated[
        float | None, typer.Option("--deadline", help="Deadline in ms after each release (default: the period).")
    ] = None,
    iterations: Annotated[int, typer.Option("--iterations", "-n", help="Minimum measured inferences.")] = 1000,
    duration: Annotated[float, typer.Option("--duration", help="Minimum measured seconds.")] = 5.0,
    warmup: Annotated[int, typer.Option("--warmup", help="Inferences before timing starts.")] = 100,
    threads: Annotated[int, typer.Option("--threads", help="Intra-op threads.")] = 1,
    batch: Annotated[int, typer.Option("--batch", help="Observations per inference.")] = 1,
    shape: Annotated[
        str | None, typer.Option("--shape", help="Observation shape for dynamic inputs, without batch: 48.")
    ] = None,
    observations: Annotated[
        str, typer.Option("--observations", help="random, or domain:ID: the model's own observations in a domain.")
    ] = "random",
    stress: Annotated[int, typer.Option("--stress", help="Co-runner processes that each keep a core busy.")] = 0,
    chunk_steps: Annotated[
        int | None,
        typer.Option(
            "--chunk-steps",
            help="A policy that returns action chunks [H, A], run k steps per chunk: report the latency per chunk "
            "against its budget of k control periods (--rate, or the artifact's control rate).",
            show_default=False,
        ),
    ] = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", metavar="PATH", help="Write every inference's timings as CSV.")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", metavar="PATH", help="Write a latency plot (PNG; the plot extra).")
    ] = None,
    power: PowerOpt = "auto",
    no_power: NoPowerOpt = False,
    power_rate: PowerRateOpt = 10.0,
    idle: IdleOpt = 2.0,
    host: host_option("Profile on this device over ssh: user@robot or an alias.") = None,
    remote_edgeperf: RemoteEdgeperfOpt = "edgeperf",
    ssh_option: SshOptionOpt = None,
    connect_timeout: Annotated[
        float, typer.Option("--connect-timeout", metavar="S", help="ssh connect and handshake timeout.")
    ] = 10.0,
) -> None:
    """Measure latency, deadline misses, memory and energy here.

    Measure latency, deadline misses, cold start and memory of a model on this computer.

    Without --rate: back-to-back single inferences (stream). With --rate HZ: a fixed-rate control loop with
    absolute deadlines (periodic), reporting misses, miss streaks, lateness and jitter. Warm-up and cold
    start are reported apart; the run lasts until both --iterations and --duration are met.

    Power: a background sampler (--power-rate) after an idle baseline (--idle) gives idle and active watts
    and energy per inference above idle over exactly the measured window, per rail and total; thermal zones,
    clocks and throttling are reported beside it. With --host the model is copied to the device over ssh,
    profiled there, and the report comes back here.
    """
    from rich.progress import Progress

    from edgeperf.config import ProfileConfig
    from edgeperf.pipeline import open_policy
    from edgeperf.profilers.run import run_profile
    from edgeperf.results import render
    from edgeperf.results.io import check_paths
    from edgeperf.runtime.session import parse_shape

    store = store_target(db, no_store)
    check_paths(
        {"--json": json_path, "--db": store and store.path, "--csv": csv_path, "--plot": plot_path},
        {"the model": model},
    )
    cfg = ProfileConfig(
        backend=backend, device=device, accelerator=accelerator, rate=rate, deadline_ms=deadline,
        iterations=iterations, duration=duration, warmup=warmup, threads=threads, batch=batch,
        shape=parse_shape(shape, option="--shape"), observations=observations, stress=stress,
        power=power_mode(power, no_power), power_rate_hz=power_rate, idle_s=idle, chunk_steps=chunk_steps,
    ).check(this_machine=host is None)  # fmt: skip
    con = console(json_path)
    if host is not None:
        _profile_remote(
            host, model, cfg, con, json_path=json_path, csv_path=csv_path, plot_path=plot_path, store=store,
            remote_edgeperf=remote_edgeperf, ssh_options=ssh_option or [], connect_timeout=connect_timeout,
        )  # fmt: skip
        return
    if plot_path:
        from edgeperf.results.plots import check_plot

        check_plot(plot_path)  # before measuring, not after
    with Progress(console=con, transient=True) as bar:
        task = bar.add_task("profiling", total=None)
        done = run_profile(
            model,
            cfg,
            opener=open_policy,
            progress=lambda i, s: bar.update(task, description=f"profiling: {i} inferences, {s:.1f} s"),
            csv=csv_path,
        )
    report = done.report
    render.profile(report, con)
    if csv_path:
        con.print(f"[dim]timings written to {csv_path}[/dim]")
    if plot_path:
        from edgeperf.results.plots import latency_plot

        latency_plot(plot_path, done.run, report)
        con.print(f"[dim]plot written to {plot_path}[/dim]")
    write_report(report, json_path, con, store=store, samples=_samples(done.run))


def _samples(run):
    """Every inference's latency in ns for the run store; None past the exact buffer (percentiles only)."""
    try:
        return run.samples_ns
    except ValueError:
        return None


def _profile_remote(host, model, cfg, con, *, json_path, csv_path, plot_path, store, **ssh) -> None:
    from edgeperf import pipeline
    from edgeperf.results import render
    from edgeperf.results.io import atomic_write_bytes

    with con.status(f"profiling on {host} over ssh"):
        done = pipeline.profile_remote(host, model, cfg, csv=bool(csv_path), plot=bool(plot_path), **ssh)
    render.profile(done.report, con)
    for path, name in ((csv_path, "timings.csv"), (plot_path, "latency.png")):
        if path and name in done.files:
            atomic_write_bytes(Path(path), done.files[name])
            con.print(f"[dim]{name.split('.')[0]} written to {path}[/dim]")
    write_report(done.report, json_path, con, store=store)  # no samples: the report came back alone
