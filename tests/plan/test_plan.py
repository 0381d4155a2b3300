"""A real plan, small: three artifacts of the bundled quadruped, one made to miss deadlines (a 40 ms stall every
10th inference), one made to fail parity; neither is ever recommended, every candidate says why, the plan folder
holds what CI needs, and a rerun resumes from the folder."""

from __future__ import annotations

import json

import pytest

from edgeperf.exporter import parity
from tests.plan.helpers import InProcess

SOURCE, DOMAIN = "reference:quadruped/trot", "quadruped/trot"
GRID = "precisions=fp32,fp16,int8 backends=onnxruntime threads=1"


@pytest.fixture(scope="module")
def planned(tmp_path_factory):
    from edgeperf.planner import plan

    out = tmp_path_factory.mktemp("plan") / "p"
    mp = pytest.MonkeyPatch()
    # fp16 made to fail parity: a tolerance no fp16 artifact meets (the exports run in this process).
    mp.setitem(parity.TOLERANCES, "fp16", (1e-9, 1e-9))
    ex = InProcess(stall="int8-onnxruntime-t1")
    try:
        done = plan(SOURCE, out, domain=DOMAIN, candidates=GRID, episodes=2, duration=1.0, executor=ex)
    finally:
        mp.undo()
    return done, ex


def test_a_stalled_or_unfaithful_candidate_is_never_recommended(planned):
    done, _ = planned
    rows = {r["id"]: r for r in done.doc["decision"]["candidates"]}
    stalled, unfaithful = rows["int8-onnxruntime-t1"], rows["fp16-onnxruntime-t1"]
    assert done.doc["decision"]["recommendation"] == "fp32-onnxruntime-t1", rows
    assert stalled["status"] == "dropped" and unfaithful["status"] == "dropped"
    assert stalled["miss_rate"] > 0.05 and stalled["p99_us"] >= 40_000, stalled
    assert "deadline misses" in stalled["reason"] and "over 1%" in stalled["reason"], stalled["reason"]
    assert "parity FAILED" in unfaithful["reason"], unfaithful["reason"]
    assert unfaithful.get("p99_us") is None  # dropped before it was profiled
    assert done.doc["steps"]["int8-onnxruntime-t1"]["validate"]  # validated all the same: on the front or not


def test_the_validation_samples_the_candidates_own_profile(planned):
    done, _ = planned
    run = done.doc["steps"]["int8-onnxruntime-t1"]["validate"]
    reports = [json.loads(p.read_text()) for p in (done.folder / "steps").glob("*.json")]
    val = next(r for r in reports if r["run_id"] == run)
    assert "measured inference latency" in val["config"]["latency"]
    lat = val["results"]["latency"]
    q = dict((round(a, 4), b) for a, b in lat["quantiles_ms"])
    assert q[1.0] >= 40.0  # the stall is in the loop, not a constant


def test_the_plan_folder_holds_the_artifact_its_sidecar_the_budget_and_the_page(planned, cli):
    done, _ = planned
    f = done.folder
    side = json.loads((f / "deployment.json").read_text())
    assert (side["precision"], side["backend"], side["threads"]) == ("fp32", "onnxruntime", 1)
    assert (f / "policy.onnx").is_file() and side["artifact"] == "policy.onnx"
    page = (f / "plan.html").read_text()
    assert "Content-Security-Policy" in page and 'data-candidate="int8-onnxruntime-t1"' in page
    assert "<script" not in page
    # the budget is one `edgeperf check` reads and the chosen candidate's own reports pass
    chosen = done.doc["steps"]["fp32-onnxruntime-t1"]
    files = {json.loads(p.read_text())["run_id"]: p for p in (f / "steps").glob("*.json")}
    r = cli("check", "--budget", f / "budget.toml", files[chosen["profile"]], files[chosen["validate"]])
    assert r.code == 0, r.out + r.err
    # ...and the stalled one's profile fails it
    r = cli("check", "--budget", f / "budget.toml", files[done.doc["steps"]["int8-onnxruntime-t1"]["profile"]])
    assert r.code == 1, r.out


def test_a_rerun_with_the_same_arguments_resumes_from_the_folder(planned):
    from edgeperf.planner import plan

    done, _ = planned
    steps = sorted((done.folder / "steps").glob("*.json"))
    victim = next(
        p for p in steps if json.loads(p.read_text())["run_id"] == done.doc["steps"]["fp32-onnxruntime-t1"]["validate"]
    )
    victim.unlink()  # as if the plan was killed during that validation
    ex = InProcess(stall="int8-onnxruntime-t1")
    mp = pytest.MonkeyPatch()
    mp.setitem(parity.TOLERANCES, "fp16", (1e-9, 1e-9))
    try:
        again = plan(SOURCE, done.folder, domain=DOMAIN, candidates=GRID, episodes=2, duration=1.0, executor=ex)
    finally:
        mp.undo()
    assert len(ex.ran) == 1, ex.ran  # only the missing step ran
    assert again.doc["decision"]["recommendation"] == "fp32-onnxruntime-t1"
