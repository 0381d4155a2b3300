"""The main job end to end: export -> profile -> validate, as `edgeperf demo` runs it."""

import json

import pytest

from edgeperf.results import html


def _check(out, domain):
    export = json.loads((out / "export.json").read_text())
    prof = json.loads((out / "profile.json").read_text())
    val = json.loads((out / "validate.json").read_text())
    assert export["results"]["parity"]["passed"]
    assert prof["results"]["scenario"] == "periodic" and prof["results"]["latency_us"]["p50"] > 0
    assert prof["results"]["observations"]["source"] == f"domain:{domain}"  # on-policy data, not random
    # Profiled in a fresh process: torch (loaded by the export) does not count against the policy's memory.
    assert prof["results"]["memory"]["peak_rss_bytes"] < 300 * 2**20
    assert val["config"]["domain"] == domain and val["results"]["latency"]["source"].startswith("measured")
    # The HTML page beside the reports: every stage, the profile drawn from its raw timings.
    page = (out / "report.html").read_text()
    rows = (out / "timings.csv").read_text().splitlines()
    assert len(rows) - 1 == prof["results"]["latency_us"]["count"]
    assert 'data-chart="latency-timeline" data-source="samples"' in page
    assert f'data-figure="p99_us">{html.num(prof["results"]["latency_us"]["p99"])} us<' in page
    assert page.count('<section class="run"') == len(list(out.glob("*.json")))
    return val


def test_demo_on_pendulum(cli, tmp_path):
    r = cli(
        "demo",
        "--out",
        tmp_path,
        "--duration",
        "0.5",
        "--domain",
        "gym:Pendulum-v1",
        "--episodes",
        "2",
        "--hil-episodes",
        "0",
    )  # fmt: skip  (the HIL stage has its own tests; here it would add 20 s)
    assert r.code == 0, r.err
    _check(tmp_path, "gym:Pendulum-v1")
    assert not (tmp_path / "hil.json").exists()
    assert "verdict:" in r.out and "deadlines missed" in r.out
    assert f"The whole run on one page: {tmp_path / 'report.html'}" in " ".join(r.out.split())


@pytest.mark.slow
def test_demo_on_the_quadruped(cli, tmp_path):
    r = cli("demo", "--out", tmp_path)
    assert r.code == 0, r.err
    val = _check(tmp_path, "quadruped/trot")
    assert val["results"]["paired"]["verdict"] in ("equivalent", "inconclusive")
    hil = json.loads((tmp_path / "hil.json").read_text())
    assert hil["results"]["link"]["steps"] == 2 * 1000 and hil["results"]["paired"]["verdict"] != "different"
    assert "with the link in the loop the task" in r.out
