"""Verdict -> exit code in one place (edgeperf.verdict): what fails each report kind, on the report fixtures."""

import copy

import pytest

from edgeperf import verdict
from edgeperf.errors import VerdictFailed
from edgeperf.results.report import load_report
from tests.conftest import FIXTURES

REPORTS = FIXTURES / "reports"


def _report(name):
    return load_report(REPORTS / f"{name}.json")


@pytest.mark.parametrize("name", ["export", "validate", "hil", "doctor", "profile", "measure"])
def test_a_passed_verdict_or_none_fails_nothing(name):
    report = _report(name)
    assert verdict.failure(report) is None
    verdict.check(report)


def _failed(report, change):
    report = copy.deepcopy(report)
    change(report.results)
    return report


@pytest.mark.parametrize(
    ("name", "change", "says"),
    [
        ("export", lambda r: r["parity"].update(passed=False), "parity failed: max |error|"),
        ("validate", lambda r: r["paired"].update(verdict="inconclusive"), "is inconclusive from the reference on"),
        ("hil", lambda r: r["paired"].update(verdict="different"), "the policy in the loop is different"),
        ("hil", lambda r: r.update(nonfinite_episodes=[3, 4]), "non-finite actions in 2 episodes"),
        ("doctor", lambda r: r.update(verdict="broken"), "doctor: broken: "),
    ],
)
def test_a_failed_verdict_is_exit_code_1_with_its_line(name, change, says):
    report = _failed(_report(name), change)
    assert says in verdict.failure(report)
    with pytest.raises(VerdictFailed) as got:
        verdict.check(report)
    assert got.value.exit_code == 1 and str(got.value) == verdict.failure(report)


def test_sim2sim_fails_unless_it_transfers():
    report = _report("sim2sim")
    assert report.results["transfer"]["verdict"] != "transfers"
    assert verdict.failure(report).startswith(f"sim-to-sim {report.config['domain']} -> {report.config['to']}: ")
    report.results["transfer"]["verdict"] = "transfers"
    assert verdict.failure(report) is None
