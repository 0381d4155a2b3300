"""The output rule for the results commands and the library: an output that resolves to an input, to the run store
in use, or to another output is refused before any work (exit 2, one line), and the input is left as it was."""

from __future__ import annotations

import pytest

from edgeperf.errors import BadInput


@pytest.fixture
def store(cli, tmp_path, example_onnx):
    """A run store with one profile run, and that run's report as a file."""
    db = tmp_path / "s.db"
    report = tmp_path / "p.json"
    r = cli("profile", example_onnx, "-n", "50", "--duration", "0", "--db", db, "--json", report)
    assert r.code == 0, r.err
    return db, report


@pytest.mark.parametrize(
    "args",
    [
        ["history", "--db", "{db}", "--export", "{run}", "-o", "{db}"],
        ["history", "--db", "{db}", "--json", "{db}"],
        ["history", "--db", "{db}", "--plot", "{db}"],
        ["check", "--db", "{db}", "--budget", "{budget}", "{report}", "--json", "{db}"],
        ["check", "--budget", "{budget}", "{report}", "--json", "{report}", "--db", "{db}"],
        ["check", "--budget", "{budget}", "{report}", "--json", "{budget}", "--db", "{db}"],
        ["compare", "--db", "{db}", "{report}", "{report}", "--json", "{db}"],
        ["compare", "{report}", "{report}", "--json", "{report}", "--db", "{db}"],
        ["history", "--db", "{db}", "--import", "{report}", "--json", "{report}"],
    ],
)
def test_no_results_command_writes_onto_its_inputs(store, bad, tmp_path, args):
    db, report = store
    budget = tmp_path / "b.toml"
    budget.write_text("[profile]\np99_us = 1e6\n")
    before = {p: p.read_bytes() for p in (db, report, budget)}
    run = __import__("json").loads(report.read_text())["run_id"]
    filled = [a.format(db=db, report=report, budget=budget, run=run) for a in args]
    r = bad(2, *filled)
    assert "would overwrite" in r.err or "is the same file" in r.err or "same" in r.err, r.err
    assert {p: p.read_bytes() for p in before} == before


def test_the_library_export_refuses_its_own_source(example_onnx, tmp_path):
    from edgeperf import export

    copy = tmp_path / "m.onnx"
    copy.write_bytes(example_onnx.read_bytes())
    with pytest.raises(BadInput):
        export(str(copy), copy)
    assert copy.read_bytes() == example_onnx.read_bytes()
