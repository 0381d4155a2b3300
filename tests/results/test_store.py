"""The run store: recording, reading, querying, resolving; the schema version; concurrent writers; kill -9."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.results import store as st
from edgeperf.results.store import Store
from tests.results.runs import doc, export_doc, profiled, validate_doc


@pytest.fixture
def db(tmp_path):
    return tmp_path / "runs.db"


def test_a_profile_and_its_samples_come_back_exactly(db):
    done = profiled(n=1500)
    samples = done.run.samples_ns
    with Store.open(db) as s:
        run_id = s.record(done.report, samples)
        got = s.get(run_id)
    assert got.report == json.loads(done.report.to_json())
    assert got.samples_ns.dtype == np.int64 and np.array_equal(got.samples_ns, samples)
    assert got.kind == "profile"


def test_samples_beyond_uint32_are_kept_as_int64(db):
    x = np.array([5, 2**33, 7], np.int64)  # a 8.6 s inference does not wrap around
    with Store.open(db) as s:
        run_id = s.record(doc("profile", {"latency_us": {"p50": 1.0, "p99": 2.0}}), x)
        assert np.array_equal(s.samples(run_id), x)


def test_schema_version_application_id_and_wal(db):
    Store.open(db).close()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == st.VERSION == len(st.MIGRATIONS)
    assert conn.execute("PRAGMA application_id").fetchone()[0] == st.APPLICATION_ID
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_recording_the_same_run_twice_is_a_no_op_and_a_changed_one_refused(db):
    d = export_doc()
    with Store.open(db) as s:
        assert s.record(d) == s.record(d) == d["run_id"]
        assert s.count() == 1
        d["results"]["size_bytes"] += 1
        with pytest.raises(BadInput, match="already recorded with a different report"):
            s.record(d)


def test_query_filters_newest_first_and_the_trend_follows_a_series(db):
    a = doc("profile", {"latency_us": {"p50": 10.0, "p99": 20.0}}, created_at="2026-11-01T00:00:00+00:00")
    b = doc("profile", {"latency_us": {"p50": 11.0, "p99": 30.0}}, created_at="2026-11-02T00:00:00+00:00")
    other_device = doc("profile", {"latency_us": {"p50": 1.0, "p99": 2.0}}, device="jetson-orin-nano",
                       created_at="2026-11-03T00:00:00+00:00")  # fmt: skip
    other_model = export_doc(model="other.onnx", sha="cd" * 32, created_at="2026-11-04T00:00:00+00:00")
    with Store.open(db) as s:
        for d in (b, a, other_device, other_model):  # recording order is not time order
            s.record(d)
        rows = s.query()
        assert [r.run_id for r in rows] == [other_model["run_id"], other_device["run_id"], b["run_id"], a["run_id"]]
        # the previous run of the same model, device and kind: b follows a; the Jetson run starts its own series
        prev = {r.run_id: r.previous_id for r in rows}
        assert prev[b["run_id"]] == a["run_id"] and prev[a["run_id"]] is None and prev[other_device["run_id"]] is None
        assert [r.run_id for r in s.query(device="jetson-orin-nano")] == [other_device["run_id"]]
        assert {r.run_id for r in s.query(model="other.onnx")} == {other_model["run_id"]}
        assert {r.run_id for r in s.query(model="cdcdcdcd")} == {other_model["run_id"]}  # a sha256 prefix
        assert s.query(model="%%%%%%") == [] and s.query(model="______") == []  # no SQL wildcards
        assert {r.kind for r in s.query(kind="profile")} == {"profile"}
        assert {r.kind for r in s.query(kind="edgeperf.export/1")} == {"export"}
        assert [r.run_id for r in s.query(since="2026-11-02")] == [r.run_id for r in rows[:3]]
        assert len(s.query(limit=2)) == 2
        # the filters do not cut a series: b's previous run is found although --since excludes it
        assert s.query(since="2026-11-02", kind="profile", device="generic-x86_64")[0].previous == {
            "p50_us": 10.0,
            "p99_us": 20.0,
        }


def test_resolve_by_id_prefix_and_report_file(db, tmp_path):
    done = profiled(n=500)
    path = tmp_path / "p.json"
    done.report.write(path)
    with Store.open(db) as s:
        run_id = s.record(done.report, done.run.samples_ns)
        assert s.resolve(run_id).run_id == run_id
        assert s.resolve(run_id[:6]).run_id == run_id
        from_file = s.resolve(str(path))
        # a report file whose run is recorded gets its samples from the store
        assert from_file.source == str(path) and np.array_equal(from_file.samples_ns, done.run.samples_ns)
    # the module-level resolve (what `report` and `compare` call) reads a file without any store
    assert st.resolve(str(path), tmp_path / "absent.db").samples_ns is None


def test_a_missing_run_id_says_did_you_mean(db):
    d = validate_doc()
    with Store.open(db) as s:
        s.record(d)
        typo = "x" + d["run_id"][1:10]
        with pytest.raises(BadInput, match=f"did you mean {d['run_id']}"):
            s.resolve(typo)


def test_an_ambiguous_prefix_is_refused(db):
    with Store.open(db) as s:
        a, b = export_doc(), export_doc()
        a["run_id"], b["run_id"] = "abc1" + "0" * 28, "abc2" + "0" * 28
        s.record(a)
        s.record(b)
        with pytest.raises(BadInput, match="matches several runs"):
            s.resolve("abc")


def test_default_location_follows_xdg_and_the_env(monkeypatch, tmp_path):
    monkeypatch.delenv("EDGEPERF_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert st.default_path() == tmp_path / "data" / "edgeperf" / "runs.db"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert st.default_path() == tmp_path / "home" / ".local" / "share" / "edgeperf" / "runs.db"
    monkeypatch.setenv("EDGEPERF_DB", str(tmp_path / "x.db"))
    assert st.default_path() == tmp_path / "x.db"


def test_the_suite_never_records_into_the_real_home():
    assert os.environ["XDG_DATA_HOME"].startswith(os.path.realpath(os.environ.get("TMPDIR", "/tmp"))) or (
        "edgeperf-tests-data-" in os.environ["XDG_DATA_HOME"]
    )
    assert not str(st.default_path()).startswith(os.path.expanduser("~/.local"))


# --- concurrent writers and kill -9 ---------------------------------------------------------------------------

RECORDER = """
import sys, uuid
from edgeperf.results.store import Store
from tests.results.runs import export_doc
db, n = sys.argv[1], int(sys.argv[2])
print("ready", flush=True)
for i in range(n):
    with Store.open(db) as s:
        run_id = s.record(export_doc(size=i))
    print(run_id, flush=True)  # reported only after the commit returned
