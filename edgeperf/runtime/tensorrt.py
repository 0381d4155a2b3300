"""TensorRT backend: a serialized engine (.engine/.plan) run with the TensorRT 10 Python API.

Device memory and copies go through the CUDA runtime library (libcudart) by ctypes, so no extra Python
package is needed beside tensorrt. Host buffers are pinned; a single stream is reused; buffers are sized
for the engine profile's largest shapes once, at open.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, HardwareMissing, require
from edgeperf.exporter import metadata
from edgeperf.runtime.session import IOSpec, Session, TensorSpec

TRT_HINT = (
    "TensorRT ships with JetPack on a Jetson (python3-libnvinfer); on an x86 machine with an NVIDIA GPU: "
    "pip install tensorrt"
)
_H2D, _D2H = 1, 2


class _CudaRT:
    """The few CUDA runtime calls the hot path needs."""

    def __init__(self):
        names = [ctypes.util.find_library("cudart"), "libcudart.so", "libcudart.so.13", "libcudart.so.12"]
        for name in filter(None, names):
            try:
                self.lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        else:
            raise HardwareMissing("the CUDA runtime library (libcudart) is not installed: TensorRT needs a CUDA GPU")

    def check(self, code: int, what: str) -> None:
        if code != 0:
            self.lib.cudaGetErrorString.restype = ctypes.c_char_p
            raise HardwareMissing(f"CUDA {what} failed: {self.lib.cudaGetErrorString(code).decode()}")

    def malloc(self, nbytes: int) -> int:
        ptr = ctypes.c_void_p()
        self.check(self.lib.cudaMalloc(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cudaMalloc")
        return ptr.value

    def host_array(self, shape, dtype) -> np.ndarray:
        """A page-locked host array: copies to and from the GPU run at full speed."""
        ptr = ctypes.c_void_p()
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        self.check(self.lib.cudaMallocHost(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cudaMallocHost")
        buf = (ctypes.c_byte * nbytes).from_address(ptr.value)
        return np.frombuffer(buf, dtype=dtype).reshape(shape)

    def stream(self) -> int:
        s = ctypes.c_void_p()
        self.check(self.lib.cudaStreamCreate(ctypes.byref(s)), "cudaStreamCreate")
        return s.value

    def copy(self, dst: int, src: int, nbytes: int, kind: int, stream: int) -> None:
        self.check(
            self.lib.cudaMemcpyAsync(
                ctypes.c_void_p(dst), ctypes.c_void_p(src), ctypes.c_size_t(nbytes), kind, ctypes.c_void_p(stream)
            ),
            "cudaMemcpyAsync",
        )

    def sync(self, stream: int) -> None:
        self.check(self.lib.cudaStreamSynchronize(ctypes.c_void_p(stream)), "cudaStreamSynchronize")

    def free(self, ptr: int) -> None:
        self.lib.cudaFree(ctypes.c_void_p(ptr))


class TensorRTSession(Session):
    backend = "tensorrt"
    on_gpu = True

    def __init__(self, path: Path, device: str = "auto", **_):
        trt = require("tensorrt", None, "to run TensorRT engines", hint=TRT_HINT)
        if device not in ("auto", "cuda"):
            raise BadInput(f"TensorRT engines run on the GPU (--accelerator cuda), not '{device}'")
        self.path = Path(path)
        self._cuda = _CudaRT()
        self._logger = trt.Logger(trt.Logger.WARNING)
        runtime = trt.Runtime(self._logger)
        engine = runtime.deserialize_cuda_engine(self.path.read_bytes())
        if engine is None:
            raise BadInput(
                f"{self.path} is not a TensorRT engine this TensorRT {trt.__version__} can load (engines "
                "are tied to the TensorRT version and GPU that built them: rebuild it here)"
            )
        self._engine, self._context = engine, engine.create_execution_context()
        self._stream = self._cuda.stream()
        inputs, outputs = [], []
        self._buffers: dict[str, tuple[int, np.ndarray]] = {}  # name -> (device pointer, pinned host array)
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            dtype = np.dtype(trt.nptype(engine.get_tensor_dtype(name)))
            shape = tuple(engine.get_tensor_shape(name))
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            largest = tuple(engine.get_tensor_profile_shape(name, 0)[2]) if is_input and -1 in shape else shape
            if not is_input and -1 in shape:
                largest = None  # sized below, once the input shapes are known
            spec = TensorSpec(name, tuple(d if d >= 0 else None for d in shape), dtype.name)
            (inputs if is_input else outputs).append((spec, largest))
        for spec, largest in inputs:
            self._context.set_input_shape(spec.name, largest)
            self._alloc(spec.name, largest, spec.dtype)
        for spec, largest in outputs:
            self._alloc(spec.name, largest or tuple(self._context.get_tensor_shape(spec.name)), spec.dtype)
        self._batch_shapes: dict[str, tuple] = {}
        self.io = IOSpec(tuple(s for s, _ in inputs), tuple(s for s, _ in outputs), metadata.read_sidecar(self.path))
        self.options = {"device": "cuda", "tensorrt": trt.__version__}

    def _alloc(self, name: str, shape: tuple, dtype: str) -> None:
        host = self._cuda.host_array(shape, dtype)
        self._buffers[name] = (self._cuda.malloc(host.nbytes), host)
        self._context.set_tensor_address(name, self._buffers[name][0])

    def infer(self, prepared) -> np.ndarray:
        cuda, stream = self._cuda, self._stream
        for name, x in prepared.items():
            if self._batch_shapes.get(name) != x.shape:
                self._context.set_input_shape(name, x.shape)
                self._batch_shapes[name] = x.shape
            ptr, host = self._buffers[name]
            flat = host.reshape(-1)[: x.size]
            flat[:] = x.reshape(-1)
            cuda.copy(ptr, flat.ctypes.data, x.nbytes, _H2D, stream)
        if not self._context.execute_async_v3(stream):
            raise HardwareMissing("TensorRT failed to run the engine (see TensorRT's log above)")
        out = self.io.outputs[0].name
        ptr, host = self._buffers[out]
        shape = tuple(self._context.get_tensor_shape(out))
        n = int(np.prod(shape)) * host.itemsize
        cuda.copy(host.ctypes.data, ptr, n, _D2H, stream)
        cuda.sync(stream)
        return host.reshape(-1)[: int(np.prod(shape))].reshape(shape).copy()

    def close(self) -> None:
        for ptr, _ in getattr(self, "_buffers", {}).values():
            self._cuda.free(ptr)
        self._buffers = {}
        self._context = self._engine = None
