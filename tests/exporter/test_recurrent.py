"""Recurrent policies exported for real (torch's exporter, onnxruntime, onnxconverter-common, OpenVINO): the
three source forms, the artifact's explicit state and its metadata, and parity over sequences."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from edgeperf.errors import BadInput
from tests.recurrent_helpers import forget_state, rsl_torchscript, write_nets

pytest.importorskip("torch")
onnx = pytest.importorskip("onnx")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> (export report, artifact path) for the source forms edgeperf reads."""
    from edgeperf.exporter.onnx import export

    d = tmp_path_factory.mktemp("recurrent")
    nets = write_nets(d)
    pt = rsl_torchscript(d)
    out = {}
    for name, kw in {
        "gru": {"factory": f"{nets}:gru"},
        "lstm": {"factory": f"{nets}:lstm"},
        "rsl": {"source": str(pt)},
    }.items():
        path = d / f"{name}.onnx"
        out[name] = (export(kw.pop("source", None), path, **kw), path)
    return out


def _meta(path) -> dict:
    model = onnx.load(str(path))
    return {p.key: json.loads(p.value) for p in model.metadata_props}


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("gru", {"h_in": [1, 16]}),
        ("lstm", {"h_in": [2, 16], "c_in": [2, 16]}),
        ("rsl", {"h_in": [2, 16], "c_in": [2, 16]}),
    ],
)
def test_each_source_form_becomes_an_explicit_state_artifact_that_passes_sequence_parity(exported, name, state):
    report, path = exported[name]
    par = report.results["parity"]
    assert par["passed"], par
    rec = par["recurrent"]
    assert rec["steps"] == 200 and len(rec["max_abs_error_per_step"]) == 200
    assert rec["drift_ratio"] <= 10
    assert par["max_abs_error"] < 1e-5
    # the state is explicit: inputs obs + h_in (+ c_in), outputs action + h_out (+ c_out), described in metadata
    model = onnx.load(str(path))
    assert [i.name for i in model.graph.input] == ["obs", *state]
    assert [o.name for o in model.graph.output] == ["action", *(n.replace("_in", "_out") for n in state)]
    meta = _meta(path)["edgeperf.state"]
    assert {m["input"]: m["shape"] for m in meta} == state
    assert all(m["initial"] == "zeros" and m["batch_axis"] == 0 for m in meta)
    assert report.results["source"] if name != "rsl" else True


def test_the_rsl_rl_form_is_read_from_its_buffers(exported):
    report, _ = exported["rsl"]
    assert "rsl_rl" in report.results["parity"]["recurrent"]["form"]


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_fp16_and_int8_recurrent_artifacts_pass_their_tolerances_over_sequences(tmp_path, precision):
    from edgeperf.exporter.onnx import export

    nets = write_nets(tmp_path)
    report = export(None, tmp_path / f"{precision}.onnx", factory=f"{nets}:lstm", precision=precision)
    par = report.results["parity"]
    assert par["passed"], par
    assert par["tolerance"]["atol"] == {"fp16": 5e-3, "int8": 0.15}[precision]
    assert par["max_abs_error"] > 0  # converted for real: not the fp32 graph under another name


def test_sequence_parity_fails_an_artifact_whose_state_is_reset_every_step(exported, tmp_path):
    """The bug parity over sequences exists for: per-observation parity cannot see it (step 0 is exact)."""
    from edgeperf.exporter import sources
    from edgeperf.exporter.parity import sequence_parity

    _, path = exported["lstm"]
    broken = forget_state(path, tmp_path / "forgetful.onnx")
    src = sources.load(str(path))  # the faithful artifact as the original (an ONNX source with state)
    par = sequence_parity(src, broken, "fp32")
    assert not par["passed"]
    per_step = par["recurrent"]["max_abs_error_per_step"]
    assert per_step[0] < 1e-6 < per_step[-1]  # exact at the first step (zero state both ways), wrong after


def test_an_onnx_source_with_state_is_retargeted_with_its_state(exported, tmp_path):
    from edgeperf.exporter.onnx import export

    _, path = exported["gru"]
    report = export(str(path), tmp_path / "gru16.onnx", precision="fp16")
    assert report.results["parity"]["passed"]
    assert _meta(tmp_path / "gru16.onnx")["edgeperf.state"][0]["input"] == "h_in"


def test_an_unlabelled_onnx_is_read_with_state_named_by_option(exported, tmp_path):
    from edgeperf.exporter.onnx import export

    _, path = exported["lstm"]
    model = onnx.load(str(path))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(
        BadInput, match=r"\['h_in', 'c_in'\] that look like recurrent state.*--state h_in:h_out,c_in:c_out"
    ):
        export(str(bare), tmp_path / "x.onnx")
    with pytest.raises(BadInput, match=r"\['c_in'\].*--state does not name them"):
        export(str(bare), tmp_path / "x.onnx", state="h_in:h_out")
    report = export(str(bare), tmp_path / "named.onnx", state="h_in:h_out,c_in:c_out")
    assert report.results["parity"]["passed"]
    assert [m["input"] for m in _meta(tmp_path / "named.onnx")["edgeperf.state"]] == ["h_in", "c_in"]


