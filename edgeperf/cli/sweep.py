"""`edgeperf sweep CONFIG.toml`: a grid of validate/profile/export/reliability jobs on a local process pool or
a Ray cluster; resumable."""

from __future__ import annotations

from typing import Annotated

import typer

from edgeperf.cli.common import DbOpt, NoStoreOpt, console, store_target


def sweep(
    config: Annotated[str, typer.Argument(help="The sweep's TOML file (tables and keys: docs/guide/many-runs.md).")],
    executor: Annotated[str, typer.Option("--executor", help="local (a process pool) or ray.")] = "local",
    address: Annotated[
        str | None,
        typer.Option("--address", metavar="HOST:PORT", help="The Ray head (default: start a local Ray instance)."),
    ] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help="Local pool size (default: the config's, else one per core).")
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Output folder (default: the config's).")] = None,
    db: DbOpt = None,
    no_store: NoStoreOpt = False,
) -> None:
    """Run a grid of jobs on a process pool or Ray, resumably.

    Run every job of a sweep (the product of the config's lists) and write one report per job under the output
    folder's jobs/, with an index in sweep.json; each report is also recorded in the run store. A job whose report
    is there already is not run again: re-run the same command to resume. Exit code 1 when a job failed (after
    every other job ran)."""
    from pathlib import Path

    from edgeperf.errors import BadInput, VerdictFailed
    from edgeperf.sweep import config as cfg
    from edgeperf.sweep import run
    from edgeperf.sweep.local import check_workers

    if executor not in ("local", "ray"):
        raise BadInput(f"--executor {executor}: expected local or ray")
    if address is not None and executor != "ray":
        raise BadInput("--address is the Ray head's: give --executor ray with it")
    check_workers(workers, "--workers")
    spec = cfg.load(config)
    if executor == "local" and workers is None:
        check_workers(spec.workers, f"{config}: [sweep] workers")  # the same bounds as --workers
    if output is not None:
        spec.output = Path(output)
    store = store_target(db, no_store)  # opened before any job: a broken store is refused now, not after hours
    try:
        index = _run(spec, executor, address, workers, store, run)
    finally:
        if store is not None:
            store.close()
    con = console()
    con.print(
        f"{index['done']} done, {index['failed']} failed in {index['wall_s']:.1f} s; index: {spec.output / run.INDEX}"
    )
    if index["failed"]:
        raise VerdictFailed(f"{index['failed']} of {index['jobs_total']} jobs failed; see {spec.output / run.INDEX}")


def _run(spec, executor, address, workers, store, run) -> dict:
    if executor == "ray":
        from edgeperf.sweep.ray_cluster import RayCluster

        ex = RayCluster(address)
    else:
        from edgeperf.sweep.local import LocalPool

        ex = LocalPool(workers or spec.workers)
    con = console()

    def progress(job, entry, k, n) -> None:
        mark = "[green]done[/green]" if entry["status"] == "done" else "[red]FAILED[/red]"
        what = entry.get("summary") if entry["status"] == "done" else entry.get("error")
        wall = f" {entry['wall_s']:.1f} s" if "wall_s" in entry else ""
        con.print(f"[{k}/{n}] {mark} {job.label}: {what}{wall}", soft_wrap=True)

    try:
        before = sum(run.done(spec.output, j) for j in spec.jobs)
        con.print(
            f"sweep {spec.path.name}: {len(spec.jobs)} jobs, {before} done before, {len(spec.jobs) - before} to run "
            f"on {ex.describe()['executor']} -> {spec.output}"
        )
        return run.run(spec, ex, progress, store=store)
    finally:
        ex.close()