"""


def _recorders(db, count: int, n: int):
    env = {**os.environ, "PYTHONPATH": os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return [
        subprocess.Popen([sys.executable, "-c", RECORDER, str(db), str(n)], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(count)
    ]


def test_two_processes_recording_at_once_lose_nothing(db):
    Store.open(db).close()
    procs = _recorders(db, 2, 50)
    ids = set()
    for p in procs:
        out, _ = p.communicate(timeout=120)
        assert p.returncode == 0
        ids |= set(out.split()) - {"ready"}
    assert len(ids) == 100
    with Store.open(db) as s:
        assert s.count() == 100 and {r.run_id for r in s.query()} == ids


def kill_nine_round(db, rng, count: int = 3) -> tuple[set, set]:
    """Start recorders, kill -9 each at a random moment; the ids they reported and the ids in the store."""
    procs = _recorders(db, count, 10_000)
    for p in procs:
        assert p.stdout.readline().strip() == "ready"  # imports done: the kills land while recording
    time.sleep(rng.random() * 0.3)
    for p in procs:
        time.sleep(rng.random() * 0.05)
        p.send_signal(signal.SIGKILL)
    reported = set()
    for p in procs:
        out, _ = p.communicate(timeout=60)
        assert p.returncode == -signal.SIGKILL
        reported |= set(out.split()) - {"ready"}
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    stored = {r[0] for r in conn.execute("SELECT run_id FROM runs")}
    conn.close()
    return reported, stored


def test_kill_9_while_recording_loses_no_reported_run_and_keeps_the_db_whole(db):
    import random

    Store.open(db).close()
    rng = random.Random(12)
    everything = set()
    for _ in range(2):
        reported, stored = kill_nine_round(db, rng)
        assert reported <= stored, reported - stored
        everything |= reported
    assert everything  # the kills landed after some runs were recorded, not before the first


@pytest.mark.slow
def test_the_full_bars_100_kills_and_two_writers_of_500(db):
    """The issue's bars at full size (scripts/bench_store.py measures them with a real profile report)."""
    import random

    Store.open(db).close()
    rng, kills = random.Random(7), 0
    while kills < 100:
        reported, stored = kill_nine_round(db, rng, count=4)
        assert reported <= stored, reported - stored
        kills += 4
    before = len(stored)
    procs = _recorders(db, 2, 500)
    ids = set()
    for p in procs:
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0
        ids |= set(out.split()) - {"ready"}
    with Store.open(db) as s:
        assert len(ids) == 1000 and s.count() == before + 1000


def test_a_stream_and_a_periodic_profile_are_not_one_series(db):
    stream = doc("profile", {"latency_us": {"p50": 10.0, "p99": 20.0}}, created_at="2026-11-01T00:00:00+00:00")
    loop = doc("profile", {"latency_us": {"p50": 60.0, "p99": 200.0}}, config={"rate_hz": 500.0},
               created_at="2026-11-02T00:00:00+00:00")  # fmt: skip
    with Store.open(db) as s:
        s.record(stream)
        s.record(loop)
        rows = {r.run_id: r for r in s.query()}
    assert rows[loop["run_id"]].variant == "periodic 500 Hz" and rows[loop["run_id"]].previous is None
