"""`edgeperf measure -- CMD ARGS`: energy, peak memory and wall time of any command (a training run, a
simulator, a ROS launch), with the same power sources, idle baseline and sampler as `profile`."""

from __future__ import annotations

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
    console,
    power_mode,
    store_target,
    write_report,
)

# typer/click must hand everything after the command name to the command, options included.
CONTEXT = {"allow_interspersed_args": False, "ignore_unknown_options": True}


def measure(
    command: Annotated[list[str], typer.Argument(help="The command to run and its arguments (after --).")],
    power: PowerOpt = "auto",
    no_power: NoPowerOpt = False,
    power_rate: PowerRateOpt = 10.0,
    idle: IdleOpt = 2.0,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Measure the energy, peak memory and wall time of a command.

    Peak memory is the whole process tree's; energy is above the idle baseline taken before the command starts.

    Example: edgeperf measure --json train.json -- python train.py --steps 100000. The command's own output
    goes to the terminal (to stderr when --json - puts the report on stdout). Exits 1 when the command fails,
    after writing the report.
    """
    import shutil

    from edgeperf.errors import VerdictFailed
    from edgeperf.profilers.command import measure_command
    from edgeperf.results import render
    from edgeperf.results.io import check_paths

    mode = power_mode(power, no_power)
    # The command's files (its script, its data) are inputs: the report must not overwrite them.
    found = shutil.which(command[0]) if command else None
    store = store_target(db, no_store)
    check_paths(
        {"--json": json_path, "--db": store and store.path}, [("the command's file", a) for a in [*command, found]]
    )
    con = console(json_path)
    report = measure_command(
        command,
        power=mode,
        power_rate_hz=power_rate,
        idle_s=idle,
        child_stdout_to_stderr=json_path == "-",
    )
    render.measure(report, con)
    write_report(report, json_path, con, store=store)
    code = report.results["exit_code"]
    if code != 0:
        raise VerdictFailed(f"the command exited with code {code}" + (" (report written)" if json_path else ""))
