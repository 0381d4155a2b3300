"""A stand-in for the `tensorrt` module with the subset of the TensorRT 10 Python API that
edgeperf.exporter.tensorrt_engine calls, recording every call. It lets the tests check the argument plumbing
(flags, optimization profile, timing cache, the ONNX handed to the parser) on a machine without a GPU; the real
builder is exercised by the tests marked `tensorrt`. The parser really reads the ONNX file."""

from __future__ import annotations

import ctypes
import json
import types

import numpy as np
import onnx

__version__ = "10.3.0"
CALLS: list[tuple] = []


class Logger:
    WARNING = "WARNING"

    def __init__(self, severity):
        CALLS.append(("Logger", severity))


class NetworkDefinitionCreationFlag:
    EXPLICIT_BATCH = 0


class MemoryPoolType:
    WORKSPACE = "WORKSPACE"


class BuilderFlag:
    FP16 = "FP16"
    INT8 = "INT8"


class _Network:
    def __init__(self, flags):
        self.flags, self.ops, self.inputs, self.onnx = flags, [], [], b""


class OnnxParser:
    def __init__(self, network, logger):
        self.network, self.num_errors = network, 0

    def parse_from_file(self, path):
        model = onnx.load(path)
        self.network.onnx = model.SerializeToString()
        self.network.ops = [n.op_type for n in model.graph.node]
        self.network.inputs = [i.name for i in model.graph.input]
        CALLS.append(("parse", path, tuple(self.network.ops)))
        return True

    def get_error(self, i):  # pragma: no cover - parse never fails here
        return ""


class _Profile:
    def __init__(self):
        self.inputs = {}  # every input's (min, opt, max), in the order set

    def set_shape(self, name, lo, opt, hi):
        if not self.inputs:
            self.shape = (name, lo, opt, hi)  # the observation input's: what the plumbing tests check
        self.inputs[name] = [list(lo), list(opt), list(hi)]


class _TimingCache:
    def __init__(self, data: bytes):
        self.data = data

    def serialize(self):
        return memoryview(self.data + b"+timing")


class _Config:
    def __init__(self):
        self.flags, self.profiles, self.pool, self.cache = [], [], {}, None

    def set_memory_pool_limit(self, pool, size):
        self.pool[pool] = size

    def set_flag(self, flag):
        self.flags.append(flag)

    def add_optimization_profile(self, profile):
        self.profiles.append(profile.shape)
        self.input_profiles = profile.inputs

    def create_timing_cache(self, data):
        CALLS.append(("create_timing_cache", bytes(data)))
        return _TimingCache(bytes(data))

    def set_timing_cache(self, cache, ignore_mismatch):
        self.cache = cache

    def get_timing_cache(self):
        return self.cache


class Builder:
    def __init__(self, logger):
        pass

    def create_network(self, flags):
        return _Network(flags)

    def create_builder_config(self):
        return _Config()

    def create_optimization_profile(self):
        return _Profile()

    def build_serialized_network(self, network, config):
        doc = {"flags": config.flags, "profiles": [list(map(list, p[1:])) for p in config.profiles], "ops": network.ops}
        doc["input_profiles"] = getattr(config, "input_profiles", {})
        CALLS.append(("build", doc, config.pool))
        doc["onnx"] = network.onnx.hex()
        return memoryview(b"FAKE-ENGINE" + json.dumps(doc).encode())


# -- the runtime: an "engine" that runs the parsed ONNX with onnxruntime, on the memory of a FakeCuda -------------


_NP = {"tensor(float)": "float32", "tensor(uint8)": "uint8", "tensor(int64)": "int64", "tensor(float16)": "float16"}


class TensorIOMode:
    INPUT, OUTPUT = "INPUT", "OUTPUT"


def nptype(dtype):
    return dtype


class Runtime:
    def __init__(self, logger):
        pass

    def deserialize_cuda_engine(self, data: bytes):
        if not data.startswith(b"FAKE-ENGINE"):
            return None
        return _Engine(json.loads(data[len(b"FAKE-ENGINE") :]))


