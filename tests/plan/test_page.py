"""plan.html through the report views: every candidate's section and figures, the decision, text escaped by the
templates; and a plan.json row read back as a Row writes the same row."""

from __future__ import annotations

from edgeperf.planner import page
from edgeperf.planner.candidates import parse_budget
from edgeperf.planner.decide import Row, decide
from tests.plan.test_decide import C, _steps

HOSTILE = 'reference:<script>alert("x")</script>'


def _doc(budget: str | None = "p99<=10ms") -> dict:
    limits = parse_budget(budget)
    return {
        "source": HOSTILE,
        "domain": "quadruped/trot",
        "rate_hz": 50.0,
        "target": {"name": None, "device": "x86_64"},
        "budget": [x.to_dict() for x in limits],
        "episodes": 12,
        "decision": decide(list(C.values()), _steps(), limits, 50.0),
    }


def test_a_row_read_back_from_plan_json_writes_the_same_row():
    for r in _doc()["decision"]["candidates"]:
        assert Row.from_dict(r).to_dict() == r
        assert list(Row.from_dict(r).to_dict()) == list(r)  # key order too: plan.json does not change


def test_the_page_shows_every_candidate_the_decision_and_escapes_what_it_was_given():
    doc = _doc()
    html = page.render(doc)
    assert html.startswith("<!DOCTYPE html>") and "default-src 'none'" in html
    assert "<script" not in html and "&lt;script&gt;" in html
    for r in doc["decision"]["candidates"]:
        assert f'data-candidate="{r["id"]}"' in html and f'href="#cand-{r["id"]}"' in html
    assert f'data-figure="recommendation"><b>Recommended: {C["b"].label}</b>' in html
    assert f"Runner-up: {C['a'].label}" in html
    assert "<h3>Budget</h3><ul><li><code>p99&lt;=10ms</code></li><li><code>miss&lt;=1% (default)</code>" in html
    assert 'data-chart="front"' in html


def test_without_a_recommendation_the_page_says_what_binds():
    html = page.render(_doc("p99<=100us,mj<=2"))
    assert 'class="error" data-figure="recommendation">No recommendation: no candidate meets the budget' in html
