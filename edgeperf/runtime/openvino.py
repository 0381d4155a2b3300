"""OpenVINO backend (the `openvino` extra). Precision is explicit: on CPUs with bf16 support OpenVINO
otherwise infers in bf16 and silently changes outputs.

Inference goes through OpenVINO's C API (libopenvino_c, shipped in every openvino wheel) by ctypes: the
Python binding's `InferRequest.infer` builds a dict of output arrays on every call, which cost 2-9 us per
inference on top of a 13 us policy here, so edgeperf measured 1.9x what benchmark_app reports for the same
IR and settings (scripts/bench_backends.py). The Python API still reads the model for its input/output
specs, and runs inference where the C library cannot be found.
"""

from __future__ import annotations

import ctypes
import os
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
            raise BadInput(
                f"{self.path} is not a model OpenVINO can read: {_reason(str(exc), exc)}; an IR is the .xml with "
                "its .bin beside it: copy both, or export it again"
            ) from None
        # benchmark_app's latency settings (-api sync -nireq 1 -nstreams 1 -nthreads 1) plus the precision.
        config = {"INFERENCE_PRECISION_HINT": PRECISION_HINTS[precision], "PERFORMANCE_HINT": "LATENCY"}
        if threads and target == "CPU":
            config["INFERENCE_NUM_THREADS"] = threads
            config["NUM_STREAMS"] = 1
        self.io = IOSpec(
            inputs=tuple(_spec(p) for p in model.inputs),
            outputs=tuple(_spec(p) for p in model.outputs),
            metadata=artifact.read_sidecar(self.path),
        )
        batch = self.io.inputs[0].shape[0] if self.io.inputs else None
        self.max_batch = batch if isinstance(batch, int) and batch > 0 else None
        lib = _c_library(ov) if _CRequest.fits(target, self.io) else None
        if lib is None:
            self._request = _PyRequest(core.compile_model(model, target, config), self.io)
        else:
            self._request = _CRequest(lib, self.path, target, config, self.io)
        self.options = {"threads": threads, "precision": precision, "device": target}

    def infer(self, prepared) -> np.ndarray:
        return self._request.first(prepared.values())

    def infer_all(self, prepared) -> list[np.ndarray]:
        return self._request.run(prepared.values())

    def close(self) -> None:
        if self._request is not None:
            self._request.close()
        self._request = None