class _Engine:
    def __init__(self, doc):
        import onnxruntime as ort

        self.sess = ort.InferenceSession(bytes.fromhex(doc["onnx"]), providers=["CPUExecutionProvider"])
        self.max = doc["profiles"][0][2]
        self.profiles = doc.get("input_profiles") or {}
        self.ins = [i.name for i in self.sess.get_inputs()]
        self.outs = [o.name for o in self.sess.get_outputs()]
        self.num_io_tensors = len(self.ins) + len(self.outs)
        # each tensor's own dtype, as TensorRT reports it (a uint8 image stays a UINT8 network input)
        types = {t.name: t.type for t in [*self.sess.get_inputs(), *self.sess.get_outputs()]}
        self.dtypes = {n: _NP[t] for n, t in types.items()}

    def get_tensor_name(self, i):
        return (self.ins + self.outs)[i]

    def get_tensor_dtype(self, name):
        return self.dtypes[name]

    def _max(self, name):
        return self.profiles.get(name, [None, None, self.max])[2]

    def get_tensor_shape(self, name):
        return (-1, *self._max(name)[1:]) if name in self.ins else (-1, -1)

    def get_tensor_mode(self, name):
        return TensorIOMode.INPUT if name in self.ins else TensorIOMode.OUTPUT

    def get_tensor_profile_shape(self, name, profile):
        top = self._max(name)
        return [[1, *top[1:]], [1, *top[1:]], top]

    def create_execution_context(self):
        return _Context(self)


class _Context:
    """Shapes and addresses as TensorRT's context keeps them; execute reads and writes FakeCuda memory."""

    def __init__(self, engine):
        self.engine, self.shapes, self.addresses = engine, {}, {}

    def set_input_shape(self, name, shape):
        lo, _, hi = self.engine.get_tensor_profile_shape(name, 0)
        if not all(a <= d <= b for a, d, b in zip(lo, shape, hi, strict=True)):
            return False  # outside the profile, as TensorRT answers
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name):
        if name in self.engine.ins:
            return self.shapes[name]
        # an output's shape follows the inputs' (all of them set by now, as TensorRT requires)
        feed = {i: np.zeros(self.shapes[i], self.engine.dtypes[i]) for i in self.engine.ins}
        return dict(zip(self.engine.outs, (v.shape for v in self.engine.sess.run(None, feed)), strict=True))[name]

    def set_tensor_address(self, name, ptr):
        self.addresses[name] = ptr

    def execute_async_v3(self, stream):
        e = self.engine
        feed = {i: FakeCuda.view(self.addresses[i], self.shapes[i], e.dtypes[i]).copy() for i in e.ins}
        for out, value in zip(e.outs, e.sess.run(None, feed), strict=True):
            FakeCuda.view(self.addresses[out], value.shape, value.dtype)[...] = value
        return True


class FakeCuda:
    """edgeperf.runtime.tensorrt._CudaRT on host memory: every allocation recorded, so a test sees what is freed."""

    def __init__(self):
        self.live: dict[int, object] = {}  # ptr -> the ctypes buffer keeping it alive
        self.streams: set[int] = set()

    @staticmethod
    def view(ptr, shape, dtype):
        n = int(np.prod(shape))
        buf = (ctypes.c_byte * (n * np.dtype(dtype).itemsize)).from_address(ptr)
        return np.frombuffer(buf, dtype=dtype, count=n).reshape(shape)

    def malloc(self, nbytes):
        buf = ctypes.create_string_buffer(nbytes)
        self.live[ctypes.addressof(buf)] = buf
        return ctypes.addressof(buf)

    def host_array(self, shape, dtype):
        ptr = self.malloc(max(1, int(np.prod(shape)) * np.dtype(dtype).itemsize))
        return ptr, self.view(ptr, shape, dtype)

    def stream(self):
        s = 1 + len(self.streams)
        self.streams.add(s)
        return s

    def copy(self, dst, src, nbytes, kind, stream):
        ctypes.memmove(dst, src, nbytes)

    def sync(self, stream):
        pass

    def free(self, ptr):
        del self.live[ptr]

    free_host = free

    def destroy_stream(self, stream):
        self.streams.remove(stream)


def install(monkeypatch) -> types.ModuleType:
    import sys

    CALLS.clear()
    module = sys.modules[__name__]
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    return module
