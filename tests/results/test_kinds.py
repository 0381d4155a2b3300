"""Typed results (results/kinds/): every kind's reports go through their class and back unchanged, byte for byte;
the class is read against the kind's schema; the figures, the terminal and the page read typed fields.

Fixtures: tests/fixtures/reports (measure.json: `edgeperf measure --power estimate -- python3 -c 'print(1)'`;
sim2sim.json: `edgeperf sim2sim reference:quadruped/trot --domain quadruped/trot --to mujoco/a1-trot -n 2
--randomize friction=0.8,0.2`; doctor.json: `edgeperf doctor` of the trot policy on the A1 spec with joint_vel
scaled x20, as in tests/validation/test_doctor.py), and the minimal documents of tests/results/runs.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from edgeperf.errors import BadInput
from edgeperf.results import figures, kinds
from edgeperf.results.kinds import KINDS, Document, Episodes, ProfileResults, Stats
from edgeperf.results.kinds.machine import Machine
from edgeperf.results.report import SCHEMAS
from tests.results import runs

REPORTS = Path(__file__).parents[1] / "fixtures" / "reports"
FIXTURES = sorted(p.name for p in REPORTS.glob("*.json"))


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_fixture_goes_through_its_class_and_back_byte_for_byte(fixture):
    text = (REPORTS / fixture).read_text()
    doc = Document.read(json.loads(text), source=fixture)
    assert type(doc.results) is KINDS[doc.kind]
    assert json.dumps(doc.to_dict(), indent=2) + "\n" == text  # same keys, values and order: the file is unchanged


def test_the_fixtures_cover_the_kinds_that_have_a_view():
    have = {json.loads((REPORTS / f).read_text())["schema"].split(".")[1].split("/")[0] for f in FIXTURES}
    assert {"profile", "export", "validate", "hil", "measure", "sim2sim", "doctor"} <= have


def _many_runs_docs() -> list[dict]:
    return [
        runs.validate_doc(),
        runs.export_doc(),
        runs.doc("reliability", {"n_runs": 3, "across_runs": {"median_final_value": 2.0, "risk_across_runs": None},
                                 "runs": [{"name": "a", "final": 1.5}]}),
        runs.doc("generalize", {"aggregate": {"tasks": 2, "sum_of_mean_returns": 3.0}, "tasks": {"x": {"y": 1}}}),
        runs.doc("hil", {"link": {"queries": 4, "misses": 1}, "domain": "gym:Pendulum-v1"}),
    ]  # fmt: skip


@pytest.mark.parametrize("i", range(5))
def test_documents_of_the_other_kinds_round_trip_too(i):
    d = _many_runs_docs()[i]
    doc = Document.read(d)
    assert json.dumps(doc.to_dict()) == json.dumps(d)


def test_a_devices_document_round_trips(cli, tmp_path):
    r = cli("devices", "--json")
    assert r.code == 0, r.err
    assert json.dumps(Document.read(json.loads(r.out)).to_dict()) == json.dumps(json.loads(r.out))
    machine = Machine.from_dict(json.loads(r.out))  # what `edgeperf devices` shows, typed
    assert json.dumps(machine.to_dict()) == json.dumps(json.loads(r.out))
    assert machine.backends["onnxruntime"].available and machine.cpu.logical_cores >= 1


def test_every_kind_of_the_schema_has_a_class():
    assert set(KINDS) == set(SCHEMAS)


def test_a_value_of_another_shape_is_kept_as_it_was_not_typed():
    """The schema allows `domain` as a string or a block: a string stays a string on the way back, the field None."""
    d = {"domain": "gym:Pendulum-v1", "hil": {"episodes": 2, "return": {"mean": 1.0, "ci95": [0, 2]}}}
    res = kinds.read("hil", d)
    assert res.domain is None and res.extra["domain"] == "gym:Pendulum-v1"
    assert res.hil.return_.mean == 1.0  # `return` is a keyword: the field is return_
    assert res.to_dict() == d and list(res.to_dict()) == list(d)


def test_results_are_held_to_their_schema():
    with pytest.raises(BadInput, match=r"latency_us\.p99 is 'fast'"):
        kinds.read("profile", {"latency_us": {"p99": "fast"}}, source="r.json")
    with pytest.raises(BadInput, match=r"deadline\.misses is missing"):
        kinds.read("profile", {"deadline": {"periods": 3, "miss_rate": 0.0}})


def test_an_empty_block_is_false_as_an_empty_dict_is():
    assert not Stats.from_dict({}) and not Stats() and Stats(p50=1.0) and Stats.from_dict({"p50": None})


def test_a_record_built_in_code_writes_its_fields_in_declared_order():
    r = ProfileResults(throughput_per_s=10.0, latency_us=Stats(p99=5.0, p50=2.0, count=3))
    assert r.to_dict() == {"latency_us": {"count": 3, "p50": 2.0, "p99": 5.0}, "throughput_per_s": 10.0}
    assert list(r.to_dict()["latency_us"]) == ["count", "p50", "p99"]
    assert Episodes.from_dict({"return": {"mean": 1}}).to_dict() == {"return": {"mean": 1}}


def test_a_side_without_a_success_rate_has_no_criterion():
    side = {"episodes": 4, "success_rate": 0.5, "return": {"mean": 1.0, "ci95": [0.0, 2.0]}}
    res = kinds.read("validate", {"deployed": side, "reference": {}})
    assert res.deployed.has("success_rate") and not res.reference.has("success_rate")
    rep = runs.validate_doc()
    del rep["results"]["reference"]["success_rate"]
    assert figures.figure(rep, "reference_success").reason == "the domain has no success criterion"


@pytest.mark.parametrize("fixture", FIXTURES)
def test_the_figures_read_the_typed_report(fixture):
    d = json.loads((REPORTS / fixture).read_text())
    doc = figures.document(d)
    assert figures.key_figures(doc) == figures.key_figures(d)
    if doc.kind == "profile":
        assert figures.figure(d, "p99_us").value == d["results"]["latency_us"]["p99"] == doc.results.latency_us.p99


@pytest.mark.parametrize(("fixture", "columns"), [("validate", ("reference", "deployed")), ("hil", ("sil", "hil"))])
def test_the_summary_and_the_verdict_are_one_view_model_for_the_terminal_and_the_page(fixture, columns):
    """views/shared.py says which rows the summary table has and what the verdict shows; both views draw them."""
    from rich.console import Console

    from edgeperf.results import html, render
    from edgeperf.results.report import load_report
    from edgeperf.results.views import shared

    report = load_report(REPORTS / f"{fixture}.json")
    console = Console(record=True, width=200, file=io.StringIO())
    getattr(render, fixture)(report, console)
    terminal = console.export_text()
    page = html.render([(report.to_dict(), None)])
    res = KINDS[fixture].from_dict(report.results)
    rows = shared.summary({c: res.at(c) for c in columns})
    assert [r.label for r in rows][:6] == ["episodes", "success (95% CI)", "falls", "return (95% CI)",
                                           "dispersion (IQR)", "risk (CVaR 5%)"]  # fmt: skip
    for row in rows:
        assert row.label in terminal and f"<th>{html.esc(row.label)}</th>" in page
    v = shared.verdict(res.paired)
    assert f"mean return difference {v.difference:.2f}" in terminal
    assert f"<th>mean return difference</th><td>{html.num(v.difference)}</td>" in page
    assert (f"McNemar p {v.mcnemar_p:.2g}" in terminal) == (v.success_pairs is not None)


@pytest.mark.parametrize("module", ["edgeperf.results.kinds", "edgeperf.results.views.page"])
def test_the_examples_in_the_docstrings_run(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted and not result.failed
