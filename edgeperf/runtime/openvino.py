"""OpenVINO backend (the `openvino` extra). Precision is explicit: on CPUs with bf16 support OpenVINO
otherwise infers in bf16 and silently changes outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf import artifact
from edgeperf.errors import BadInput, HardwareMissing, require
from edgeperf.runtime.session import IOSpec, Session, TensorSpec

PRECISION_HINTS = {"fp32": "f32", "fp16": "f16", "bf16": "bf16"}


class OpenVinoSession(Session):
    backend = "openvino"

    def __init__(self, path: Path, device: str = "auto", threads: int | None = 1, precision: str = "fp32", **_):
        ov = require("openvino", "openvino", "to run OpenVINO models")
        self.path = Path(path)
        core = ov.Core()
        target = "CPU" if device == "auto" else device.upper()
        if target not in core.available_devices:
            raise HardwareMissing(
                f"OpenVINO here has no device {target} (it offers {', '.join(core.available_devices)})"
            )
        if precision not in PRECISION_HINTS:
            raise BadInput(f"unknown OpenVINO precision '{precision}'; choose {', '.join(PRECISION_HINTS)}")
        try:
            model = core.read_model(str(self.path))
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise BadInput(f"{self.path} is not a model OpenVINO can read: {first}") from None
        config = {"INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads and target == "CPU":
            config["INFERENCE_NUM_THREADS"] = threads
        self._compiled = core.compile_model(model, target, config)
        self._request = self._compiled.create_infer_request()
        self.options = {"threads": threads, "precision": precision, "device": target}
        self.io = IOSpec(
            inputs=tuple(_spec(p) for p in self._compiled.inputs),
            outputs=tuple(_spec(p) for p in self._compiled.outputs),
            metadata=artifact.read_sidecar(self.path),
        )
        batch = self.io.inputs[0].shape[0] if self.io.inputs else None
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else None

    def infer(self, prepared) -> np.ndarray:
        # share_inputs: no copy of the observation into OpenVINO's tensor; the output is copied out because
        # the next inference reuses the request's buffer.
        self._request.infer(prepared, share_inputs=True)
        return self._request.get_output_tensor(0).data.copy()

    def infer_all(self, prepared) -> list[np.ndarray]:
        self._request.infer(prepared, share_inputs=True)
        return [self._request.get_output_tensor(i).data.copy() for i in range(len(self.io.outputs))]

    def close(self) -> None:
        self._request = self._compiled = None


def _spec(port) -> TensorSpec:
    shape = tuple(d.get_length() if d.is_static else None for d in port.get_partial_shape())
    return TensorSpec(port.get_any_name(), shape, port.get_element_type().to_dtype().name)
