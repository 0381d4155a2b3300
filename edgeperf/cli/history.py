"""`edgeperf history`: the runs in the run store, newest first; import report files; export a run's report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, _check_json, console
from edgeperf.errors import BadInput


def history(
    reports: Annotated[
        list[str] | None, typer.Argument(metavar="[REPORT.json]...", help="With --import: report files to record.")
    ] = None,
    model: Annotated[
        str | None, typer.Option("--model", help="Only runs of this model: a path, a file name or a sha256 prefix.")
    ] = None,
    device: Annotated[str | None, typer.Option("--device", help="Only runs on this device id.")] = None,
    schema: Annotated[
        str | None,
        typer.Option(
            "--schema", help="Only runs of this kind: profile, export, validate, measure, hil (or a schema id)."
        ),
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE|AGE", help="Only runs since 2026-11-30, or within 7d, 12h.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most N runs (0: all).")] = 50,
    json_path: Annotated[
        str | None,
        typer.Option("--json", metavar="PATH|-", callback=_check_json, help="Write the runs as JSON to PATH or '-'."),
    ] = None,
    plot_path: Annotated[
        Path | None, typer.Option("--plot", metavar="PATH.png", help="Draw the trend figure over time (plot extra).")
    ] = None,
    figure: Annotated[
        str | None, typer.Option("--figure", help="The figure --plot draws (default per kind: p99_us, success, ...).")
    ] = None,
    do_import: Annotated[
        bool, typer.Option("--import", help="Record the REPORT.json files given as arguments in the store.")
    ] = False,
    export_run: Annotated[
        str | None, typer.Option("--export", metavar="RUN", help="Write a run's report back to JSON (see -o).")
    ] = None,
    out: Annotated[str, typer.Option("-o", "--out", metavar="FILE|-", help="Where --export writes the report.")] = "-",
    db: DbOpt = None,
) -> None:
    """The runs in the run store, newest first, with trends.

    The runs in the run store, newest first, with each kind's key figures and a trend column (the change of
    the kind's main figure since the previous run of the same model, device and kind).

    Figures: profile p50, p99, miss rate, mJ/inference; export parity max error, size; validate verdict,
    success, return difference; measure energy, wall time; hil miss rate, verdict, success.

    Also: --import REPORT.json... records report files (written before the store existed, or on another
    machine); --export RUN -o FILE writes a run's report back to JSON (RUN: a run id or a unique prefix).
    """
    from edgeperf.results import history as hist
    from edgeperf.results import store as st
    from edgeperf.results.figures import FIGURES
    from edgeperf.results.io import check_paths

    path = db if db is not None else st.default_path()
    # No output onto the run store or a report being imported (each would be replaced by what this writes)
    check_paths(
        {"--json": json_path, "--plot": plot_path, "-o": out if export_run is not None else None},
        [("the run store", path), *(("a report to import", r) for r in (reports or []))],
    )
    con = console(json_path if json_path == "-" or (export_run and out == "-") else None)
    if reports and not do_import:
        raise BadInput(f"unexpected argument {reports[0]!r}: give --import to record report files")
    if do_import:
        if not reports:
            raise BadInput("--import needs report files: edgeperf history --import REPORT.json...")
        _import(path, reports, con)
        return
    if export_run is not None:
        _export(path, export_run, out)
        return
    kind = None
    if schema is not None:
        kind = schema.split(".", 1)[-1].split("/", 1)[0] if schema.startswith("edgeperf.") else schema
        if kind not in FIGURES:
            import difflib

            close = difflib.get_close_matches(kind, FIGURES, n=1)
            hint = f"; did you mean {close[0]}?" if close else ""
            raise BadInput(f"--schema {schema!r} is not a run kind ({', '.join(FIGURES)}){hint}")
    if limit < 0:
        raise BadInput(f"--limit must be 0 (all) or more, got {limit}")
    if not path.exists():
        con.print(f"no runs recorded yet: the run store {path} does not exist")
        if json_path is not None:
            _write_json([], json_path)
        return
    with st.Store.open(path, create=False) as s:
        rows = s.query(model=model, device=device, kind=kind, since=since, limit=limit or None)
    if json_path is not None:
        _write_json([r.to_dict() for r in rows], json_path)
    if json_path != "-":
        hist.table(rows, con, path)
    if plot_path is not None:
        hist.plot(rows, plot_path, figure)
        con.print(f"[dim]plot written to {plot_path}[/dim]")


def _write_json(rows: list[dict], path: str) -> None:
    import sys

    from edgeperf.results.io import atomic_write_text

    text = json.dumps({"schema": "edgeperf.history/1", "runs": rows}, indent=2) + "\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(path, text)


def _import(path: Path, reports: list[str], con) -> None:
    from edgeperf.results.report import load_report
    from edgeperf.results.store import Store

    # All or nothing: every file read and checked before the store is opened, then one transaction for them all.
    loaded = [(r, load_report(r)) for r in reports]
    with Store.open(path) as s:
        before = s.count()
        s.record_all([(report, None, f"import:{Path(name).resolve()}") for name, report in loaded])
        added = s.count() - before
    con.print(
        f"imported {added} run(s) into {path}"
        + (f" ({len(loaded) - added} already there)" if added < len(loaded) else "")
    )


def _export(path: Path, ref: str, out: str) -> None:
    import sys

    from edgeperf.results.io import atomic_write_text
    from edgeperf.results.report import Report
    from edgeperf.results.store import resolve

    run = resolve(ref, path)
    text = Report.from_dict(run.report).to_json()
    if out == "-":
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
