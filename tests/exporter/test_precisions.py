"""fp16, int8 (dynamic and static) and OpenVINO IR for real (onnxconverter-common, onnxruntime.quantization,
openvino), with their measured error against the torch original, and damaged artifacts failing parity."""

import json

import numpy as np
import onnx
import pytest

from edgeperf import artifact
from edgeperf.exporter import parity, quantize
from edgeperf.exporter.onnx import export
from edgeperf.runtime.session import Session

pytest.importorskip("torch")

CASES = [
    ("p.onnx", "fp16", "auto"),
    ("p.onnx", "int8", "dynamic"),
    ("p.onnx", "int8", "static"),
    ("p.xml", "fp32", "auto"),
    ("p.xml", "fp16", "auto"),
    ("p.xml", "int8", "auto"),
]


@pytest.mark.parametrize(("name", "precision", "mode"), CASES)
def test_precision_exports_pass_parity_within_their_stated_tolerance(name, precision, mode, tmp_path):
    out = tmp_path / name
    report = export("example:mlp", out, precision=precision, quantization=mode, parity_samples=256)
    par = report.results["parity"]
    atol, rtol = parity.TOLERANCES[precision]
    assert par["passed"], par
    assert par["tolerance"]["atol"] == atol and par["tolerance"]["rtol"] == rtol
    assert par["max_abs_error"] > 0  # measured, not assumed: a converted graph is never bit-identical
    assert report.model.precision == precision
    if precision == "int8":
        q = report.results["quantization"]
        assert q["quantized_nodes"] >= 3
        expected = "dynamic" if mode == "dynamic" else "static"
        assert q["mode"] == expected == report.config["quantization"]
        if expected == "static":
            assert q["calibration"]["source"] == "random-in-space" and q["calibration"]["observations"] == 512
    # no temp folder or stray file beside the artifact
    leftovers = {p.name for p in tmp_path.iterdir()} - {name, "p.bin", "p.xml.edgeperf.json"}
    assert leftovers == set()


def test_fp16_keeps_float32_inputs_and_outputs(tmp_path, example_onnx):
    out = tmp_path / "h.onnx"
    export(str(example_onnx), out, precision="fp16", check=False)
    model = onnx.load(str(out))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert model.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert {t.data_type for t in model.graph.initializer} == {onnx.TensorProto.FLOAT16}
    assert artifact.decode({p.key: p.value for p in model.metadata_props})["precision"] == "fp16"


def test_sizes_shrink_with_precision(tmp_path, example_onnx):
    sizes = {}
    for precision in ("fp32", "fp16", "int8"):
        sizes[precision] = export(str(example_onnx), tmp_path / f"{precision}.onnx", precision=precision, check=False)
        sizes[precision] = sizes[precision].results["size_bytes"]
    assert sizes["fp32"] > 1.8 * sizes["fp16"] > 1.8 * 1.8 * sizes["int8"] * 0.9


def test_openvino_ir_files_sidecar_and_explicit_compression(tmp_path, example_onnx):
    fp32, fp16 = tmp_path / "a.xml", tmp_path / "b.xml"
    r32 = export(str(example_onnx), fp32, check=False)
    r16 = export(str(example_onnx), fp16, precision="fp16", check=False)
    assert r32.results["openvino"]["compress_to_fp16"] is False and r16.results["openvino"]["compress_to_fp16"]
    assert (tmp_path / "a.bin").stat().st_size > 1.9 * (tmp_path / "b.bin").stat().st_size  # fp32 vs fp16 weights
    side = json.loads(artifact.sidecar(fp16).read_text())
    assert side["precision"] == "fp16" and side["format"] == "openvino" and side["artifact"]["bin"] == "b.bin"
    with Session.open(fp16) as s:  # the runtime reads the sidecar
        meta = s.io.metadata
        assert meta["precision"] == "fp16" and meta["action_space"]["shape"] == [12]
        assert s.run(np.zeros(48, np.float32)).shape == (12,)
    assert set(r16.results["files"]) == {"b.xml", "b.bin", "b.xml.edgeperf.json"}


def test_static_calibration_is_stated_in_the_report(tmp_path, cli):
    r = cli(
        "export",
        "example:mlp",
        "-o",
        tmp_path / "s.onnx",
        "--precision",
        "int8",
        "--quantization",
        "static",
        "--calibration-samples",
        "64",
        "--json",
        tmp_path / "e.json",
    )
    assert r.code == 0, r.err
    assert "calibrated on 64 observations, random-in-space" in " ".join(r.out.split())
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["results"]["quantization"]["calibration"]["method"].startswith("standard normal")


