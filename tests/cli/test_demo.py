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
        "--plan-episodes",
        "2",
    )  # fmt: skip  (the HIL stage has its own tests; here it would add 20 s)
    assert r.code == 0, r.err
    _check(tmp_path, "gym:Pendulum-v1")
    assert not (tmp_path / "hil.json").exists()
    # the plan stage: fp32 against int8, its folder and its line in the summary (breaks if it is skipped)
    plan = json.loads((tmp_path / "plan" / "plan.json").read_text())
    assert {c["id"] for c in plan["decision"]["candidates"]} == {"fp32-onnxruntime-t1", "int8-onnxruntime-t1"}
    assert (tmp_path / "plan" / "plan.html").exists() and (tmp_path / "plan" / "budget.toml").exists()
    assert "The plan recommends" in " ".join(r.out.split())
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
    s2s = json.loads((tmp_path / "sim2sim.json").read_text())
    assert s2s["results"]["domains"]["b"]["id"] == "mujoco/a1-trot" and s2s["results"]["episodes"] == 4
    assert "sim-to-sim verdict:" in " ".join(r.out.split())
    assert json.loads((tmp_path / "plan" / "plan.json").read_text())["decision"]["recommendation"]


def test_demo_on_the_quadruped_ends_with_sim_to_sim(cli, tmp_path):
    """The fifth stage: the exported trot policy on the same A1 in MuJoCo; its report, its HTML section, its line
    in the summary (breaks if the stage is skipped, or the summary leaves it out)."""
    r = cli(
        "demo", "--out", tmp_path, "--duration", "0.5", "--episodes", "2", "--hil-episodes", "0",
        "--sim2sim-episodes", "2", "--plan-episodes", "0",
    )  # fmt: skip
    assert r.code == 0, r.err
    s2s = json.loads((tmp_path / "sim2sim.json").read_text())
    assert s2s["model"]["path"] == str(tmp_path / "policy.onnx")
    assert s2s["results"]["domains"]["a"]["id"] == "quadruped/trot"
    assert s2s["results"]["domains"]["b"]["id"] == "mujoco/a1-trot"
    assert s2s["results"]["b"]["success_rate"] > 0  # the bundled trot walks in MuJoCo too
    verdict = s2s["results"]["transfer"]["verdict"]
    assert f"sim-to-sim verdict: {verdict}" in " ".join(r.out.split()) and "4/4 sim-to-sim" in r.out
    page = (tmp_path / "report.html").read_text()
    assert f'data-figure="sim2sim_verdict">{verdict}<' in page
