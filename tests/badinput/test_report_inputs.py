"""Bad input to `edgeperf report`: reports that are not reports, timings that are not the run's, outputs that
cannot be written. One line, exit 2, and the old output (if any) left whole with no temp file beside it."""

from __future__ import annotations

import json
import os
import shutil
import stat
from pathlib import Path

import pytest

REPORTS = Path(__file__).parents[1] / "fixtures" / "reports"
OLD = "<html>the report of yesterday</html>"


@pytest.fixture(autouse=True)
def _own_store(monkeypatch, tmp_path):
    """Each test its own (absent) run store: `report` of a file then opens none. The suite's shared store may have
    connections open in this process, and Store.open's header check (open, read, close) would drop their POSIX
    locks (SQLite's "how to corrupt" 2.2; reported)."""
    monkeypatch.setenv("EDGEPERF_DB", str(tmp_path / "own-runs.db"))


@pytest.fixture
def work(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shutil.copy(REPORTS / "profile.json", "p.json")
    shutil.copy(REPORTS / "profile_timings.csv", "t.csv")
    shutil.copy(REPORTS / "export.json", "e.json")
    Path("old.html").write_text(OLD)
    return tmp_path


def _untouched(work: Path) -> None:
    assert Path("old.html").read_text() == OLD
    assert not [p for p in os.listdir(work) if p.endswith(".tmp")], os.listdir(work)


CASES = [
    # (files to write first, arguments, what the one line says)
    ({"u.json": json.dumps({"schema": "edgeperf.frobnicate/1"})}, ["u.json"], "unknown schema 'edgeperf.frobnicate/1'"),
    ({"n.json": json.dumps({"schema": "edgeperf.profile/9"})}, ["n.json"], "upgrade edgeperf"),
    ({"x.json": json.dumps({"results": {}})}, ["x.json"], "not an edgeperf report (no 'schema' field)"),
    ({"t.txt": "hello, not JSON\n"}, ["t.txt"], "t.txt is not a JSON report"),
    ({"b.json": "\xff\xfe"}, ["b.json"], "is not a JSON report"),
    ({}, ["missing.json"], "report missing.json does not exist"),
    ({}, ["."], "cannot read report ."),
    ({}, ["p.json", "--timings", "e.json"], "e.json is not an `edgeperf profile --csv` file"),
    ({}, ["p.json", "--timings", "nope.csv"], "timings file nope.csv does not exist"),
    (
        {"short.csv": "index,start_us,latency_us\n0,0.0,12.5\n"},
        ["p.json", "--timings", "short.csv"],
        "has 1 inferences but p.json counted",
    ),
    ({"bad.csv": "index,start_us,latency_us\n0,0.0,abc\n"}, ["p.json", "--timings", "bad.csv"], "malformed row"),
    ({"neg.csv": "index,start_us,latency_us\n0,0.0,-3\n"}, ["p.json", "--timings", "neg.csv"], "negative"),
    ({"cols.csv": "index,start_us,latency_us\n0,0.0\n"}, ["p.json", "--timings", "cols.csv"], "cols.csv"),
    (
        {"hdr.csv": "index,start_us,latency_us,extra\n0,0.0,1,2\n"},
        ["p.json", "--timings", "hdr.csv"],
        "not an `edgeperf profile --csv` file",
    ),
    ({}, ["e.json", "--timings", "t.csv"], "1 --timings files for 0 profile RUNs"),
]


@pytest.mark.parametrize(("files", "args", "message"), CASES)
def test_bad_runs_and_timings(bad, work, files, args, message):
    for name, text in files.items():
        Path(name).write_text(text, encoding="latin-1")
    r = bad(2, "report", *args, "-o", "old.html")
    assert message in r.err, r.err
    _untouched(work)


def test_an_output_that_is_an_input_is_refused(bad, work):
    before = Path("p.json").read_bytes()
    r = bad(2, "report", "p.json", "-o", "p.json")
    assert "same file as RUN" in r.err and Path("p.json").read_bytes() == before
    r = bad(2, "report", "p.json", "--timings", "t.csv", "-o", "t.csv")
    assert "same file as --timings" in r.err


@pytest.mark.parametrize(
    ("out", "message"),
    [
        (".", "is a directory"),
        ("nowhere/r.html", "nowhere does not exist"),
        ("old.html/r.html", "is not a directory"),
    ],
)
def test_outputs_that_cannot_be_written(bad, work, out, message):
    r = bad(2, "report", "p.json", "-o", out)
    assert message in r.err
    _untouched(work)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only directories")
def test_an_unwritable_directory(bad, work):
    os.mkdir("ro")
    os.chmod("ro", 0o500)
    r = bad(2, "report", "p.json", "-o", "ro/r.html")
    assert "not writable" in r.err and os.listdir("ro") == []


def test_a_directory_nobody_may_create_files_in(bad, work):
    # /proc refuses new files even to root: the temp file cannot be made, and that is one line too.
    r = bad(2, "report", "p.json", "-o", "/proc/edgeperf-report.html")
    assert "cannot write /proc/edgeperf-report.html" in r.err


def test_dev_null_is_written_through_not_replaced(cli, work):
    r = cli("report", "p.json", "-o", "/dev/null")
    assert r.code == 0, r.err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_no_run_is_a_usage_error(bad, work):
    r = bad(2, "report", "-o", "r.html")
    assert "RUN" in r.err
    r = bad(2, "report", "p.json")
    assert "-o" in r.err


def test_a_good_run_replaces_the_old_file_whole(cli, work):
    r = cli("report", "p.json", "e.json", "--timings", "t.csv", "-o", "old.html")
    assert r.code == 0, r.err
    page = Path("old.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "written to old.html" in r.out
    assert not [p for p in os.listdir(work) if p.endswith(".tmp")]


def test_dash_writes_the_page_to_stdout(cli, work):
    r = cli("report", "p.json", "-o", "-")
    assert r.code == 0, r.err
    assert r.out.startswith("<!DOCTYPE html>") and r.out.rstrip().endswith("</html>")


def test_a_run_id_that_is_not_in_the_store(bad, cli, work, example_onnx):
    r = cli("profile", example_onnx, "-n", "20", "--duration", "0", "--warmup", "2", "--no-power", "--db", "runs.db")
    assert r.code == 0, r.err
    r = bad(2, "report", "0123456789abcdef", "--db", "runs.db", "-o", "old.html")
    assert "no run '0123456789abcdef' in the run store" in r.err
    _untouched(work)
    r = bad(2, "report", "0123456789abcdef", "--db", "nowhere.db", "-o", "old.html")
    assert "nowhere.db" in r.err
    _untouched(work)


HOSTILE_REPORTS = {
    "a list": "[1, 2]",
    "results a list": '{"schema": "edgeperf.profile/1", "results": []}',
    "a latency block that is a string": '{"schema": "edgeperf.profile/1", "results": {"latency_us": "fast"}}',
    "a model without its fields": '{"schema": "edgeperf.profile/1", "results": {}, "model": {"name": "m"}}',
    "host a list": '{"schema": "edgeperf.profile/1", "results": {}, "host": []}',
    "warnings a string": '{"schema": "edgeperf.profile/1", "results": {}, "warnings": "w"}',
    "nested 100,000 deep": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("what", list(HOSTILE_REPORTS))
@pytest.mark.parametrize("command", ["history --import", "compare", "check", "validate --latency-from"])
def test_a_report_file_of_the_wrong_shape_is_one_line_for_every_reader(bad, tmp_path, what, command):
    """Each of these was a traceback (AttributeError, TypeError, RecursionError) in some reader of report files."""
    path = tmp_path / "r.json"
    path.write_text(HOSTILE_REPORTS[what])
    budget = tmp_path / "b.toml"
    budget.write_text("[profile]\np99_us = 5\n")
    args = {
        "history --import": ["history", "--import", path, "--db", tmp_path / "s.db"],
        "compare": ["compare", path, path, "--db", tmp_path / "n.db"],
        "check": ["check", "--budget", budget, path, "--db", tmp_path / "n.db"],
        "validate --latency-from": ["validate", "x.onnx", "--domain", "gym:Pendulum-v1", "--latency-from", path],
    }[command]
    r = bad(2, *args)
    assert str(path.name) in r.err or "r.json" in r.err
