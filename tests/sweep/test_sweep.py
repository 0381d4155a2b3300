"""Sweeps on the local process pool: the grid, resumption (a job done is not redone), failures recorded."""

from __future__ import annotations

import json

import pytest

from edgeperf.sweep import config as cfg
from edgeperf.sweep import run
from edgeperf.sweep.local import LocalPool
from tests.sweep.conftest import reliability_config


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
