"""`edgeperf check --budget edgeperf.toml REPORT...`: hold reports to a budget; exit 1 on any violation (CI)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, _check_json, console
from edgeperf.errors import BadInput, VerdictFailed


def check(
    reports: Annotated[
        list[str],
        typer.Argument(metavar="REPORT...", help="Report files, or run ids (or unique prefixes) in the store."),
    ],
    budget: Annotated[Path, typer.Option("--budget", "-b", metavar="FILE.toml", help="The budget (TOML).")],
    json_path: Annotated[
        str | None,
        typer.Option(
            "--json", metavar="PATH|-", callback=_check_json, help="Write every budget line's result as JSON."
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Check reports against a budget: the CI gate.

    Check reports against a budget: p99 latency at a rate, deadline miss rate, peak RSS, mJ per inference,
    parity error, a validation verdict, a minimum success rate. Prints every budget line that applies with the
    measured value and pass/fail; exits 1 when any line fails (a figure a report lacks fails its line).

    The budget: [profile], [export], [validate], [measure], [hil] sections for every report of that kind;
    [device.ID.KIND] and [model.NAME.KIND] for one device or model (NAME: file name, path or sha256 prefix).
    Keys are figure names (upper bounds: p99_us, miss_rate, peak_rss_mb, mj_per_inference,
    parity_max_abs_error, size_mb, ...), FIGURE_min (lower bounds: success_min), verdict = "equivalent";
    rate_hz (profile) is the control rate the latency lines hold at. See docs/guide/results.md for every key.
    """
    import json

    from edgeperf.results import budget as bud
    from edgeperf.results.io import atomic_write_text, check_paths
    from edgeperf.results.store import default_path, resolve

    check_paths(
        {"--json": json_path},
        [("--budget", budget), ("the run store", db or default_path()), *(("a report", r) for r in reports)],
    )
    b = bud.Budget.load(budget)
    runs = [(ref, resolve(ref, db)) for ref in reports]  # every report read before anything is judged
    results, notes = [], []
    for ref, run in runs:
        got = b.check(run.report, name=ref)
        if not got:
            notes.append(f"{ref}: no budget line applies to this {run.kind} report")
        results += got
    if not results:
        raise BadInput(f"no line of {budget} applies to these reports ({'; '.join(notes)}): nothing was checked")
    con = console(json_path)
    bud.render(results, con, notes)
    if json_path is not None:
        failed = [r for r in results if not r.passed]
        doc = {"schema": "edgeperf.check/1", "budget": str(budget), "passed": not failed,
               "lines": [r.to_dict() for r in results], "notes": notes}  # fmt: skip
        text = json.dumps(doc, indent=2, default=str) + "\n"
        if json_path == "-":
            typer.echo(text, nl=False)
        else:
            atomic_write_text(json_path, text)
    failed = [r for r in results if not r.passed]
    if failed:
        what = ", ".join(dict.fromkeys(f"{r.key}" for r in failed))
        raise VerdictFailed(f"{len(failed)} of {len(results)} budget lines failed ({what}); the table says why")