def _reason(message: str, fallback) -> str:
    """The line of an OpenVINO error that says what was wrong: its last one (the first ones name C++ files)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[-1].rstrip(".!") if lines else str(fallback)


def _spec(port) -> TensorSpec:
    shape = tuple(d.get_length() if d.is_static else None for d in port.get_partial_shape())
    return TensorSpec(port.get_any_name(), shape, port.get_element_type().to_dtype().name)


class _PyRequest:
    """Inference through the Python binding: the fallback where libopenvino_c is not found."""

    def __init__(self, compiled, io: IOSpec):
        self._request = compiled.create_infer_request()

    def run(self, arrays) -> list[np.ndarray]:
        # share_inputs: no copy into OpenVINO's tensors; outputs are copied because the next inference
        # reuses the request's buffers.
        self._request.infer(dict(enumerate(arrays)), share_inputs=True)
        return [t.data.copy() for t in self._request.output_tensors]

    def first(self, arrays) -> np.ndarray:
        return self.run(arrays)[0]

    def close(self) -> None:
        self._request = None


# -- the C API, by ctypes -------------------------------------------------------------------------------

_P = ctypes.c_void_p


class _Shape(ctypes.Structure):
    _fields_ = [("rank", ctypes.c_int64), ("dims", ctypes.POINTER(ctypes.c_int64))]


class _Property(ctypes.Structure):
    _fields_ = [("key", ctypes.c_char_p), ("value", ctypes.c_char_p)]


# numpy dtype name -> ov_element_type_e (openvino/c/ov_common.h)
_ELEMENT_TYPES = {
    "bool": 1,
    "float16": 3,
    "float32": 4,
    "float64": 5,
    "int8": 7,
    "int16": 8,
    "int32": 9,
    "int64": 10,
    "uint8": 16,
    "uint16": 17,
    "uint32": 18,
    "uint64": 19,
}
_LIBRARY_NAMES = ("libopenvino_c.so*", "libopenvino_c*.dylib", "openvino_c.dll")


def _c_library(ov):
    libs = Path(ov.__file__).parent / "libs"
    for pattern in _LIBRARY_NAMES:
        for candidate in sorted(libs.glob(pattern)):
            try:
                lib = ctypes.CDLL(str(candidate))
            except OSError:
                continue
            lib.ov_infer_request_infer.argtypes = [_P]
            lib.ov_infer_request_infer.restype = ctypes.c_int
            if hasattr(lib, "ov_get_last_err_msg"):
                lib.ov_get_last_err_msg.restype = ctypes.c_char_p
            return lib
    return None


class _CRequest:
    """One compiled model and one infer request of the C API, for the CPU. An inference is a copy into the
    input buffers registered with the request, one foreign call, and a copy out of views of the request's
    own output tensors. Setting our own output tensors instead costs 0.7 us per inference here: on a
    dynamic-shape model the CPU plugin then copies each output. The CPU plugin keeps an output's memory
    while its shape stays the same, so the views are taken again (on a fresh request) whenever the input
    shapes change; models whose output shapes can change otherwise (any dynamic axis but the batch) take
    the Python binding instead (see `fits`)."""

    def __init__(self, lib, path: Path, device: str, config: dict, io: IOSpec):
        self._lib = lib
        self._io = io
        self._core, self._compiled, self._req = _P(), _P(), _P()
        self._inputs: list[np.ndarray] = []
        self._outputs: list[np.ndarray] = []
        self._handles: list = []  # the output tensors the views read; freed with the request
        self._shapes: list | None = None
        self._one: np.ndarray | None = None  # the input buffer, when there is exactly one
        self._infer = lib.ov_infer_request_infer
        model = _P()
        self._check(lib.ov_core_create(ctypes.byref(self._core)), "start OpenVINO")
        self._check(lib.ov_core_read_model(self._core, os.fsencode(path), None, ctypes.byref(model)), f"read {path}")
        pairs = [(k.encode(), str(v).encode()) for k, v in config.items()]
        try:
            if hasattr(lib, "ov_core_compile_model_props"):
                props = (_Property * len(pairs))(*pairs)
                rc = lib.ov_core_compile_model_props(
                    self._core, model, device.encode(), ctypes.c_size_t(len(pairs)), props, ctypes.byref(self._compiled)
                )
            else:  # before OpenVINO 2026 only the variadic form exists
                flat = [ctypes.c_char_p(s) for pair in pairs for s in pair]
                rc = lib.ov_core_compile_model(
                    self._core, model, device.encode(), ctypes.c_size_t(len(flat)), ctypes.byref(self._compiled), *flat
                )
            self._check(rc, f"compile {path.name} for {device}")
        finally:
            lib.ov_model_free(model)

    @staticmethod
    def fits(device: str, io: IOSpec) -> bool:
        return (
            device == "CPU"
            and all(s.dtype in _ELEMENT_TYPES for s in io.inputs + io.outputs)
            and all(s.dynamic_dims in ([], [0]) for s in io.outputs)
        )

    def run(self, arrays) -> list[np.ndarray]:
        self._infer_on(arrays)
        return [out.copy() for out in self._outputs]

    def first(self, arrays) -> np.ndarray:
        """The first output alone: what Session.infer returns, without copying the others."""
        one = self._one
        if one is not None:
            # One input of the bound shape: no per-input loops (0.8 us of a 13 us policy here).
            (x,) = arrays
            if x.shape == one.shape:
                one[...] = x
                if self._infer(self._req):
                    self._check(1, "infer")
                return self._outputs[0].copy()
        self._infer_on(arrays)
        return self._outputs[0].copy()

    def _infer_on(self, arrays) -> None:
        shapes = [a.shape for a in arrays]
        if shapes != self._shapes:
            self._bind(shapes)
        for buf, a in zip(self._inputs, arrays, strict=True):
            buf[...] = a
        if self._infer(self._req):
            self._check(1, "infer")

    def _bind(self, shapes: list) -> None:
        self._free_request()
        self._check(
            self._lib.ov_compiled_model_create_infer_request(self._compiled, ctypes.byref(self._req)),
            "create an inference request",
        )
        self._inputs = [
            self._input_buffer(i, shape, spec.dtype)
            for i, (shape, spec) in enumerate(zip(shapes, self._io.inputs, strict=True))
        ]
        # One inference lets the request allocate its outputs at these input shapes.
        self._check(self._infer(self._req), "infer")
        self._outputs = [self._output_view(i, spec.dtype) for i, spec in enumerate(self._io.outputs)]
        self._shapes = shapes
        self._one = self._inputs[0] if len(self._inputs) == 1 else None

    def _input_buffer(self, index: int, shape: tuple, dtype: str) -> np.ndarray:
        lib, buf = self._lib, np.zeros(shape, dtype)
        dims = (ctypes.c_int64 * max(len(shape), 1))(*shape)
        c_shape, tensor = _Shape(), _P()
        self._check(lib.ov_shape_create(ctypes.c_int64(len(shape)), dims, ctypes.byref(c_shape)), "make a shape")
        try:
            self._check(
                lib.ov_tensor_create_from_host_ptr(
                    ctypes.c_int(_ELEMENT_TYPES[dtype]), c_shape, _P(buf.ctypes.data), ctypes.byref(tensor)
                ),
                "make an input tensor",
            )
        finally:
            lib.ov_shape_free(ctypes.byref(c_shape))
        try:
            self._check(
                lib.ov_infer_request_set_input_tensor_by_index(self._req, ctypes.c_size_t(index), tensor),
                f"set input {index}",
            )
        finally:
            lib.ov_tensor_free(tensor)  # the request holds its own reference; `buf` owns the memory
        return buf

    def _output_view(self, index: int, dtype: str) -> np.ndarray:
        lib, tensor, c_shape, data = self._lib, _P(), _Shape(), _P()
        self._check(
            lib.ov_infer_request_get_output_tensor_by_index(self._req, ctypes.c_size_t(index), ctypes.byref(tensor)),
            f"get output {index}",
        )
        self._handles.append(tensor)
        self._check(lib.ov_tensor_get_shape(tensor, ctypes.byref(c_shape)), "read an output shape")
        shape = tuple(c_shape.dims[i] for i in range(c_shape.rank))
        lib.ov_shape_free(ctypes.byref(c_shape))
        self._check(lib.ov_tensor_data(tensor, ctypes.byref(data)), "read an output")
        size = int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
        if not size:
            return np.zeros(shape, dtype)
        return np.frombuffer((ctypes.c_char * size).from_address(data.value), dtype).reshape(shape)

    def _check(self, status: int, what: str) -> None:
        if status:
            get = getattr(self._lib, "ov_get_last_err_msg", None)
            detail = (get() or b"").decode(errors="replace").strip().splitlines() if get else []
            raise BadInput(f"OpenVINO could not {what}: {detail[0] if detail else f'status {status}'}")

    def _free_request(self) -> None:
        self._outputs, self._inputs = [], []
        for tensor in self._handles:
            self._lib.ov_tensor_free(tensor)
        self._handles = []
        if self._req:
            self._lib.ov_infer_request_free(self._req)
        self._req, self._shapes, self._one = _P(), None, None

    def close(self) -> None:
        self._free_request()
        if self._compiled:
            self._lib.ov_compiled_model_free(self._compiled)
        if self._core:
            self._lib.ov_core_free(self._core)
        self._compiled = self._core = _P()

    __del__ = close
