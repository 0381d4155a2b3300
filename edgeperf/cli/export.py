"""`edgeperf export`: a trained policy -> a deployable artifact, with parity proven."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import JsonOut, console, write_report
from edgeperf.errors import VerdictFailed


def export(
    source: Annotated[str, typer.Argument(help="The policy: a TorchScript file (.pt), or example:mlp.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The artifact to write, e.g. policy.onnx.")],
    format: Annotated[str, typer.Option("--format", help="Artifact format: onnx.")] = "onnx",
    precision: Annotated[str, typer.Option("--precision", help="Numeric precision: fp32.")] = "fp32",
    opset: Annotated[int, typer.Option("--opset", help="ONNX opset.")] = 18,
    obs_shape: Annotated[
        str | None,
        typer.Option("--obs-shape", help="Observation shape without batch, e.g. 48 (TorchScript)."),
    ] = None,
    check: Annotated[bool, typer.Option("--check/--no-check", help="Prove parity with the original.")] = True,
    json_path: JsonOut = None,
) -> None:
    """Export a policy to ONNX and prove it computes the same actions.

    One self-contained file with a dynamic batch axis and edgeperf metadata embedded; parity is checked
    against the original on random observations. Exit code 1 when parity fails.
    """
    from edgeperf.exporter.onnx import export as run_export
    from edgeperf.exporter.sources import parse_shape
    from edgeperf.results import render

    report = run_export(
        source,
        out,
        format=format,
        precision=precision,
        opset=opset,
        obs_shape=parse_shape(obs_shape),
        check=check,
    )
    con = console(json_path)
    render.export(report, con)
    write_report(report, json_path, con)
    parity = report.results.get("parity")
    if parity and not parity["passed"]:
        raise VerdictFailed(
            f"parity failed: max |error| {parity['max_abs_error']:.3g} exceeds the {report.config['precision']} "
            f"tolerance on {parity['elements_out_of_tolerance']} action values; the artifact at {out} is kept "
            "for inspection but does not compute the same actions"
        )
