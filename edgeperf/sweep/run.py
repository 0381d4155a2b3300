"""Run a sweep: the jobs whose report is not yet in OUTPUT/jobs/ go to the executor; each report is written
(atomically) the moment its job ends, so an interrupted sweep resumes where it stopped and a job done is never
redone. OUTPUT/sweep.json indexes every job: its parameters, status, report file, node and time.

The jobs come from the config's lazy grid (config.Grid, at most config.MAX_JOBS), walked once here. The index is
rewritten as jobs end, but never more often than keeps its writing under a tenth of the driver's time: a
rewrite costs O(jobs), and one per job made a large sweep quadratic. Resumption reads the job reports, not it.

Recording: `record` writes each report as a file here and records it in the run store (results/store.py) as
every other command's report is (source "sweep"); a store that fails then warns and the file stays the record.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from edgeperf.errors import BadInput
from edgeperf.results.io import atomic_write_text, read_document, short_path
from edgeperf.results.kinds import Document
from edgeperf.results.report import MAX_REPORT_BYTES, Report
from edgeperf.sweep.config import Job, Sweep

INDEX = "sweep.json"


def report_path(output: Path, job: Job) -> Path:
    return output / "jobs" / f"{job.id}.json"


def done(output: Path, job: Job) -> bool:
    """A job is done when its report is there and whole (a torn or foreign file is redone)."""
    p = report_path(output, job)
    try:  # through the one reader: a FIFO or a huge or deep file left there is redone, never read or hung on
        d = read_document(p, "sweep job report", max_bytes=MAX_REPORT_BYTES)
        Report.from_dict(d)
    except BadInput:
        return False
    config = Document.from_dict(d).config
    return config is not None and config.at("sweep_job") == job.id


def record(output: Path, job: Job, report_json: str, store=None) -> Path:
    d = json.loads(report_json)
    d.setdefault("config", {})["sweep_job"] = job.id  # ties the file to its job (resumption checks it)
    path = report_path(output, job)
    keep(path, d, store, source="sweep", what=f"job {job.id}")
    return path


def keep(path: Path, d: dict, store, *, source: str, what: str) -> None:
    """A finished job's report written (atomically) to `path` and recorded in the run store under `source`; a
    store that cannot take it is a warning: the file is the record (sweeps and plans alike)."""
    atomic_write_text(path, json.dumps(d, indent=2) + "\n")
    if store is None:
        return
    try:
        store.record(d, source=source)
    except BadInput as exc:  # locked beyond the timeout, disk full
        sys.stderr.write(
            f"edgeperf: warning: {what} was not recorded in the run store ({' '.join(str(exc).split())}); "
            f"`edgeperf history --import {path}` records it later\n"
        )


def run(sweep: Sweep, executor, on_result: Callable[[Job, dict, int, int], None] | None = None, *, store=None) -> dict:
    """Run what is not done; returns the index (also written to OUTPUT/sweep.json)."""
    out = sweep.output
    try:
        (out / "jobs").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"cannot create the sweep output {short_path(out)}: {exc.strerror or exc}") from None
    entries, todo = {}, []
    for j in sweep.jobs:  # one pass over the grid, in its order
        entry = entries[j.id] = {"id": j.id, "kind": j.kind, "params": j.params, "label": j.label}
        if done(out, j):
            entry.update(status="done", resumed=True, report=str(report_path(out, j).relative_to(out)))
        else:
            todo.append(j)
    by_id = {j.id: j for j in todo}
    index = {
        "config": str(sweep.path),
        "executor": executor.describe(),
        "jobs_total": len(entries),
        "jobs_done_before": len(entries) - len(todo),
        "jobs": list(entries.values()),
    }
    t0 = time.perf_counter()
    finished = 0
    due = 0.0  # when the index may be rewritten next
    try:
        for result in executor.run(todo, str(out)):
            job = by_id[result["id"]]
            entry = entries[job.id]
            entry.update({k: result[k] for k in ("node", "ray_node", "wall_s", "summary", "exit_code") if k in result})
            if result.get("ok"):
                entry.update(
                    status="done", resumed=False, report=str(record(out, job, result["report"], store).relative_to(out))
                )
                entry.pop("error", None)
            else:
                entry.update(status="failed", error=result.get("error", "unknown"))
            finished += 1
            if on_result is not None:
                on_result(job, entry, finished, len(todo))
            if time.perf_counter() >= due:
                t = time.perf_counter()
                _write_index(out, index, t0)
                due = t + 10 * (time.perf_counter() - t)  # writing at most a tenth of the time
    finally:
        _write_index(out, index, t0)
    return index


def _write_index(out: Path, index: dict, t0: float) -> None:
    jobs = index["jobs"]
    index["wall_s"] = time.perf_counter() - t0
    index["done"] = sum(j.get("status") == "done" for j in jobs)
    index["failed"] = sum(j.get("status") == "failed" for j in jobs)
    index["pending"] = len(jobs) - index["done"] - index["failed"]
    atomic_write_text(out / INDEX, json.dumps(index, indent=2) + "\n")
