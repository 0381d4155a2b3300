"""The decision on synthetic step reports: the rule, the runner-up, the reasons, the front, the binding constraint."""

from __future__ import annotations

import pytest

from edgeperf.errors import BadInput
from edgeperf.planner.candidates import Candidate, parse_budget
from edgeperf.planner.decide import decide


def _export(passed=True):
    return {"schema": "edgeperf.export/1", "results": {"parity": {"passed": passed, "max_abs_error": 0.3 if not passed
            else 1e-6, "tolerance": {"atol": 1e-5, "rtol": 1e-4}}}}  # fmt: skip


def _profile(p99, mj, miss=0.0, estimate=True):
    return {
        "schema": "edgeperf.profile/1",
        "run_id": f"p{p99}-{mj}",
        "config": {"rate_hz": 50.0},
        "results": {
            "latency_us": {"p50": p99 / 2, "p99": p99, "p99_9": p99 * 1.1, "std": 3.0},
            "deadline": {"miss_rate": miss, "misses": int(miss * 1000), "periods": 1000},
            "memory": {"peak_rss_bytes": 100 * 2**20},
            "power": {"estimate": estimate, "source": "estimate", "total": {"per_inference_above_idle_mJ": mj}},
        },
    }


def _validate(verdict="equivalent", diff=0.1, success=1.0, n=12):
    return {
        "schema": "edgeperf.validate/1",
        "run_id": f"v{verdict}{diff}",
        "config": {"episodes": n},
        "results": {
            "paired": {"verdict": verdict, "mean_return_difference": diff},
            "deployed": {"success_rate": success},
            "reference": {"success_rate": 1.0},
        },
    }


C = {
    "a": Candidate("fp32", "onnxruntime", 1),
    "b": Candidate("int8", "onnxruntime", 1),
    "c": Candidate("fp16", "openvino", 4),
    "d": Candidate("int8", "openvino", 1),
    "e": Candidate("fp16", "onnxruntime", 1),
}


def _steps(**over):
    base = {
        "a": (_export(), _profile(300, 1.2), _validate()),
        "b": (_export(), _profile(200, 0.8), _validate()),
        "c": (_export(), _profile(150, 0.5, miss=0.03), _validate()),  # cheapest, but misses deadlines
        "d": (_export(), _profile(100, 0.4), _validate("inconclusive", 0.8)),  # cheapest of all, not shown equivalent
        "e": (_export(passed=False), None, None),
    }
    base.update(over)
    return {C[k].id: {"export": e, "profile": p, "validate": v} for k, (e, p, v) in base.items()}


def _rows(out):
    return {r["id"]: r for r in out["candidates"]}


def test_the_lowest_energy_equivalent_candidate_within_budget_is_chosen_and_every_other_says_why():
    out = decide(list(C.values()), _steps(), parse_budget("p99<=10ms"), 50.0)
    rows = _rows(out)
    assert out["recommendation"] == C["b"].id and out["runner_up"] == C["a"].id
    assert rows[C["c"].id]["reason"] == "fp16 OpenVINO 4 threads: equivalent, but 3% deadline misses (over 1%)"
    assert rows[C["d"].id]["reason"].startswith("int8 OpenVINO 1 thread: parity passed, inconclusive at 12 episodes")
    assert "+0.8 return" in rows[C["d"].id]["reason"]
    assert "parity FAILED (max error 0.3" in rows[C["e"].id]["reason"]
    assert "+0.4 mJ against the recommendation" in rows[C["a"].id]["reason"]
    # the front: d (cheapest, fastest, but inconclusive) and c (equivalent, next cheapest, but it misses deadlines);
    # within the budget: d and b
    assert set(out["front"]) == {C["c"].id, C["d"].id}
    assert set(out["front_within_budget"]) == {C["b"].id, C["d"].id}


def test_energy_ties_go_to_the_lower_p99():
    steps = _steps(a=(_export(), _profile(120, 0.8), _validate()))
    assert decide(list(C.values()), steps, parse_budget(None), 50.0)["recommendation"] == C["a"].id


def test_a_budget_nobody_meets_names_the_binding_constraint_and_by_how_much():
    out = decide(list(C.values()), _steps(), parse_budget("p99<=100us,mj<=2"), 50.0)
    assert out["recommendation"] is None
    nr = out["no_recommendation"]
    assert nr["constraint"] == "p99_us" and nr["candidate"] == C["c"].id  # the closest on p99
    assert "p99 <= 100 us binds" in nr["message"] and "150 us, 50 us over (50%)" in nr["message"], nr


def test_nothing_equivalent_is_said_as_such():
    bad = _validate("different", -3.0, 0.5)
    steps = _steps(a=(_export(), _profile(300, 1.2), bad), b=(_export(), _profile(200, 0.8), bad),
                   c=(_export(), _profile(150, 0.5), bad))  # fmt: skip
    out = decide(list(C.values()), steps, parse_budget(None), 50.0)
    assert out["recommendation"] is None and out["no_recommendation"]["constraint"] == "equivalence"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("p99<=10", "with its unit"),
        ("p99>=10ms", "p99 takes <="),
        ("lat<=3ms", "give NAME<=VALUE"),
        ("miss<=150%", "at most 1"),
        ("p99<=10ms,p99<=3ms", "given twice"),
        ("mj<=1e999", "finite"),
    ],
)
def test_bad_budgets(text, says):
    with pytest.raises(BadInput, match=says):
        parse_budget(text)


def test_budget_units():
    got = {x.key: x.value for x in parse_budget("p99<=10ms,p99.9<=0.02s,miss<=0.5%,success>=0.9,rss<=200MB")}
    assert got == {"p99_us": 10_000, "p99_9_us": 20_000, "miss_rate": 0.005, "success_min": 0.9, "peak_rss_mb": 200}
