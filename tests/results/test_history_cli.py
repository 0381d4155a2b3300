"""The measuring commands record into the store; `edgeperf history` shows, imports and exports runs."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from edgeperf.results.report import Report
from edgeperf.results.store import Store
from tests.results.runs import export_doc, validate_doc

PROFILE = ("--iterations", "300", "--duration", "0", "--warmup", "10", "--no-power")


def test_profile_records_its_report_and_every_latency(cli, example_onnx, tmp_path):
    db, out = tmp_path / "runs.db", tmp_path / "p.json"
    r = cli("profile", example_onnx, *PROFILE, "--json", out, "--db", db)
    assert r.code == 0, r.err
    report = json.loads(out.read_text())
    assert f"recorded as run {report['run_id'][:12]}" in r.out
    with Store.open(db) as s:
        run = s.get(report["run_id"])
    assert run.report == report
    assert len(run.samples_ns) == report["results"]["latency_us"]["count"]
    # the stored samples are the report's: its p50 is their median
    assert np.percentile(run.samples_ns, 50) / 1e3 == pytest.approx(report["results"]["latency_us"]["p50"], rel=1e-6)


def test_no_store_and_the_env_switch_record_nothing(cli, example_onnx, tmp_path):
    db = tmp_path / "runs.db"
    assert cli("profile", example_onnx, *PROFILE, "--db", db, "--no-store").code == 0
    assert not db.exists()
    assert cli("profile", example_onnx, *PROFILE, env={"EDGEPERF_DB": str(db), "EDGEPERF_NO_STORE": "1"}).code == 0
    assert not db.exists()
    assert cli("profile", example_onnx, *PROFILE, env={"EDGEPERF_DB": str(db), "EDGEPERF_NO_STORE": "0"}).code == 0
    assert db.exists()


def test_a_store_locked_after_the_measurement_loses_nothing(cli, example_onnx, tmp_path):
    """The lock comes after the pre-flight check passed: the run is not lost, the exit code stays 0, one warning
    says where the report is and how to import it."""
    db = tmp_path / "runs.db"
    Store.open(db).close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the write lock (readers still pass)
    try:
        r = cli("profile", example_onnx, *PROFILE, "--db", db, env={"EDGEPERF_DB_TIMEOUT": "0.2"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert r.code == 0, r.err
    assert "warning: this run was not recorded" in r.err and "locked" in r.err
    saved = r.err.split("its report is in ")[1].split(":")[0]
    assert json.loads(Path(saved).read_text())["schema"] == "edgeperf.profile/1"
    # and it can be imported afterwards
    assert cli("history", "--import", saved, "--db", db).code == 0
    with Store.open(db) as s:
        assert s.count() == 1


def test_history_table_json_trend_import_and_export(cli, tmp_path):
    db = tmp_path / "runs.db"
    files = []
    for i, (success, when) in enumerate(((1.0, "2026-11-01"), (0.8, "2026-11-02"))):
        d = validate_doc(success=success, created_at=f"{when}T00:00:00+00:00")
        f = tmp_path / f"v{i}.json"
        f.write_text(json.dumps(d))
        files.append((f, d))
    e = tmp_path / "e.json"
    e.write_text(json.dumps(export_doc(created_at="2026-11-03T00:00:00+00:00")))
    r = cli("history", "--import", *[f for f, _ in files], e, "--db", db)
    assert r.code == 0 and "imported 3 run(s)" in r.out, r.err
    r = cli("history", "--import", e, "--db", db)
    said = " ".join(r.out.split())
    assert "imported 0 run(s)" in said and "1 already there" in said

    r = cli("history", "--db", db, "--schema", "validate")
    assert r.code == 0, r.err
    lines = [ln for ln in r.out.splitlines() if files[1][1]["run_id"][:8] in ln]
    assert len(lines) == 1 and "80%" in lines[0] and "success -20.0%" in lines[0], r.out  # the trend column
    assert "first" in next(ln for ln in r.out.splitlines() if files[0][1]["run_id"][:8] in ln)

    r = cli("history", "--db", db, "--json", "-")
    runs = json.loads(r.out)["runs"]
    assert [x["kind"] for x in runs] == ["export", "validate", "validate"]  # newest first
    assert runs[1]["figures"]["success"] == 0.8 and runs[1]["previous"]["success"] == 1.0

    out = tmp_path / "back.json"
    r = cli("history", "--export", files[0][1]["run_id"][:10], "-o", out, "--db", db)
    assert r.code == 0, r.err
    assert json.loads(out.read_text()) == json.loads(Report.from_dict(files[0][1]).to_json())


def test_history_plot_draws_a_png(cli, tmp_path):
    pytest.importorskip("matplotlib")
    db = tmp_path / "runs.db"
    with Store.open(db) as s:
        for day in (1, 2, 3):
            s.record(validate_doc(success=0.5 + day / 10, created_at=f"2026-11-0{day}T00:00:00+00:00"))
    png = tmp_path / "h.png"
    r = cli("history", "--db", db, "--plot", png)
    assert r.code == 0, r.err
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000


def test_history_of_a_store_that_does_not_exist_yet(cli, tmp_path):
    r = cli("history", "--db", tmp_path / "none.db")
    assert r.code == 0 and "no runs recorded yet" in r.out
    assert not (tmp_path / "none.db").exists()  # reading never creates the store


def test_every_measuring_command_has_the_store_options(cli):
    for command in ("export", "profile", "validate", "measure", "hil"):
        r = cli(command, "--help")
        assert "--db" in r.out and "--no-store" in r.out, command
