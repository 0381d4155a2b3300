"""`edgeperf profile`: latency, cold start and memory of a model on this computer."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import JsonOut, console, write_report


def profile(
    model: Annotated[Path, typer.Argument(help="The model to profile, e.g. policy.onnx.")],
    backend: Annotated[str, typer.Option("--backend", help="auto or onnxruntime.")] = "auto",
    device: Annotated[
        str, typer.Option("--device", help="The target computer: auto, a catalog ID or a family (jetson).")
    ] = "auto",
    iterations: Annotated[int, typer.Option("--iterations", "-n", help="Minimum measured inferences.")] = 1000,
    duration: Annotated[float, typer.Option("--duration", help="Minimum measured seconds.")] = 5.0,
    warmup: Annotated[int, typer.Option("--warmup", help="Inferences before timing starts.")] = 100,
    threads: Annotated[int, typer.Option("--threads", help="Intra-op threads.")] = 1,
    batch: Annotated[int, typer.Option("--batch", help="Observations per inference.")] = 1,
    observations: Annotated[str, typer.Option("--observations", help="random")] = "random",
    json_path: JsonOut = None,
) -> None:
    """Measure latency, cold start and memory of a model on this computer.

    Times back-to-back single inferences (stream scenario) after a warm-up, with cold start and memory
    reported apart. The run lasts until both --iterations and --duration are met.
    """
    from rich.progress import Progress

    from edgeperf.profilers.run import profile as run_profile
    from edgeperf.results import render

    con = console(json_path)
    with Progress(console=con, transient=True) as bar:
        task = bar.add_task("profiling", total=None)
        report = run_profile(
            model,
            backend=backend,
            device=device,
            iterations=iterations,
            duration=duration,
            warmup=warmup,
            threads=threads,
            batch=batch,
            observations=observations,
            progress=lambda i, s: bar.update(task, description=f"profiling: {i} inferences, {s:.1f} s"),
        )
    render.profile(report, con)
    write_report(report, json_path, con)
