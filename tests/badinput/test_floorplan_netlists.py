"""Bad netlists for `--domain floorplan:PATH`: each one line, exit 2, naming what is wrong (and the line of a
malformed file), before any episode runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
pytest.importorskip("gymnasium")

from tests.domains.floorplan.test_cost import PBTXT  # noqa: E402


def _net(**change) -> dict:
    doc = {
        "format": "edgeperf.netlist/1",
        "name": "bad",
        "canvas": {"width": 100, "height": 50, "columns": 10, "rows": 5},
        "macros": [
            {"name": "F1", "width": 20, "height": 20, "x": 20, "y": 20, "fixed": True},
            {"name": "F2", "width": 20, "height": 20, "x": 70, "y": 20, "fixed": True},
            {"name": "M", "width": 10, "height": 10},
        ],
        "clusters": [{"name": "C", "width": 5, "height": 5, "x": 50, "y": 25}],
        "ports": [{"name": "P", "x": 0, "y": 10}],
        "nets": [{"pins": [["M", 0, 5], ["C"], ["P"]]}, {"pins": [["F1"], ["M"]]}],
    }
    for key, value in change.items():
        value(doc) if callable(value) else doc.__setitem__(key, value)
    return doc


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Identity", ["obs"], ["action"])],
        "m",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["b", 1])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["b", 1])],
    )
    path = tmp_path_factory.mktemp("floorplan_bad") / "m.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def _move(name, x, y):
    def edit(doc):
        m = next(m for m in doc["macros"] if m["name"] == name)
        m["x"], m["y"] = x, y

    return edit


def _grow(doc):
    doc["macros"][2]["width"] = 120


def _dangle(doc):
    doc["nets"].append({"pins": [["M"], ["Q7"]]})


def _lonely(doc):
    doc["nets"].append({"pins": [["P"]]})


CASES = [
    ("overlapping fixed macros", _move("F2", 35, 25), "fixed macros F1 and F2 overlap"),
    ("macro larger than the canvas", _grow, "macro M (120 x 10) is larger than the canvas (100 x 50)"),
    ("net naming an unknown node", _dangle, "net 2 is dangling: it names node 'Q7'"),
    ("net with one pin", _lonely, "net 2 is dangling: it has 1 pin(s)"),
    ("fixed macro outside", _move("F1", 5, 20), "fixed macro F1 lies outside the canvas"),
]


@pytest.mark.parametrize(("what", "edit", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_netlists(bad, model, tmp_path, what, edit, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_net(x=edit), indent=1))
    r = bad(2, "validate", model, "--domain", f"floorplan:{path}", "--reference", model)
    assert message in r.err, r.err


def test_the_good_netlist_is_a_domain(tmp_path):
    from edgeperf.domains import base

    path = tmp_path / "good.json"
    path.write_text(json.dumps(_net()))
    env = base.make(f"floorplan:{path}").env(0)
    assert env.observation_space.shape == (7, 5, 10) and np.asarray(env.action_masks()).any()


def test_malformed_json_names_the_line(bad, model, tmp_path):
    text = json.dumps(_net(), indent=1).splitlines()
    text[6] = text[6] + " oops"
    path = tmp_path / "broken.json"
    path.write_text("\n".join(text))
    r = bad(2, "validate", model, "--domain", f"floorplan:{path}", "--reference", model)
    assert "line 7" in r.err and "not JSON" in r.err, r.err


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.replace('f: 10 } }\n  attr { key: "height"', 'f: 10 } \n  attr { key: "height"', 1),
            "line 5: this '{' is never closed",
        ),
        (lambda t: t.replace('placeholder: "PORT"', 'placeholder: "PORTAL"'), "line 30: node P has type 'PORTAL'"),
        (lambda t: t.replace("{ f: 15 }", "{ f: 1x5 }", 1), "line 10: attr x: '1x5' is not a number"),
        (lambda t: t.replace('input: "C"', 'input: "CC"'), "names node 'CC'"),
        (lambda t: t.replace("# FP bbox: {0.0 0.0} {100.0 50.0}\n", ""), "width, height missing"),
        (lambda t: t.replace('name: "A/p"', 'name: "A/p'), "line 14"),
    ],
    ids=["unbalanced brace", "unknown type", "bad number", "dangling sink", "no canvas", "unterminated string"],
)
def test_malformed_pbtxt_names_the_line(bad, model, tmp_path, edit, message):
    path = tmp_path / "netlist.pb.txt"
    path.write_text(edit(PBTXT))
    r = bad(2, "validate", model, "--domain", f"floorplan:{path}", "--reference", model)
    assert message in r.err, r.err
