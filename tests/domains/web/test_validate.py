"""Paired validation in real Chromium: the bundled web network's ONNX export is equivalent, the export with one
weight matrix negated is different, and the report gives the decision latency per step against a person's
reaction time. Short forms (3 episodes, one browser) run in the default suite: pages are seeded, so a faithful
export replays the reference's episodes exactly (paired differences of 0) and the broken one fails every one
(differences of -2 against a margin of 0.2). The 50-episode forms, per task, are `slow`."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")
pytestmark = pytest.mark.usefixtures("chromium")

SHORT, FULL = 3, 50
BARS = ("click-button", "enter-text", "login-user", "click-tab", "click-checkboxes", "multi-orderings")


@pytest.fixture(scope="module")
def web_onnx(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    path = tmp_path_factory.mktemp("web") / "web.onnx"
    assert export("reference:web/click-button", path).results["parity"]["passed"]
    return path


@pytest.fixture(scope="module")
def negated_onnx(web_onnx):
    """The same export with its largest weight matrix negated: a deployment bug the task must reveal."""
    from onnx import numpy_helper

    m = onnx.load(str(web_onnx))
    init = max((t for t in m.graph.initializer if len(t.dims) == 2), key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(init), init.name))
    path = web_onnx.with_name("negated.onnx")
    onnx.save(m, str(path))
    return path


def _validate(model, task, episodes, workers=1):
    from edgeperf.pipeline import validate

    return validate(model, f"web/{task}", episodes=episodes, workers=workers).results


def test_faithful_export_is_equivalent_with_decision_latency(web_onnx):
    r = _validate(web_onnx, "login-user", SHORT)
    assert r["paired"]["verdict"] == "equivalent", r["paired"]
    assert r["deployed"]["success_rate"] == r["reference"]["success_rate"] == 1.0
    d = r["decision_latency"]
    assert d["steps"] == 3 * SHORT  # login-user takes 3 decisions: username, password, Login
    dec, parts = d["decision"], d["parts"]
    assert dec["p50"] <= dec["p90"] <= dec["p99"] <= dec["max"]
    # the decision is read + encode + inference per step, so its mean is the sum of the parts' means
    assert dec["mean"] == pytest.approx(sum(parts[k]["mean"] for k in ("dom_read", "encode", "inference")))
    assert 0 < parts["inference"]["p50"] < dec["p50"] and d["execute"]["p50"] > 0
    assert d["human_reaction"]["ms"] == 250.0 and "Woods" in d["human_reaction"]["source"]
    assert "faster than" in d["summary"] or "slower than" in d["summary"]


def test_a_negated_weight_matrix_is_different(negated_onnx):
    r = _validate(negated_onnx, "login-user", SHORT)
    assert r["paired"]["verdict"] == "different", r["paired"]
    assert r["deployed"]["success_rate"] < r["reference"]["success_rate"]
    assert r["paired"]["ci95"][1] < -r["paired"]["margin"]


@pytest.mark.slow
@pytest.mark.parametrize("task", BARS)
def test_bars_50_episodes(web_onnx, negated_onnx, task):
    r = _validate(web_onnx, task, FULL)
    assert r["paired"]["verdict"] == "equivalent", r["paired"]
    assert r["deployed"]["success_rate"] >= 0.9
    assert _validate(negated_onnx, task, FULL)["paired"]["verdict"] == "different"


@pytest.mark.slow
def test_pairs_in_a_process_pool_match_one_process(web_onnx):
    # each worker starts its own browser; seeded pages make the pool's episodes those of one process
    one, two = _validate(web_onnx, "click-tab", 4), _validate(web_onnx, "click-tab", 4, workers=2)
    assert two["workers"] == 2 and two["paired"]["verdict"] == one["paired"]["verdict"] == "equivalent"
    assert two["deployed"]["return"] == one["deployed"]["return"]
    assert two["decision_latency"]["steps"] == one["decision_latency"]["steps"] == 4
