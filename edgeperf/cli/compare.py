"""`edgeperf compare A B`: figure by figure, what changed from run A (the baseline) to run B."""

from __future__ import annotations

from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, _check_json, console
from edgeperf.errors import BadInput, VerdictFailed


def compare(
    a: Annotated[str, typer.Argument(metavar="A", help="The baseline: a run id (or unique prefix) or a report file.")],
    b: Annotated[str, typer.Argument(metavar="B", help="The run to judge: a run id (or prefix) or a report file.")],
    threshold: Annotated[
        float,
        typer.Option(
            "--threshold", metavar="PCT", help="A change within PCT percent is within noise, significant or not."
        ),
    ] = 10.0,
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression", help="Exit 1 when a figure regressed beyond the threshold.")
    ] = False,
    json_path: Annotated[
        str | None,
        typer.Option("--json", metavar="PATH|-", callback=_check_json, help="Write the comparison as JSON."),
    ] = None,
    db: DbOpt = None,
) -> None:
    """Compare run B against run A, figure by figure.

    Compare run B against run A: latency p50/p99 shifts with confidence intervals from the stored samples, miss
    rate, energy per inference and peak RSS of profiles; parity error (per action dimension) and size of exports;
    verdict, success and returns of validations.

    Each figure gets a verdict: regressed / improved when the change is both statistically significant and
    beyond --threshold (default 10%: the run-to-run drift of one machine is a few percent), else within noise.
    Runs of different models, devices or settings are compared with a note saying so; runs of different kinds
    are not compared.
    """
    import json

    from edgeperf.results import compare as cmp
    from edgeperf.results.io import atomic_write_text
    from edgeperf.results.store import resolve

    if not (0 <= threshold < 1e6):
        raise BadInput(f"--threshold must be a percentage of 0 or more, got {threshold:g}")
    from edgeperf.results.io import check_paths
    from edgeperf.results.store import default_path

    check_paths({"--json": json_path}, [("A", a), ("B", b), ("the run store", db or default_path())])
    ra, rb = resolve(a, db), resolve(b, db)
    c = cmp.compare(ra, rb, threshold=threshold / 100)
    con = console(json_path)
    cmp.render(c, con)
    if json_path is not None:
        text = json.dumps(c.to_dict(), indent=2, allow_nan=False, default=str) + "\n"
        if json_path == "-":
            typer.echo(text, nl=False)
        else:
            atomic_write_text(json_path, text)
    if fail_on_regression and c.regressions:
        what = ", ".join(f"{ln.label} {cmp._pct(ln.shift, ln.relative)}" for ln in c.regressions)
        raise VerdictFailed(f"{len(c.regressions)} figure(s) regressed beyond {threshold:g}%: {what}")
