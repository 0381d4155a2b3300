"""The OpenVINO session against OpenVINO's own compiled model: the C-API hot path (and the Python-binding
fallback) must give the very outputs OpenVINO gives, at every batch size, without aliasing its buffers."""

import numpy as np
import pytest

from edgeperf.runtime import openvino as ovs
from edgeperf.runtime.session import Session

ov = pytest.importorskip("openvino")


@pytest.fixture(scope="module")
def example_xml(example_onnx, tmp_path_factory):
    xml = tmp_path_factory.mktemp("ir") / "policy.xml"
    ov.save_model(ov.convert_model(str(example_onnx)), str(xml), compress_to_fp16=False)
    return xml


@pytest.fixture(scope="module")
def two_outputs(tmp_path_factory):
    """A 2-input, 2-output IR (float32 and int64 in, float32 and int64 out) built with OpenVINO's opset."""
    from openvino import opset13 as ops

    a = ops.parameter([-1, 5], np.float32, name="a")
    b = ops.parameter([-1, 3], np.int64, name="b")
    w = ops.constant(np.arange(15, dtype=np.float32).reshape(5, 3) / 7)
    y = ops.matmul(a, w, False, False)
    s = ops.reduce_sum(b, ops.constant(np.int64(1)), True)
    y.output(0).get_tensor().set_names({"y"})
    s.output(0).get_tensor().set_names({"s"})
    xml = tmp_path_factory.mktemp("ir2") / "two.xml"
    ov.save_model(ov.Model([y, s], [a, b], "two"), str(xml))
    return xml


def reference(xml):
    core = ov.Core()
    return core.compile_model(core.read_model(str(xml)), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})


@pytest.fixture(params=["c-api", "python-binding"])
def runner(request, monkeypatch):
    if request.param == "python-binding":
        monkeypatch.setattr(ovs, "_c_library", lambda _ov: None)
    return request.param


def test_outputs_equal_openvinos_own_at_every_batch(example_xml, runner):
    compiled = reference(example_xml)
    rng = np.random.default_rng(0)
    with Session.open(example_xml) as s:
        assert type(s._request).__name__ == ("_CRequest" if runner == "c-api" else "_PyRequest")
        for batch in (1, 1, 7, 1, 3, 3):  # shape changes rebind the C request's buffers
            x = rng.standard_normal((batch, 48)).astype(np.float32)
            got = s.run(x)
            assert got.shape == (batch, 12)
            np.testing.assert_array_equal(got, compiled(x)[0])
        one = rng.standard_normal(48).astype(np.float32)
        np.testing.assert_array_equal(s.run(one), compiled(one[None])[0][0])


def test_results_are_not_views_of_the_next_inference(example_xml, runner):
    rng = np.random.default_rng(1)
    with Session.open(example_xml) as s:
        x1, x2 = (rng.standard_normal((1, 48)).astype(np.float32) for _ in range(2))
        first = s.run(x1)
        kept = first.copy()
        s.run(x2)
        np.testing.assert_array_equal(first, kept)


def test_several_inputs_and_outputs_in_order(two_outputs, runner):
    compiled = reference(two_outputs)
    rng = np.random.default_rng(2)
    with Session.open(two_outputs) as s:
        assert [i.name for i in s.io.inputs] == ["a", "b"] and [o.name for o in s.io.outputs] == ["y", "s"]
        for batch in (2, 4):
            feed = {"a": rng.standard_normal((batch, 5)).astype(np.float32), "b": rng.integers(0, 9, (batch, 3))}
            out = s.run_all(feed)
            y, total = out["y"], out["s"]
            want = compiled(feed)
            np.testing.assert_array_equal(y, want[0])
            np.testing.assert_array_equal(total, want[1])
            assert total.dtype == np.int64
            np.testing.assert_array_equal(s.infer(s.prepare(feed)), want[0])


def test_close_is_idempotent(example_xml):
    s = Session.open(example_xml)
    s.run(np.zeros(48, np.float32))
    s.close()
    s.close()
