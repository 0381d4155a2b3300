"""What every command shares: the --json option, where human output goes, and writing the report."""

from __future__ import annotations

from typing import Annotated

import typer

JsonOut = Annotated[
    str | None,
    typer.Option("--json", metavar="PATH|-", help="Write the JSON report to PATH (atomically), or '-' for stdout."),
]


def console(json_path: str | None = None):
    """Tables go to stdout, unless stdout carries the JSON report: then they go to stderr."""
    from rich.console import Console

    return Console(stderr=json_path == "-", highlight=False)


def write_report(report, json_path: str | None, out) -> None:
    if json_path is None:
        return
    report.write(json_path)
    if json_path != "-":
        out.print(f"[dim]report written to {json_path}[/dim]")