def test_a_buffer_module_whose_forward_does_more_than_rnn_then_actor_is_refused(tmp_path):
    """The rebuilt explicit step is checked against the module itself: exporting it would be another policy."""
    import torch

    from edgeperf.exporter import sources

    class Skips(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(4, 8)
            self.actor = torch.nn.Linear(8, 2)
            self.register_buffer("hidden_state", torch.zeros(1, 1, 8))

        def forward(self, x):
            y, h = self.rnn(x.unsqueeze(0), self.hidden_state)
            self.hidden_state[:] = h
            return self.actor(y.squeeze(0)) + x[:, :2]  # a skip connection the rebuilt step lacks

        @torch.jit.export
        def reset_memory(self):
            self.hidden_state[:] = 0.0

    path = tmp_path / "skips.pt"
    torch.jit.script(Skips()).save(str(path))
    with pytest.raises(BadInput, match="differs from the module itself"):
        sources.load(str(path))


def test_a_factory_lstm_with_another_forward_signature_says_the_convention(tmp_path):
    (tmp_path / "odd.py").write_text(
        "import torch\n"
        "class P(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__(); self.lstm = torch.nn.LSTM(4, 8); self.head = torch.nn.Linear(8, 2)\n"
        "    def forward(self, obs):\n"
        "        return self.head(self.lstm(obs.unsqueeze(0))[0].squeeze(0))\n"
        "def make(): return P()\n"
    )
    from edgeperf.exporter import sources

    with pytest.raises(BadInput, match=r"forward\(obs, state\) -> \(action, state\)"):
        sources.load(None, factory=f"{tmp_path / 'odd.py'}:make")


def test_static_int8_calibrates_every_state_input_on_the_states_it_meets(tmp_path):
    # The calibration feeds the state inputs what the fp32 artifact carries over sequences: without them
    # quantize_static cannot run (every input needs data), with random states the ranges would be off.
    from edgeperf.exporter.onnx import export

    nets = write_nets(tmp_path)
    report = export(None, tmp_path / "s.onnx", factory=f"{nets}:lstm", precision="int8", quantization="static")
    par, q = report.results["parity"], report.results["quantization"]
    assert par["passed"] and par["max_abs_error"] > 0, par  # quantized for real, within int8's tolerance
    assert q["mode"] == "static" and q["quantized_nodes"] > 0
    assert "state carried" in q["calibration"]["method"]
    per_step = par["recurrent"]["max_abs_error_per_step"]
    assert len(per_step) == 200 and max(per_step[-10:]) <= 10 * max(*per_step[:10], 1e-3)  # no drift


def test_openvino_ir_carries_the_state_in_its_sidecar(tmp_path):
    pytest.importorskip("openvino")
    from edgeperf.artifact import read_sidecar
    from edgeperf.exporter.onnx import export

    nets = write_nets(tmp_path)
    report = export(None, tmp_path / "gru.xml", factory=f"{nets}:gru")
    assert report.results["parity"]["passed"]
    assert read_sidecar(tmp_path / "gru.xml")["state"][0]["shape"] == [1, 16]


def test_rsl_rl_own_onnx_form_fixed_shapes_layers_first(tmp_path):
    """rsl_rl's export_policy_as_onnx for an LSTM: obs [1, n], h_in/c_in [layers, 1, hidden], outputs actions,
    h_out, c_out, no dynamic axes and no metadata. Named with --state, it is read, re-targeted and run with its
    state carried, in its own layout."""
    import torch

    from edgeperf.exporter.onnx import export
    from edgeperf.runtime.session import Session

    class OnnxPolicyExporter(torch.nn.Module):  # the shape of rsl_rl's exporter, written here
        def __init__(self):
            super().__init__()
            torch.manual_seed(1)
            self.rnn = torch.nn.LSTM(6, 8, num_layers=2)
            self.actor = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ELU(), torch.nn.Linear(16, 3))

        def forward(self, x_in, h_in, c_in):
            x, (h, c) = self.rnn(x_in.unsqueeze(0), (h_in, c_in))
            return self.actor(x.squeeze(0)), h, c

    path = tmp_path / "policy.onnx"
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on LSTM export
        torch.onnx.export(
            OnnxPolicyExporter(),
            (torch.zeros(1, 6), torch.zeros(2, 1, 8), torch.zeros(2, 1, 8)),
            str(path),
            dynamo=False,
            input_names=["obs", "h_in", "c_in"],
            output_names=["actions", "h_out", "c_out"],
        )
    with pytest.raises(BadInput, match="--state h_in:h_out,c_in:c_out"):
        Session.open(path)
    report = export(str(path), tmp_path / "fp16.onnx", precision="fp16", state="h_in:h_out,c_in:c_out")
    assert report.results["parity"]["passed"], report.results["parity"]
    meta = _meta(tmp_path / "fp16.onnx")["edgeperf.state"]
    assert meta[0] == {**meta[0], "shape": [2, 1, 8], "batch_axis": None}  # its own fixed layout, kept
    with pytest.raises(BadInput, match="fixed layout"):  # static int8 calibrates batch-first states only
        export(str(path), tmp_path / "i8.onnx", precision="int8", quantization="static", state="h_in:h_out,c_in:c_out")
    assert not (tmp_path / "i8.onnx").exists()
    with Session.open(tmp_path / "fp16.onnx") as s:
        first = s.run(np.zeros(6, np.float32))
        second = s.run(np.zeros(6, np.float32))
    assert not np.allclose(first, second)  # the memory moved
