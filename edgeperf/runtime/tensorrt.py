"""TensorRT backend: a serialized engine (.engine/.plan/.trt) run with the TensorRT 10 Python API. The one
TensorRT runner: the exporter's parity check and the profiler both use it.

Device memory and copies go through the CUDA runtime library (libcudart) by ctypes, so no extra Python
package is needed beside tensorrt. Host buffers are pinned; a single stream is reused; buffers are sized
for the engine profile's largest shapes once, at open, and close() frees every one of them and the stream.
Every input is bound by name in the engine's own dtype (a Dict observation's uint8 camera image stays uint8 up to
the GPU, where the graph casts it), and Session.prepare gives them as a dict like on every backend.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from pathlib import Path

import numpy as np

from edgeperf import artifact
from edgeperf.errors import BadInput, HardwareMissing, require
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

    def host_array(self, shape, dtype) -> tuple[int, np.ndarray]:
        """A page-locked host array (copies to and from the GPU run at full speed) and its pointer, for free_host."""
        ptr = ctypes.c_void_p()
        nbytes = max(1, int(np.prod(shape)) * np.dtype(dtype).itemsize)
        self.check(self.lib.cudaMallocHost(ctypes.byref(ptr), ctypes.c_size_t(nbytes)), "cudaMallocHost")
        buf = (ctypes.c_byte * nbytes).from_address(ptr.value)
        return ptr.value, np.frombuffer(buf, dtype=dtype, count=int(np.prod(shape))).reshape(shape)

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

    def free_host(self, ptr: int) -> None:
        self.lib.cudaFreeHost(ctypes.c_void_p(ptr))

    def destroy_stream(self, stream: int) -> None:
        self.lib.cudaStreamDestroy(ctypes.c_void_p(stream))


class TensorRTSession(Session):
    backend = "tensorrt"
    on_gpu = True

    def __init__(self, path: Path, device: str = "auto", cuda=None, **_):
        trt = require("tensorrt", None, "to run TensorRT engines", hint=TRT_HINT)
        if device not in ("auto", "cuda"):
            raise BadInput(f"TensorRT engines run on the GPU (--accelerator cuda), not '{device}'")
        self.path = Path(path)
        self._buffers: dict[str, tuple[int, int, np.ndarray]] = {}  # name -> (device ptr, host ptr, pinned array)
        self._stream = None
        self._cuda = cuda or _CudaRT()
        try:
            self._open(trt)
        except BaseException:
            self.close()
            raise

    def _open(self, trt) -> None:
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
        self.io = IOSpec(tuple(s for s, _ in inputs), tuple(s for s, _ in outputs), artifact.read_sidecar(self.path))
        self.max_batch = int(inputs[0][1][0]) if inputs else None
        self.options = {"device": "cuda", "tensorrt": trt.__version__}

    def _alloc(self, name: str, shape: tuple, dtype: str) -> None:
        host_ptr, host = self._cuda.host_array(shape, dtype)
        self._buffers[name] = (None, host_ptr, host)  # registered first, so close() frees it if malloc fails
        self._buffers[name] = (self._cuda.malloc(max(1, host.nbytes)), host_ptr, host)
        self._context.set_tensor_address(name, self._buffers[name][0])

    def infer(self, prepared) -> np.ndarray:
        return self._execute(prepared, self.io.outputs[:1])[0]

    def infer_all(self, prepared) -> list[np.ndarray]:
        return self._execute(prepared, self.io.outputs)

    def _execute(self, prepared, outputs) -> list[np.ndarray]:
        cuda, stream = self._cuda, self._stream
        for name, x in prepared.items():
            ptr, _, host = self._buffers[name]
            if x.size > host.size:
                raise BadInput(
                    f"{self.path.name} takes at most {self.max_batch} observations a call (its optimization "
                    f"profile); got {x.shape[0]}: rebuild it with a larger --max-batch"
                )
            if self._batch_shapes.get(name) != x.shape:
                self._set_shape(name, x.shape, prepared)
            flat = host.reshape(-1)[: x.size]
            flat[:] = x.reshape(-1)
            cuda.copy(ptr, flat.ctypes.data, x.nbytes, _H2D, stream)
        if not self._context.execute_async_v3(stream):
            raise HardwareMissing("TensorRT failed to run the engine (see TensorRT's log above)")
        views = []
        for spec in outputs:
            ptr, _, host = self._buffers[spec.name]
            shape = tuple(self._context.get_tensor_shape(spec.name))
            view = host.reshape(-1)[: int(np.prod(shape))]
            cuda.copy(view.ctypes.data, ptr, view.nbytes, _D2H, stream)
            views.append(view.reshape(shape))
        cuda.sync(stream)
        return [v.copy() for v in views]

    def _set_shape(self, name: str, shape: tuple, prepared) -> None:
        """A new batch size for one input (every input of a Dict observation is bound and shaped by name): the
        profile spans one batch for all of them, so a call whose inputs disagree on it is refused here, where
        TensorRT would fail later with a shape error of its own."""
        batches = {k: v.shape[0] for k, v in prepared.items()}
        if len(set(batches.values())) > 1:
            raise BadInput(
                f"{self.path.name} takes one batch size for all its inputs; got {batches} observations per input"
            )
        if self._context.set_input_shape(name, shape) is False:
            raise BadInput(f"{self.path.name}: input '{name}' of shape {list(shape)} is outside the engine's profile")
        self._batch_shapes[name] = shape

    def close(self) -> None:
        """Free every device and pinned host buffer and the stream (safe to call twice, or after a failed open)."""
        for dev, host_ptr, _ in self._buffers.values():
            if dev is not None:
                self._cuda.free(dev)
            self._cuda.free_host(host_ptr)
        self._buffers = {}
        if self._stream is not None:
            self._cuda.destroy_stream(self._stream)
            self._stream = None
        self._context = self._engine = None
