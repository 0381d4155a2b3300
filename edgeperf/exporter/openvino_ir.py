"""ONNX -> OpenVINO IR (.xml + .bin) with openvino.convert_model and save_model.

Precision is explicit: `save_model` compresses weights to fp16 by default, so compress_to_fp16 is set from
--precision every time. int8 IR comes from a static QDQ ONNX (onnxruntime.quantization with the calibration
data): OpenVINO turns the Q/DQ pairs into FakeQuantize and runs those layers in int8. The inference precision
of floating-point layers is a runtime setting (INFERENCE_PRECISION_HINT), which the OpenVINO session sets
explicitly because CPUs with bf16 support otherwise infer in bf16.
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.errors import BadInput, require


def require_openvino():
    return require("openvino", "openvino", "to export OpenVINO IR")


def convert(onnx_path: Path, xml_path: Path, precision: str) -> dict:
    ov = require_openvino()
    try:
        model = ov.convert_model(str(onnx_path))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise BadInput(f"OpenVINO could not convert the ONNX graph: {first}") from None
    compress = precision == "fp16"
    ov.save_model(model, str(xml_path), compress_to_fp16=compress)
    return {
        "converter": "openvino.convert_model + save_model",
        "openvino_version": ov.get_version(),
        "compress_to_fp16": compress,
        "weights": {"fp32": "fp32", "fp16": "fp16 (compressed)", "int8": "int8 (FakeQuantize from QDQ)"}[precision],
    }
