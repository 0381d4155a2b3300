"""The Session contract: every output by name, a failure inside the backend named as one, files that are not
models refused before a loader can block on them, and policy sources kept out of Session.open."""

import os
import threading

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from edgeperf import pipeline
from edgeperf.errors import BadInput
from edgeperf.runtime.session import Session


def _two_outputs(path, batch="b"):
    """obs -> (action = -obs, value = sum(obs)): a model with a second output, like an actor-critic."""
    graph = helper.make_graph(
        [
            helper.make_node("Neg", ["obs"], ["action"]),
            helper.make_node("ReduceSum", ["obs", "axes"], ["value"], keepdims=1),
        ],
        "g",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [batch, 4])],
        [
            helper.make_tensor_value_info("action", TensorProto.FLOAT, [batch, 4]),
            helper.make_tensor_value_info("value", TensorProto.FLOAT, [batch, 1]),
        ],
        [helper.make_tensor("axes", TensorProto.INT64, [1], [1])],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    return path


def test_every_output_by_name_and_the_action_by_default(tmp_path):
    obs = np.arange(8, dtype=np.float32).reshape(2, 4)
    with Session.open(_two_outputs(tmp_path / "m.onnx")) as s:
        np.testing.assert_array_equal(s.run(obs), -obs)
        out = s.run_all(obs)
        assert list(out) == ["action", "value"]
        np.testing.assert_array_equal(out["value"], obs.sum(axis=1, keepdims=True))
        single = s.run_all(obs[1])  # one observation in, no batch axis out
        assert single["action"].shape == (4,) and single["value"].shape == (1,)


def test_a_failure_inside_the_backend_names_the_model_and_the_input(tmp_path):
    # Reshape to a fixed [1, 4]: fine for one observation, fails inside onnxruntime for a batch of 3
    graph = helper.make_graph(
        [helper.make_node("Reshape", ["obs", "shape"], ["action"])],
        "g",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["b", 4])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor("shape", TensorProto.INT64, [2], [1, 4])],
    )
    path = tmp_path / "fixed.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=10), str(path))
    with Session.open(path) as s:
        assert s.run(np.zeros(4, np.float32)).shape == (4,)
        with pytest.raises(
            BadInput, match=r"fixed.onnx failed inside onnxruntime on an input of shape \{'obs': \[3, 4\]\}"
        ):
            s.run(np.zeros((3, 4), np.float32))


def test_a_fifo_is_refused_not_read_forever(tmp_path):
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    said = []

    def open_it():
        try:
            Session.open(fifo)
        except BadInput as exc:
            said.append(str(exc))

    t = threading.Thread(target=open_it, daemon=True)
    t.start()
    t.join(10)
    assert said and "not a regular file" in said[0]


def test_a_name_longer_than_the_os_allows_is_bad_input():
    with pytest.raises(BadInput, match="cannot open model"):
        Session.open("x" * 5000 + ".onnx")


def test_policy_sources_open_through_the_pipeline_not_session_open():
    with pytest.raises(BadInput, match="policy source, not an artifact"):
        Session.open("example:mlp")
    with pipeline.open_policy("example:mlp") as s:
        assert s.backend == "torch" and s.run(np.zeros(48, np.float32)).shape == (12,)
    with pytest.raises(BadInput, match="runs on --backend torch"):
        pipeline.open_policy("example:mlp", backend="onnxruntime")
