"""Sweeps on the local process pool: the grid, resumption (a job done is not redone), failures recorded."""

from __future__ import annotations

import hashlib
import itertools
import json
from pathlib import Path

import pytest

from edgeperf.sweep import config as cfg
from edgeperf.sweep import run
from edgeperf.sweep.local import LocalPool
from tests.sweep.conftest import reliability_config

FIXTURES = Path(__file__).parent.parent / "fixtures" / "reports"


def test_the_grid_is_the_product_of_the_lists(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(
        '[validate]\nmodels = ["a.onnx", "b.onnx"]\ndomains = ["gym:Pendulum-v1", "quadruped/trot"]\n'
        "latencies_ms = [0, 10, 20]\nseeds = [0, 100]\nepisodes = 4\n"
        '[profile]\nmodels = ["a.onnx"]\ndevices = ["jetson-orin-nano", "generic-x86_64"]\n'
    )
    sweep = cfg.load(p)
    validate = [j for j in sweep.jobs if j.kind == "validate"]
    assert len(validate) == 2 * 2 * 3 * 2 and all(j.params["episodes"] == 4 for j in validate)
    assert validate[0].params["model"] == str(tmp_path / "a.onnx")  # relative to the config
    assert len({j.id for j in sweep.jobs}) == len(sweep.jobs) == 26
    profile = [j for j in sweep.jobs if j.kind == "profile"]
    assert [j.resources() for j in profile] == [{"jetson-orin-nano": 1}, {"generic-x86_64": 1}]
    assert validate[0].resources() == {}
    assert sweep.output == tmp_path / "s-out"
    assert [j.id for j in cfg.load(p).jobs] == [j.id for j in sweep.jobs]  # stable: the key of resumption


GRID = (
    '[validate]\nmodels = ["a.onnx", "b.onnx"]\ndomains = ["gym:Pendulum-v1", "quadruped/trot"]\n'
    'latencies_ms = [0, 10, 20]\nseeds = [0, 100]\nepisodes = 4\nreference = "reference:gym:Pendulum-v1"\n'
    '[profile]\nmodels = ["a.onnx"]\ndevices = ["jetson-orin-nano", "generic-x86_64"]\niterations = 50\n'
    '[export]\nsources = ["a.pt"]\n'
)


def _expected(base) -> list[tuple[str, dict]]:
    """The grid as it was made before it became lazy: itertools.product over each table's lists, in the order
    the tables and lists are documented, then the table's other keys. Ids (the key of resumption) follow."""
    out = []
    lists = (["a.onnx", "b.onnx"], ["gym:Pendulum-v1", "quadruped/trot"], [0, 10, 20], [0, 100])
    for a, d, lat, s in itertools.product(*lists):
        out.append(("validate", {"model": str(base / a), "domain": d, "latency_ms": lat, "seed": s, "episodes": 4,
                                 "reference": "reference:gym:Pendulum-v1"}))  # fmt: skip
    for m, dev in itertools.product(["a.onnx"], ["jetson-orin-nano", "generic-x86_64"]):
        out.append(("profile", {"model": str(base / m), "device": dev, "iterations": 50}))
    out.append(("export", {"source": str(base / "a.pt")}))
    return out


def test_the_lazy_grid_is_the_same_jobs_in_the_same_order(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GRID)
    jobs = cfg.load(p).jobs
    want = _expected(tmp_path)
    got = list(jobs)
    assert [(j.kind, j.params) for j in got] == want
    assert [list(j.params) for j in got] == [list(w) for _, w in want]  # key order too (labels, the index)
    ids = [f"{k}-{hashlib.sha256(json.dumps([k, w], sort_keys=True).encode()).hexdigest()[:12]}" for k, w in want]
    assert [j.id for j in got] == ids
    assert len(jobs) == len(want) == 27
    assert [jobs[k] for k in range(len(jobs))] == got  # made by index as by iteration
    assert jobs[-1] == got[-1] and jobs[3:7] == got[3:7]
    with pytest.raises(IndexError):
        jobs[27]


def test_a_normal_sweep_runs_the_same_jobs_in_the_same_order(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(GRID)

    class Recorder:
        """An executor that runs nothing: it records what it is given, in order, and fails each job."""

        def __init__(self):
            self.seen = []

        def describe(self):
            return {"executor": "recorder"}

        def run(self, todo, output):
            for j in todo:
                self.seen.append(j.id)
                yield {"id": j.id, "ok": False, "error": "not run"}

    ex = Recorder()
    index = run.run(cfg.load(p), ex)
    want = [j.id for j in cfg.load(p).jobs]
    assert ex.seen == want and [j["id"] for j in index["jobs"]] == want
    assert index["jobs_total"] == 27 and index["failed"] == 27


def test_the_index_of_a_large_sweep_is_not_rewritten_per_job(tmp_path, monkeypatch):
    """Rewriting sweep.json (every job) as each job ended made a sweep quadratic: 100,000 jobs wrote ~3 TB, and
    these 2,000 instant jobs took 72 s here (0.4 s now)."""
    p = tmp_path / "s.toml"
    p.write_text(f'[validate]\nmodels = ["a.onnx"]\ndomains = ["x"]\nseeds = {list(range(2000))}\n')
    writes = []
    write = run._write_index
    monkeypatch.setattr(run, "_write_index", lambda *a: (writes.append(1), write(*a)))

    class Instant:
        def describe(self):
            return {"executor": "instant"}

        def run(self, todo, output):
            for j in todo:
                yield {"id": j.id, "ok": False, "error": "not run"}

    index = run.run(cfg.load(p), Instant())
    assert len(writes) < 200, len(writes)  # one per job before
    on_disk = json.loads((tmp_path / "s-out" / "sweep.json").read_text())
    assert on_disk["failed"] == 2000 and on_disk["jobs"] == index["jobs"]  # the last write is whole


def test_resume_does_not_redo_a_done_job(tmp_path, curves_dir):
    sweep = cfg.load(reliability_config(tmp_path / "s.toml", curves_dir))
    index = run.run(sweep, LocalPool(1))
    assert index["done"] == 3 and index["failed"] == 0
    reports = {j.id: run.report_path(sweep.output, j) for j in sweep.jobs}
    doc = json.loads(next(iter(reports.values())).read_text())
    assert doc["schema"] == "edgeperf.reliability/1" and doc["config"]["sweep_job"] in reports
    stamps = {k: p.stat().st_mtime_ns for k, p in reports.items()}

    # One report torn (a crash mid-copy): only that job runs again.
    torn = sweep.jobs[1]
    reports[torn.id].write_text('{"schema": "edgeperf.reli')
    seen = []
    index = run.run(cfg.load(tmp_path / "s.toml"), LocalPool(1), lambda job, e, k, n: seen.append(job.id))
    assert seen == [torn.id]
    assert index["jobs_done_before"] == 2 and index["done"] == 3
    for k, p in reports.items():
        assert (p.stat().st_mtime_ns == stamps[k]) == (k != torn.id)
    on_disk = json.loads((sweep.output / "sweep.json").read_text())
    assert sorted(j["status"] for j in on_disk["jobs"]) == ["done"] * 3


def test_a_failed_job_is_recorded_and_the_others_run(tmp_path, curves_dir, cli):
    (curves_dir / "sac" / "s1.csv").write_text("step,value\n0,1\n0,2\n")  # steps that do not increase
    config = reliability_config(tmp_path / "s.toml", curves_dir)
    r = cli("sweep", config)
    assert r.code == 1
    assert "1 of 3 jobs failed" in r.err
    index = json.loads((tmp_path / "s-out" / "sweep.json").read_text())
    failed = [j for j in index["jobs"] if j["status"] == "failed"]
    assert len(failed) == 1 and "steps must increase" in failed[0]["error"] and failed[0]["exit_code"] == 2
    assert index["done"] == 2
    # Fixed, the same command runs only the failed job.
    (curves_dir / "sac" / "s1.csv").write_text("step,value\n0,1\n10,2\n20,1.5\n")
    r = cli("sweep", config)
    assert r.code == 0, r.err
    assert "2 done before, 1 to run" in " ".join(r.out.split())


@pytest.mark.slow  # spawned workers that load torch: ~30 s here
def test_validate_jobs_run_in_the_pool(tmp_path, cli):
    pytest.importorskip("gymnasium")
    p = tmp_path / "v.toml"
    p.write_text(
        '[validate]\nmodels = ["reference:gym:Pendulum-v1"]\ndomains = ["gym:Pendulum-v1"]\nseeds = [0, 7]\n'
        "episodes = 2\n"
    )
    r = cli("sweep", p, "--workers", "2")
    assert r.code == 0, r.err
    index = json.loads((tmp_path / "v-out" / "sweep.json").read_text())
    for j in index["jobs"]:
        doc = json.loads((tmp_path / "v-out" / j["report"]).read_text())
        assert doc["schema"] == "edgeperf.validate/1"
        assert doc["config"]["seed"] == j["params"]["seed"]
        assert doc["results"]["paired"]["verdict"] == "equivalent"  # the reference against itself


def test_sweep_reports_are_recorded_in_the_run_store(tmp_path, curves_dir, cli):
    from edgeperf.results.store import Store

    db = tmp_path / "runs.db"
    config = reliability_config(tmp_path / "s.toml", curves_dir)
    assert cli("sweep", config, "--db", db).code == 0
    index = json.loads((tmp_path / "s-out" / "sweep.json").read_text())
    with Store.open(db) as store:
        assert store.count() == 3
        for j in index["jobs"]:
            run_id = json.loads((tmp_path / "s-out" / j["report"]).read_text())["run_id"]
            assert store.get(run_id).kind == "reliability"
    # Resumed, nothing runs and nothing is recorded twice.
    assert cli("sweep", config, "--db", db).code == 0
    with Store.open(db) as store:
        assert store.count() == 3


def test_a_locked_store_leaves_the_report_file_and_says_how_to_import_it(tmp_path, monkeypatch, capsys):
    """run.keep (sweeps' and plans' steps): the store's lock outlasting its timeout is a warning, not a lost
    report."""
    import sqlite3

    from edgeperf.results.store import Store

    monkeypatch.setenv("EDGEPERF_DB_TIMEOUT", "0.2")
    db = tmp_path / "runs.db"
    store = Store.open(db)
    doc = json.loads((FIXTURES / "profile.json").read_text())
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock
    try:
        run.keep(tmp_path / "r.json", doc, store, source="plan", what="plan step s1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert json.loads((tmp_path / "r.json").read_text()) == doc
    err = capsys.readouterr().err
    assert "plan step s1 was not recorded in the run store" in err and "history --import" in err
    run.keep(tmp_path / "r.json", doc, store, source="plan", what="plan step s1")  # unlocked: recorded
    assert len(store.query()) == 1
