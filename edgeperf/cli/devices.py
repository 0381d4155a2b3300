"""`edgeperf devices`: what this machine is and what it can measure; `--list`: the device catalog."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from edgeperf.cli.common import console


def devices(
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON on stdout.")] = False,
    as_list: Annotated[
        bool,
        typer.Option("--list", help="Show the catalog of target computers (with each figure's public source)."),
    ] = False,
) -> None:
    """This machine: CPU, memory, Jetson, GPUs, backends, sensors.

    Detects the CPU, memory, OS, a Jetson, NVIDIA GPUs, the installed backends and every power source.

    With --list: the catalog of target computers edgeperf knows (Jetson family, Raspberry Pi 5, quadruped
    onboard computers, generic x86_64/aarch64): architecture, cores, memory, accelerators, expected power
    sources and rails, preferred backends and precisions, per-core power for estimates, control rates.
    Set EDGEPERF_SYSFS_ROOT to read a captured filesystem tree instead of this machine's.
    """
    from edgeperf.results import render
    from edgeperf.results.report import schema_id

    if as_list:
        from edgeperf.devices.catalog import CATALOG

        entries = [d.to_dict() for d in CATALOG]
        if as_json:
            typer.echo(json.dumps({"schema": schema_id("devices"), "catalog": entries}, indent=2))
            return
        render.catalog(CATALOG, console())
        return
    from edgeperf.devices.detect import detect
    from edgeperf.profilers import power

    found = {**detect(), **power.summary()}
    if as_json:
        typer.echo(json.dumps({"schema": schema_id("devices"), **found}, indent=2))
        return
    render.devices(found, console())
