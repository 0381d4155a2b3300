"""`edgeperf profile`: latency under a control-loop deadline, cold start and memory of a model on this
computer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import JsonOut, console, write_report


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
    observations: Annotated[str, typer.Option("--observations", help="random")] = "random",
    stress: Annotated[int, typer.Option("--stress", help="Co-runner processes that each keep a core busy.")] = 0,
    json_path: JsonOut = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", metavar="PATH", help="Write every inference's timings as CSV.")
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", metavar="PATH", help="Write a latency plot (PNG; the plot extra).")
    ] = None,
) -> None:
    """Measure latency, deadline misses, cold start and memory of a model on this computer.

    Without --rate: back-to-back single inferences (stream). With --rate HZ: a fixed-rate control loop with
    absolute deadlines (periodic), reporting misses, miss streaks, lateness and jitter. Warm-up and cold
    start are reported apart; the run lasts until both --iterations and --duration are met.
    """
    from rich.progress import Progress

    from edgeperf.profilers.run import run_profile
    from edgeperf.results import render
    from edgeperf.runtime.session import parse_shape

    dims = parse_shape(shape, option="--shape")
    con = console(json_path)
    with Progress(console=con, transient=True) as bar:
        task = bar.add_task("profiling", total=None)
        done = run_profile(
            model,
            backend=backend,
            device=device,
            accelerator=accelerator,
            rate=rate,
            deadline_ms=deadline,
            iterations=iterations,
            duration=duration,
            warmup=warmup,
            threads=threads,
            batch=batch,
            shape=dims,
            observations=observations,
            stress=stress,
            progress=lambda i, s: bar.update(task, description=f"profiling: {i} inferences, {s:.1f} s"),
        )
    report = done.report
    render.profile(report, con)
    if csv_path:
        from edgeperf.results.timings import write_csv

        write_csv(csv_path, done.run, deadline_ns=_deadline_ns(report))
        con.print(f"[dim]timings written to {csv_path}[/dim]")
    if plot_path:
        from edgeperf.results.plots import latency_plot

        latency_plot(plot_path, done.run, report)
        con.print(f"[dim]plot written to {plot_path}[/dim]")
    write_report(report, json_path, con)


def _deadline_ns(report) -> int | None:
    d = report.results.get("deadline")
    return round(d["deadline_us"] * 1e3) if d else None
