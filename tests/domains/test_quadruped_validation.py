"""Paired validation on the quadruped: the bundled network's ONNX export is equivalent; broken deployments are
judged different (issue 6's bars, on fewer episodes than scripts/bench_validate.py)."""

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

from edgeperf.domains.latency import LatencyModel
from edgeperf.pipeline import validate

pytest.importorskip("pybullet")
pytest.importorskip("torch")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trot_onnx(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    path = tmp_path_factory.mktemp("trot") / "policy.onnx"
    assert export("reference:quadruped/trot", path).results["parity"]["passed"]
    return path


def test_fp32_export_is_equivalent(trot_onnx):
    r = validate(trot_onnx, "quadruped/trot", episodes=8).results
    assert r["paired"]["verdict"] == "equivalent"
    assert r["deployed"]["success_rate"] == r["reference"]["success_rate"] == 1.0


def test_a_scaled_weight_matrix_is_different(trot_onnx, tmp_path):
    m = onnx.load(str(trot_onnx))
    init = max(m.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(1.5), init.name))
    onnx.save(m, str(tmp_path / "scaled.onnx"))
    r = validate(tmp_path / "scaled.onnx", "quadruped/trot", episodes=8).results
    assert r["paired"]["verdict"] == "different"
    assert r["deployed"]["success_rate"] < r["reference"]["success_rate"]


def test_80ms_of_latency_is_different(trot_onnx):
    r = validate(trot_onnx, "quadruped/trot", episodes=8, latency=LatencyModel.constant(80)).results
    assert r["paired"]["verdict"] == "different"
