"""Paired validation: the bundled networks' ONNX exports are equivalent, the same exports with one weight matrix
negated are different; and the bundled networks beat a random placer.

Episodes are deterministic (the placement depends on the actions only), so 3 pairs decide: a faithful export
places every macro on the same cell (difference 0), a broken one places them elsewhere (on ariane-like at a
worse proxy cost; on the toy netlist, where the greedy teacher is no better than random, merely elsewhere).
floorplan/toy runs in the default suite, floorplan/ariane-like (issue 15's bars) is `slow`."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeperf.pipeline import validate

pytest.importorskip("torch")
pytest.importorskip("gymnasium")

ARIANE = "floorplan/ariane-like"
CASES = [
    pytest.param("floorplan/toy", "", id="toy"),
    pytest.param(ARIANE, "", id="ariane-like-imitation", marks=pytest.mark.slow),
    pytest.param(ARIANE, "+ppo", id="ariane-like-ppo", marks=pytest.mark.slow),
]


def _exports(tmp_path, domain, learner):
    from edgeperf.exporter.onnx import export

    path = tmp_path / "placer.onnx"
    assert export(f"reference:{domain}{learner}", path).results["parity"]["passed"]
    m = onnx.load(str(path))
    init = max(m.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(init), init.name))
    negated = tmp_path / "negated.onnx"
    onnx.save(m, str(negated))
    return path, negated


@pytest.mark.parametrize(("domain", "learner"), CASES)
def test_the_export_is_equivalent_and_a_negated_matrix_different(tmp_path, domain, learner):
    faithful, negated = _exports(tmp_path, domain, learner)
    reference = f"reference:{domain}{learner}"
    r = validate(faithful, domain, reference=reference, episodes=3, workers=1).results
    assert r["paired"]["verdict"] == "equivalent", r["paired"]
    assert r["deployed"]["success_rate"] == 1.0
    assert r["action_divergence"]["max"] == 0
    r = validate(negated, domain, reference=reference, episodes=3, workers=1).results
    assert r["paired"]["verdict"] == "different", r["paired"]
    assert abs(r["paired"]["mean_return_difference"]) > r["paired"]["margin"]
    if domain == ARIANE:
        assert r["paired"]["ci95"][1] < -r["paired"]["margin"]  # a worse proxy cost beyond the margin


@pytest.mark.parametrize("learner", ["", "+ppo"])
def test_the_bundled_networks_beat_a_random_placer(learner):
    from edgeperf.domains import base
    from edgeperf.domains.floorplan import expert, load_reference

    torch = pytest.importorskip("torch")
    net = load_reference(ARIANE + learner)
    env = base.make(ARIANE).env(0)

    def choose(e):
        with torch.no_grad():
            return int(net(torch.from_numpy(e.unwrapped._obs())[None])[0, 0])

    learner, info = expert.play(env, choose)
    assert info["success"]
    rng = np.random.default_rng(12345)
    randoms = [expert.play(env, lambda e: expert.random_action(e, rng))[0] for _ in range(3)]
    assert all(learner > r for r in randoms), (learner, randoms)
