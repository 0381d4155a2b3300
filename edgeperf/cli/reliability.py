"""`edgeperf reliability RUN...`: A2Perf's reliability across training runs (Chan et al. 2020) from the runs'
training curves."""

from __future__ import annotations

from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, JsonOut, NoStoreOpt, console, store_target, write_report


def reliability(
    runs: Annotated[
        list[str],
        typer.Argument(
            help="One per training run (seed): an SB3 monitor.csv or progress.csv, a TensorBoard event file or "
            "log directory, a step,value CSV, or a directory holding one of them. Each file once (two RUNs that "
            "are one file are refused)."
        ),
    ],
    tag: Annotated[
        str | None,
        typer.Option(
            "--tag",
            help="The curve: a TensorBoard scalar tag or progress.csv column (default rollout/ep_rew_mean), a "
            "monitor.csv column (default r), or a CSV column by its header.",
        ),
    ] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="auto (by file name), monitor, progress, tensorboard or csv.")
    ] = "auto",
    align: Annotated[
        float | None,
        typer.Option(
            "--align",
            metavar="STEPS",
            help="For the across-run figures, resample every run at multiples of STEPS first (runs logged at "
            "steps that differ, such as monitor.csv's episode ends). STEPS > 0, at most a run's span (a multiple must "
            "lie in it) and at least 1e-7 of it (at most 10,000,000 steps a run).",
        ),
    ] = None,
    json_path: JsonOut = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Reliability of a learning method across training runs.

    Reliability of a learning method across its training runs: dispersion across time, short- and long-term
    risk within each run, dispersion and risk across runs (Chan et al. 2020, as A2Perf reports them). Every
    parameter is stated in the report's config."""
    from edgeperf.analysis import curves
    from edgeperf.analysis.reliability import parameters
    from edgeperf.analysis.reliability import reliability as compute
    from edgeperf.devices.detect import host_summary
    from edgeperf.results.io import check_paths
    from edgeperf.results.report import Report

    store = store_target(db, no_store)
    check_paths({"--json": json_path, "--db": store and store.path}, [("a run", r) for r in runs])
    read = [curves.read(r, fmt, tag) for r in runs]
    results, unmeasured, warnings = compute(read, align=align)
    report = Report.new(
        "reliability",
        host_summary(),
        config={"runs": runs, "tag": tag, "format": fmt, "align": align, "parameters": parameters()},
        results=results,
        unmeasured=unmeasured,
        warnings=warnings,
    )
    con = console(json_path)
    _render(report, con)
    write_report(report, json_path, con, store=store)


METRICS = ("dispersion_across_time", "short_term_risk", "long_term_risk")


def _render(report, con) -> None:
    from rich.table import Table

    res = report.results
    t = Table(title=f"reliability across {res['n_runs']} training runs", title_justify="left")
    for col in ("run", "points", "last step", "final", "dispersion (time)", "short-term risk", "long-term risk"):
        t.add_column(col, justify="left" if col == "run" else "right")
    for r in res["runs"]:
        t.add_row(
            r["name"],
            str(r["points"]),
            f"{r['last_step']:g}",
            f"{r['final_value']:.4g}",
            *(f"{r[k]:.4g}" if k in r else "-" for k in METRICS),
        )
    con.print(t)
    across = res["across_runs"]
    if across:
        con.print(
            f"across runs ({across['shared_steps']} shared steps): dispersion (IQR, low-passed) "
            f"{across['dispersion_across_runs']:.4g} median, {across['dispersion_across_runs_at_last_shared_step']:.4g}"
            f" at step {across['last_shared_step']:g}; risk (CVaR 5% of final values) {across['risk_across_runs']:.4g}"
        )
    for k, why in report.unmeasured.items():
        con.print(f"[yellow]not computed[/yellow] {k}: {why}")
    for w in report.warnings:
        con.print(f"[yellow]warning[/yellow] {w}")
