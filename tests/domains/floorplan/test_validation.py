"""Paired validation on floorplan/ariane-like: the bundled network's ONNX export is equivalent, the same export
with one weight matrix negated is different; and the bundled network beats a random placer.

Episodes are deterministic (the placement depends on the actions only), so 3 pairs decide: a faithful export
places every macro on the same cell (difference 0), a broken one places them elsewhere at a worse proxy cost."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeperf.pipeline import validate

pytest.importorskip("torch")
pytest.importorskip("gymnasium")

DOMAIN = "floorplan/ariane-like"


@pytest.fixture(scope="module")
def ariane_onnx(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    path = tmp_path_factory.mktemp("floorplan") / "placer.onnx"
    assert export(f"reference:{DOMAIN}", path).results["parity"]["passed"]
    return path


@pytest.fixture(scope="module")
def negated_onnx(ariane_onnx):
    m = onnx.load(str(ariane_onnx))
    init = max(m.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(-numpy_helper.to_array(init), init.name))
    path = ariane_onnx.with_name("negated.onnx")
    onnx.save(m, str(path))
    return path


def test_the_export_is_equivalent(ariane_onnx):
    r = validate(ariane_onnx, DOMAIN, episodes=3, workers=1).results
    assert r["paired"]["verdict"] == "equivalent", r["paired"]
    assert r["deployed"]["success_rate"] == 1.0
    assert r["action_divergence"]["max"] == 0


def test_a_negated_weight_matrix_is_different(negated_onnx):
    r = validate(negated_onnx, DOMAIN, episodes=3, workers=1).results
    assert r["paired"]["verdict"] == "different", r["paired"]
    assert r["paired"]["ci95"][1] < -r["paired"]["margin"]  # a worse proxy cost beyond the margin


def test_the_bundled_network_beats_a_random_placer():
    from edgeperf.domains import base
    from edgeperf.domains.floorplan import expert, load_reference

    torch = pytest.importorskip("torch")
    net = load_reference(DOMAIN)
    env = base.make(DOMAIN).env(0)

    def choose(e):
        with torch.no_grad():
            return int(net(torch.from_numpy(e.unwrapped._obs())[None])[0, 0])

    learner, info = expert.play(env, choose)
    assert info["success"]
    rng = np.random.default_rng(12345)
    randoms = [expert.play(env, lambda e: expert.random_action(e, rng))[0] for _ in range(3)]
    assert all(learner > r for r in randoms), (learner, randoms)
