"""Paired validation on the quadruped: the bundled network's ONNX export is equivalent; broken deployments are
judged different. The short form (3 episodes) runs in the default suite: the simulation is deterministic per
seed, and both verdicts are decisive there by orders of magnitude (faithful: a 90% interval of about +-1e-5
against a margin of 1; scaled: the interval near -13, far outside it). The 20-episode form (issue 6's bars, as
scripts/bench_validate.py runs them) is `slow`."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeperf.pipeline import validate
from edgeperf.validation.latency import LatencyModel

pytest.importorskip("pybullet")
pytest.importorskip("torch")

SHORT, FULL = 3, 20


@pytest.fixture(scope="module")
def trot_onnx(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    path = tmp_path_factory.mktemp("trot") / "policy.onnx"
    assert export("reference:quadruped/trot", path).results["parity"]["passed"]
    return path


@pytest.fixture(scope="module")
def scaled_onnx(trot_onnx):
    """The same export with its largest weight matrix x1.5: a deployment bug the task must reveal."""
    m = onnx.load(str(trot_onnx))
    init = max(m.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.5), init.name))
    path = trot_onnx.with_name("scaled.onnx")
    onnx.save(m, str(path))
    return path


def _equivalent(r: dict) -> None:
    assert r["paired"]["verdict"] == "equivalent", r["paired"]
    assert r["deployed"]["success_rate"] == r["reference"]["success_rate"] == 1.0


def _different(r: dict) -> None:
    assert r["paired"]["verdict"] == "different", r["paired"]
    assert r["deployed"]["success_rate"] < r["reference"]["success_rate"]
    assert r["paired"]["ci95"][1] < -r["paired"]["margin"]  # worse beyond the margin, not merely unequal


def test_fp32_export_is_equivalent_short(trot_onnx):
    _equivalent(validate(trot_onnx, "quadruped/trot", episodes=SHORT, workers=1).results)


def test_a_scaled_weight_matrix_is_different_short(scaled_onnx):
    _different(validate(scaled_onnx, "quadruped/trot", episodes=SHORT, workers=1).results)


@pytest.mark.slow
def test_fp32_export_is_equivalent(trot_onnx):
    _equivalent(validate(trot_onnx, "quadruped/trot", episodes=FULL).results)


@pytest.mark.slow
def test_a_scaled_weight_matrix_is_different(scaled_onnx):
    _different(validate(scaled_onnx, "quadruped/trot", episodes=FULL).results)


@pytest.mark.slow
def test_80ms_of_latency_is_different(trot_onnx):
    r = validate(trot_onnx, "quadruped/trot", episodes=FULL, latency=LatencyModel.constant(80)).results
    assert r["paired"]["verdict"] == "different"
