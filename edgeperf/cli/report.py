"""`edgeperf report RUN... -o report.html`: one self-contained HTML page of runs (edgeperf.results.html)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt


def load_run(ref: str, db: Path | None = None):
    """One RUN of the command line as a results.html.Run: a run id (or a unique prefix) in the run store, with the
    raw timings it was recorded with, or a report file (with the store's timings when that run is recorded)."""
    from edgeperf.results.html import Run
    from edgeperf.results.io import read_document
    from edgeperf.results.report import MAX_REPORT_BYTES, load_report
    from edgeperf.results.store import resolve

    path = Path(ref)  # Path('') is '.': an empty RUN is no directory, the store says what it is
    if ref and not path.is_file() and (path.suffix.lower() == ".json" or "/" in ref or path.exists()):
        load_report(path)  # a file RUN that is missing or not a file: say so, not that the run store is empty
    stored = resolve(ref, db)
    if path.is_file():
        # The document as written (a `devices --json` document is not a measuring envelope: keep all of it).
        return Run(read_document(path, "report", max_bytes=MAX_REPORT_BYTES), stored.samples_ns, source=ref)
    return Run(stored.report, stored.samples_ns, source=f"run {stored.run_id} of the run store")


def report(
    runs: Annotated[
        list[str],
        typer.Argument(metavar="RUN...", help="Run ids (or unique prefixes) in the run store, or report files."),
    ],
    out: Annotated[str, typer.Option("-o", "--out", metavar="PATH|-", help="The HTML file to write, '-': stdout.")],
    timings: Annotated[
        list[str] | None,
        typer.Option(
            "--timings",
            metavar="CSV",
            help="The `profile --csv` file of a profile RUN (repeatable: one per profile RUN, in their order); "
            "adds the histogram and the timeline drawn from every inference.",
        ),
    ] = None,
    title: Annotated[str | None, typer.Option("--title", help="The page's title.")] = None,
    db: DbOpt = None,
) -> None:
    """Write one self-contained HTML page of one or more runs.

    The page loads nothing from the network: styles and charts are inline.

    Per run: the headline figures, the latency distribution and timeline with the deadline (profile), the power
    per rail, the parity error per action dimension (export), the paired returns and the latency sweep
    (validate), the link and SIL-vs-HIL figures (hil), the host, every warning and every unmeasured figure with
    its reason. A chart drawn from a report's percentiles instead of raw samples says so.
    """
    import sys

    from edgeperf.cli.common import console
    from edgeperf.errors import BadInput
    from edgeperf.results import figures, html, io
    from edgeperf.results.timings import read_timings

    timings = timings or []
    if out == "-" and io.stdout_closed():
        raise BadInput("-o -: stdout is closed; give a file path")
    inputs = [("RUN", r) for r in runs if Path(r).is_file()] + [("--timings", t) for t in timings]
    io.check_paths({"-o": out}, [*inputs, ("--db", db)])
    loaded = [load_run(r, db) for r in runs]
    profiles = [r for r in loaded if html.kind_of(r.report) == "profile"]
    if len(timings) > len(profiles):
        raise BadInput(
            f"{len(timings)} --timings files for {len(profiles)} profile RUNs: give at most one per profile, in order"
        )
    for run, path in zip(profiles, timings, strict=False):
        t = read_timings(path)
        counted = figures.walk(figures.document(run.report).results, "latency_us", "count")
        if counted is not None and len(t.latency_ns) != counted:
            raise BadInput(
                f"--timings {path} has {len(t.latency_ns)} inferences but {run.source} counted {counted}: is it that "
                "run's `profile --csv` file?"
            )
        run.samples_ns, run.start_ns, run.response_ns = t.latency_ns, t.start_ns, t.response_ns
    page = html.render(loaded, title=title)
    if out == "-":
        sys.stdout.write(page)
        sys.stdout.flush()
        return
    io.atomic_write_text(out, page)
    console().print(f"report of {len(loaded)} run(s) written to {out} ({len(page.encode()) / 1024:.0f} KiB)")
