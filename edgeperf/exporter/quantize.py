"""fp32 ONNX -> fp16 (onnxconverter-common, fp32 inputs/outputs kept) or int8 (onnxruntime.quantization,
dynamic or static QDQ with calibration data). Both work file to file inside the exporter's private folder."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

from edgeperf.errors import BadInput, require
from edgeperf.exporter.calibration import CalibrationData

# Static QDQ quantizes these ops' inputs, not their outputs: ORT still runs them on int8 (QGemm, float output),
# and the float activation after them (ELU, tanh) reads the int32 accumulation, not a second 8-bit rounding of
# it (measured on the bundled references: scripts/int8_placement.py). NVIDIA's placement for TensorRT is the same.
# Conv is not in it: ORT runs a Conv without an output Q in float.
UNQUANTIZED_OUTPUTS = ["Gemm", "MatMul"]
WEIGHTED = {"Gemm", "MatMul", "Conv", "ConvTranspose"}
QUANT_OPS = {"QuantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "QLinearMatMul", "ConvInteger", "QLinearConv"}


@contextlib.contextmanager
def _quiet():
    """onnxruntime.quantization and onnxconverter-common log and print advice; keep the CLI's output ours."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def to_fp16(src: Path, dst: Path) -> dict:
    import onnx

    float16 = require("onnxconverter_common.float16", "export", "for fp16 export", package="onnxconverter-common")
    model = onnx.load(str(src))
    extra = {}
    if any(i.type.tensor_type.elem_type != onnx.TensorProto.FLOAT for i in model.graph.input):
        # A uint8 image input is cast to float inside: the converter retypes that Cast's output but not its
        # `to` attribute (the graph then fails onnx.checker); keep Cast in fp32, it inserts the casts around.
        extra["op_block_list"] = [*float16.DEFAULT_OP_BLOCK_LIST, "Cast"]
    with _quiet():
        half = float16.convert_float_to_float16(model, keep_io_types=True, **extra)
    onnx.save(half, str(dst))
    return {"method": "onnxconverter-common convert_float_to_float16", "io": "float32 (kept)"}


def float_tail(graph) -> list[str]:
    """The nodes after the last weighted layer (tanh, the action scaling, clip, argmax): static int8 keeps them in
    float. They cost nothing to run in float, and quantized they clip every action to the range the calibration
    episodes happened to reach (measured: vision/pendulum calibrated on 3 episodes, max error 0.47 -> 0.25)."""
    consumers: dict[str, list[int]] = {}
    for i, node in enumerate(graph.node):
        for name in node.input:
            consumers.setdefault(name, []).append(i)
    feeds = [False] * len(graph.node)  # whether a weighted layer lies downstream of the node
    for i in reversed(range(len(graph.node))):  # ONNX keeps nodes in topological order: consumers come later
        downstream = [c for out in graph.node[i].output for c in consumers.get(out, [])]
        feeds[i] = any(graph.node[c].op_type in WEIGHTED or feeds[c] for c in downstream)
    # A nameless node cannot be named to onnxruntime's nodes_to_exclude: it is quantized as before.
    return [n.name for n, f in zip(graph.node, feeds, strict=True) if n.name and n.op_type not in WEIGHTED and not f]


def to_int8(src: Path, dst: Path, mode: str, calib: CalibrationData | None, *, symmetric: bool = False) -> dict:
    """Quantize `src` to `dst`. mode: dynamic (weights int8, activations quantized at run time: no calibration)
    or static (QDQ, activation ranges from `calib`). symmetric: int8 activations with zero point 0, as TensorRT
    requires; otherwise uint8 activations, int8 weights (the onnxruntime CPU default)."""
    import onnx

    q = require("onnxruntime.quantization", "ort", "for int8 export", package="onnxruntime")
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = dst.with_name(dst.stem + ".pre.onnx")
    with _quiet():
        # Symbolic shape inference and graph clean-up first: dynamo-exported graphs quantize only after it.
        quant_pre_process(str(src), str(pre), skip_symbolic_shape=False)
        if mode == "dynamic":
            q.quantize_dynamic(str(pre), str(dst), weight_type=q.QuantType.QInt8, per_channel=False)
        elif mode == "static":
            if calib is None:
                raise BadInput("static int8 quantization needs calibration observations")
            model = onnx.load(str(pre))
            inp = model.graph.input[0]
            batch = inp.type.tensor_type.shape.dim[0]
            batch_size = batch.dim_value if batch.HasField("dim_value") and batch.dim_value > 0 else 32
            tail = float_tail(model.graph)
            q.quantize_static(
                str(pre),
                str(dst),
                calib.reader(inp.name, batch_size),
                quant_format=q.QuantFormat.QDQ,
                activation_type=q.QuantType.QInt8 if symmetric else q.QuantType.QUInt8,
                weight_type=q.QuantType.QInt8,
                per_channel=True,
                calibrate_method=q.CalibrationMethod.MinMax,
                nodes_to_exclude=tail,
                extra_options={
                    "ActivationSymmetric": symmetric,
                    "WeightSymmetric": True,
                    "OpTypesToExcludeOutputQuantization": UNQUANTIZED_OUTPUTS,
                },
            )
        else:
            raise BadInput(f"--quantization {mode}: choose dynamic or static")
    pre.unlink(missing_ok=True)
    ops = [n.op_type for n in onnx.load(str(dst)).graph.node]
    info = {
        "mode": mode,
        "method": f"onnxruntime.quantization.quantize_{mode} after quant_pre_process",
        "weights": "int8 per-channel symmetric" if mode == "static" else "int8 per-tensor",
        "activations": (
            ("int8 symmetric" if symmetric else "uint8 asymmetric")
            + ", ranges from calibration (MinMax), QDQ format; Gemm/MatMul outputs and the ops after the last"
            " weighted layer left in float"
            if mode == "static"
            else "quantized at run time per inference (DynamicQuantizeLinear)"
        ),
        "quantized_nodes": sum(op in QUANT_OPS for op in ops),
    }
    if calib is not None and mode == "static":
        info["calibration"] = calib.describe()
    return info
