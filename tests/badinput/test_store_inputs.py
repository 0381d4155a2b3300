"""Bad inputs of the results layer (issue 12): a run store that is corrupt, foreign, of a newer schema version or
locked beyond the timeout (refused with one line, exit 2, the file untouched, and before any measuring); budget
files with a syntax error or an unknown key; run ids that do not exist; report files of an unknown schema."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from edgeperf.results.store import Store
from tests.results.runs import export_doc, validate_doc

FAST = ["-n", "20", "--duration", "0", "--warmup", "2", "--no-power"]


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _recorded(tmp_path) -> tuple[Path, dict]:
    db, d = tmp_path / "runs.db", validate_doc()
    with Store.open(db) as s:
        s.record(d)
    return db, d


def _stores(tmp_path) -> dict[str, tuple[Path, str]]:
    """Broken stores: (path, what the message says)."""
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(os.urandom(8192))
    torn = tmp_path / "torn.db"
    db, _ = _recorded(tmp_path)
    data = bytearray(db.read_bytes())
    with sqlite3.connect(db) as c:
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray(db.read_bytes())
    data[100:] = os.urandom(len(data) - 100)  # the header survives, the pages do not
    torn.write_bytes(bytes(data))
    newer = tmp_path / "newer.db"
    Store.open(newer).close()
    c = sqlite3.connect(newer)
    c.execute("PRAGMA user_version = 99")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # into the main file, which must then stay byte for byte
    c.close()
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as c:
        c.execute("CREATE TABLE notes (text TEXT)")
    return {
        "not sqlite": (garbage, "is not an SQLite database"),
        "corrupt pages": (torn, "corrupt"),
        "newer schema": (newer, "schema version 99, newer than this edgeperf reads"),
        "another program's database": (foreign, "not an edgeperf run store"),
    }


CASES = ["not sqlite", "corrupt pages", "newer schema", "another program's database"]


@pytest.mark.parametrize("case", CASES)
def test_a_broken_store_is_refused_before_measuring_and_left_untouched(bad, example_onnx, tmp_path, case):
    db, message = _stores(tmp_path)[case]
    before = _digest(db)
    out = tmp_path / "p.json"
    r = bad(2, "profile", example_onnx, *FAST, "--db", db, "--json", out)
    assert message in r.err
    assert not out.exists()  # refused before the measurement, not after it
    assert _digest(db) == before


@pytest.mark.parametrize("case", CASES)
def test_a_broken_store_is_refused_by_every_reader(bad, tmp_path, case):
    db, message = _stores(tmp_path)[case]
    before = _digest(db)
    f = tmp_path / "e.json"
    f.write_text(json.dumps(export_doc()))
    assert message in bad(2, "history", "--db", db).err
    assert message in bad(2, "history", "--import", f, "--db", db).err
    assert message in bad(2, "compare", "abc", "def", "--db", db).err
    assert _digest(db) == before


def test_a_store_locked_beyond_the_timeout(bad, tmp_path):
    db, _ = _recorded(tmp_path)
    f = tmp_path / "e.json"
    f.write_text(json.dumps(export_doc()))
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        r = bad(2, "history", "--import", f, "--db", db, env={"EDGEPERF_DB_TIMEOUT": "0.3"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "locked by another process (waited 0.3 s)" in r.err
    with Store.open(db) as s:
        assert s.count() == 1  # the import did not half-happen


def test_a_store_path_that_is_a_directory(bad, example_onnx, tmp_path):
    f = tmp_path / "e.json"
    f.write_text(json.dumps(export_doc()))
    assert "not a regular file" in bad(2, "history", "--import", f, "--db", tmp_path).err
    assert "not a regular file" in bad(2, "profile", example_onnx, *FAST, "--db", tmp_path).err


def test_the_store_and_the_json_report_cannot_be_one_file(bad, example_onnx, tmp_path):
    db, _ = _recorded(tmp_path)
    before = _digest(db)
    assert "are the same file" in bad(2, "profile", example_onnx, *FAST, "--db", db, "--json", db).err
    assert _digest(db) == before


def test_a_run_id_that_does_not_exist_says_did_you_mean(bad, tmp_path):
    db, d = _recorded(tmp_path)
    typo = d["run_id"][:5] + "z" + d["run_id"][6:12]
    r = bad(2, "compare", typo, d["run_id"], "--db", db)
    assert f"no run {typo!r}" in r.err and f"did you mean {d['run_id']}" in r.err
    assert "did you mean" in bad(2, "history", "--export", typo, "--db", db).err
    r = bad(2, "check", "--budget", _budget(tmp_path), "nope", "--db", db)
    assert "no run 'nope'" in r.err


def _budget(tmp_path, text="[validate]\nsuccess_min = 0.9\n") -> Path:
    p = tmp_path / "edgeperf.toml"
    p.write_text(text)
    return p


def test_a_budget_with_a_syntax_error_names_line_and_column(bad, tmp_path):
    f = tmp_path / "v.json"
    f.write_text(json.dumps(validate_doc()))
    b = _budget(tmp_path, "[validate]\nsuccess_min = 0.9\nverdict = equivalent\n")
    r = bad(2, "check", "--budget", b, f)
    assert "TOML syntax error" in r.err and "line 3, column 11" in r.err


def test_a_budget_with_an_unknown_key(bad, tmp_path):
    f = tmp_path / "v.json"
    f.write_text(json.dumps(validate_doc()))
    r = bad(2, "check", "--budget", _budget(tmp_path, "[validate]\nsucess_min = 0.9\n"), f)
    assert "unknown key 'sucess_min' in [validate]; did you mean 'success_min'?" in r.err
    assert "does not exist" in bad(2, "check", "--budget", tmp_path / "none.toml", f).err


@pytest.mark.parametrize("command", ["check", "compare", "import"])
def test_a_report_of_an_unknown_schema(bad, tmp_path, command):
    f = tmp_path / "r.json"
    f.write_text(json.dumps({**export_doc(), "schema": "edgeperf.benchmark/1"}))
    db = tmp_path / "runs.db"
    args = {
        "check": ["check", "--budget", _budget(tmp_path), f],
        "compare": ["compare", f, f],
        "import": ["history", "--import", f],
    }[command]
    r = bad(2, *args, "--db", db)
    assert "unknown schema 'edgeperf.benchmark/1'" in r.err
    assert not db.exists() or Store.open(db).count() == 0


def test_history_bad_options(bad, tmp_path):
    db, _ = _recorded(tmp_path)
    assert "did you mean profile" in bad(2, "history", "--schema", "profil", "--db", db).err
    assert "--since 'yesterday'" in bad(2, "history", "--since", "yesterday", "--db", db).err
    assert "give --import" in bad(2, "history", "x.json", "--db", db).err
    assert "EDGEPERF_DB_TIMEOUT" in bad(2, "history", "--db", db, env={"EDGEPERF_DB_TIMEOUT": "soon"}).err


def test_an_age_past_every_run_lists_every_run(cli, tmp_path):
    """--since 99999999999d overflowed Python's timedelta (a traceback): an age before any run is every run."""
    db, _ = _recorded(tmp_path)
    r = cli("history", "--since", "99999999999d", "--db", db, "--json", "-")
    assert r.code == 0 and len(__import__("json").loads(r.out)["runs"]) >= 1


def test_a_db_timeout_of_inf_is_refused(bad, tmp_path):
    db, _ = _recorded(tmp_path)
    r = bad(2, "history", "--db", db, env={"EDGEPERF_DB_TIMEOUT": "inf"})
    assert "from 0 to 86400" in r.err


def test_a_sysfs_root_that_does_not_exist_is_said(bad, tmp_path):
    """A typo in EDGEPERF_SYSFS_ROOT read as a machine with nothing (accepted silently)."""
    r = bad(2, "devices", env={"EDGEPERF_SYSFS_ROOT": str(tmp_path / "no-such-tree")})
    assert "is not a directory" in r.err
