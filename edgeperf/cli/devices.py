"""`edgeperf devices`: what this machine is and what it can measure."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from edgeperf.cli.common import console


def devices(
    as_json: Annotated[bool, typer.Option("--json", help="Print the detection result as JSON on stdout.")] = False,
) -> None:
    """Detect this machine: CPU, memory, OS, Jetson, GPUs, backends and power sources.

    Set EDGEPERF_SYSFS_ROOT to read a captured filesystem tree instead of this machine's.
    """
    from edgeperf.devices.detect import detect
    from edgeperf.results.report import schema_id

    found = detect()
    if as_json:
        typer.echo(json.dumps({"schema": schema_id("devices"), **found}, indent=2))
        return
    from edgeperf.results import render

    render.devices(found, console())
