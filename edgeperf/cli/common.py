"""What every command shares: the --json option, where human output goes, writing the report and recording it in
the run store."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated

import typer

from edgeperf.errors import BadInput


def _check_json(path: str | None) -> str | None:
    # Before any measuring: a run of minutes must not end in "cannot write".
    from edgeperf.results import io

    if path == "-" and io.stdout_closed():
        raise BadInput("--json -: stdout is closed; give a file path, or run without closing stdout (>&-)")
    if path is not None and path != "-":
        io.check_writable(path)
    return path


JsonOut = Annotated[
    str | None,
    typer.Option(
        "--json",
        metavar="PATH|-",
        callback=_check_json,
        help="Write the JSON report to PATH (atomically), or '-' for stdout.",
    ),
]

# The paired verdict's margin, shared by `validate` and `hil`.
MarginOpt = Annotated[
    float | None, typer.Option("--margin", help="Equivalence margin in return units (default: the domain's).")
]

# The chunk-execution options `validate` and `hil` share (validation/chunks.py).
ChunkExecOpt = Annotated[
    str | None,
    typer.Option(
        "--chunk-exec",
        help="A policy that returns action chunks: open-loop (run k actions, then query) or ensemble "
        "(ACT's temporal ensembling: query every k steps, average overlapping chunks).",
        show_default=False,
    ),
]
ChunkStepsOpt = Annotated[
    int | None,
    typer.Option(
        "--chunk-steps",
        help="k: actions run per chunk (open-loop, default H) or steps between queries (ensemble, default 1).",
        show_default=False,
    ),
]
EnsembleMOpt = Annotated[
    float, typer.Option("--ensemble-m", help="Temporal ensembling weight m: w_i = exp(-m * i), i=0 the oldest.")
]

# The power options `profile` and `measure` share.
PowerOpt = Annotated[
    str,
    typer.Option(
        "--power",
        metavar="[auto|any|estimate|SOURCE]",
        help="Power and energy: auto (every sensor that works here), any (a sensor, else a labelled estimate), "
        "estimate (CPU time x per-core power, labelled), or sources: ina3221, rapl,battery.",
    ),
]
NoPowerOpt = Annotated[bool, typer.Option("--no-power", help="Do not sample power (no idle baseline).")]
PowerRateOpt = Annotated[float, typer.Option("--power-rate", metavar="HZ", help="Power sampling rate.")]
IdleOpt = Annotated[
    float, typer.Option("--idle", metavar="S", help="Idle baseline before measuring, subtracted from its power.")
]


def power_mode(power: str, no_power: bool) -> str:
    """The power mode `profile` and `measure` pass on: 'off' with --no-power, which contradicts any --power."""
    if not no_power:
        return power
    from typer._click.core import ParameterSource
    from typer._click.globals import get_current_context

    ctx = get_current_context(silent=True)
    if ctx is not None and ctx.get_parameter_source("power") is ParameterSource.COMMANDLINE:
        raise BadInput(f"--no-power and --power {power} contradict each other; give one of them")
    return "off"


# The --host options `profile` and `hil` share: ssh to the device, the system's OpenSSH and its config.
RemoteEdgeperfOpt = Annotated[
    str, typer.Option("--remote-edgeperf", metavar="CMD", help="The edgeperf command on --host.")
]
SshOptionOpt = Annotated[
    list[str] | None,
    typer.Option("--ssh-option", metavar="KEY=VALUE", help="Extra ssh -o option for --host (repeatable)."),
]


def host_option(what: str):
    return Annotated[str | None, typer.Option("--host", metavar="SSH_TARGET", help=what)]


def console(json_path: str | None = None):
    """Tables go to stdout, unless stdout carries the JSON report: then they go to stderr."""
    from rich.console import Console

    class _Console(Console):
        def on_broken_pipe(self) -> None:
            # rich's own exits 1; the error boundary ends a broken pipe quietly with its documented code.
            self.quiet = True
            raise BrokenPipeError

    return _Console(stderr=json_path == "-", highlight=False)


DbOpt = Annotated[
    Path | None,
    typer.Option(
        "--db",
        metavar="PATH",
        help="The run store (SQLite). Default: $EDGEPERF_DB, else $XDG_DATA_HOME/edgeperf/runs.db "
        "(~/.local/share/edgeperf/runs.db).",
    ),
]
NoStoreOpt = Annotated[
    bool, typer.Option("--no-store", help="Do not record this run in the run store (also EDGEPERF_NO_STORE=1).")
]


def store_target(db: Path | None, no_store: bool):
    """The run store a measuring command records into (None: off), opened now, before any measuring, so that a
    corrupt, foreign, newer or locked store is refused (exit 2) before a run of minutes, not after it. The
    connection stays open (it holds no lock between transactions) and write_report records through it and
    closes it: one open per command."""
    from edgeperf.results import store

    if no_store or (db is None and store.disabled_by_env()):
        return None
    opened = store.Store.open(db if db is not None else store.default_path())
    _OPEN_STORES.append(opened)
    return opened


# Stores store_target opened, closed by the CLI's boundary however the command ends (a failed command never
# reaches write_report): a connection left open outlives the command when the CLI runs inside another program.
_OPEN_STORES: list = []


def close_stores() -> None:
    while _OPEN_STORES:
        with contextlib.suppress(Exception):
            _OPEN_STORES.pop().close()


def write_report(report, json_path: str | None, out, *, store=None, samples=None) -> None:
    """Write the report to --json (if given), then record it (and a profile's latencies in ns) in the run store.

    A store that fails only now (locked beyond the timeout, disk full) does not lose the measurement and does not
    change the exit code: one warning line on stderr says where the report is (the --json file, else a file
    beside the store) and how to import it later."""
    if json_path is not None:
        report.write(json_path)
        if json_path != "-":
            out.print(f"[dim]report written to {json_path}[/dim]")
    if store is None:
        return
    try:
        with store:
            store.record(report, samples)
    except BadInput as exc:
        saved = json_path if json_path not in (None, "-") else _rescue(report, store.path)
        sys.stderr.write(
            f"edgeperf: warning: this run was not recorded in the run store ({' '.join(str(exc).split())}); "
            + (
                f"its report is in {saved}: `edgeperf history --import {saved}` records it later\n"
                if saved
                else "and its report could not be saved anywhere either\n"
            )
        )
        return
    out.print(f"[dim]recorded as run {report.run_id[:12]} in {store.path}[/dim]")


def _rescue(report, store: Path) -> str | None:
    """Save a report that could not be recorded beside the store (else in the temp folder); its path, or None."""
    import tempfile

    from edgeperf.results.io import atomic_write_text

    for folder in (store.parent / "unrecorded", Path(tempfile.gettempdir()) / "edgeperf-unrecorded"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{report.run_id}.json"
            atomic_write_text(path, report.to_json())
            return str(path)
        except (OSError, BadInput):
            continue
    return None