@pytest.mark.parametrize("precision", ["fp16", "int8"])
def test_damaged_converted_artifact_fails_parity_with_exit_1(precision, tmp_path, cli, monkeypatch):
    """A converter that silently corrupts a weight (scaled by 1.5) must be caught by parity."""
    real = {"fp16": quantize.to_fp16, "int8": quantize.to_int8}[precision]

    def damaging(src, dst, *args, **kwargs):
        info = real(src, dst, *args, **kwargs)
        model = onnx.load(str(dst))
        init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
        w = onnx.numpy_helper.to_array(init)
        scaled = (w.astype(np.float32) * 1.5).astype(w.dtype) if w.dtype != np.int8 else np.clip(w * 2, -127, 127)
        init.CopyFrom(onnx.numpy_helper.from_array(scaled.astype(w.dtype), init.name))
        onnx.save(model, str(dst))
        return info

    monkeypatch.setattr(quantize, f"to_{precision}", damaging)
    out = tmp_path / "bad.onnx"
    r = cli("export", "example:mlp", "-o", out, "--precision", precision, "--json", tmp_path / "e.json")
    assert r.code == 1, r.err
    assert "parity failed" in r.err and len(r.err.strip().splitlines()) == 1
    assert out.exists()  # kept for inspection
    par = json.loads((tmp_path / "e.json").read_text())["results"]["parity"]
    assert not par["passed"] and par["elements_out_of_tolerance"] > 0


def test_option_combinations_that_make_no_sense_are_exit_2(tmp_path, cli):
    for args, message in [
        (["-o", tmp_path / "a.onnx", "--quantization", "static"], "applies to --precision int8 only"),
        (["-o", tmp_path / "a.xml", "--precision", "int8", "--quantization", "dynamic"], "needs static"),
        (["-o", tmp_path / "a.xml", "--format", "onnx"], "does not fit --format onnx"),
        (["-o", tmp_path / "a.onnx", "--parity-samples", "0"], "is outside 1.."),
    ]:
        r = cli("export", "example:mlp", *args)
        assert r.code == 2 and message in r.err, (args, r.err)
    assert list(tmp_path.iterdir()) == []


def test_static_int8_leaves_gemm_outputs_in_float_yet_runs_them_on_int8(tmp_path):
    """onnxruntime's default quantizes a Gemm's output as well as its inputs, so the ELU after it reads an 8-bit
    rounding of the int32 accumulation before the next layer rounds again: on the bundled references that doubles
    the rounding for nothing (scripts/int8_placement.py). Without the output Q, ORT must still fuse the Gemm into
    its int8 kernel (QGemm), or int8 would only be fp32 with extra steps."""
    import onnxruntime as ort

    out = tmp_path / "s.onnx"
    export("example:mlp", out, precision="int8", quantization="static", parity_samples=64, calibration_samples=64)
    graph = onnx.load(str(out)).graph
    gemm_out = {o for n in graph.node if n.op_type == "Gemm" for o in n.output}
    assert gemm_out and not [n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] in gemm_out]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(tmp_path / "fused.onnx")
    ort.InferenceSession(str(out), options, providers=["CPUExecutionProvider"])
    fused = [n.op_type for n in onnx.load(str(tmp_path / "fused.onnx")).graph.node]
    assert fused.count("QGemm") == len(gemm_out) and "Gemm" not in fused


def test_static_int8_keeps_the_ops_after_the_last_weighted_layer_in_float(tmp_path):
    """The tanh and the x2 of the gym:Pendulum-v1 reference: quantized, they would clip every action to the range
    the calibration observations happened to reach."""
    out = tmp_path / "p.onnx"
    export("reference:gym:Pendulum-v1", out, precision="int8", quantization="static", check=False)
    graph = onnx.load(str(out)).graph
    tail = {o for n in graph.node if n.op_type in ("Tanh", "Mul") for o in n.output}
    assert len(tail) == 2 and not [n for n in graph.node if n.op_type == "QuantizeLinear" and n.input[0] in tail]
    assert [n.op_type for n in graph.node][-2:] == ["Tanh", "Mul"]  # nothing quantizes the action after them
