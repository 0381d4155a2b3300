"""A stand-in for the `tensorrt` module with the subset of the TensorRT 10 Python API that
edgeperf.exporter.tensorrt_engine calls, recording every call. It lets the tests check the argument plumbing
(flags, optimization profile, timing cache, the ONNX handed to the parser) on a machine without a GPU; the real
builder is exercised by the tests marked `tensorrt`. The parser really reads the ONNX file."""

from __future__ import annotations

import json
import types

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
        self.flags, self.ops, self.inputs = flags, [], []


class OnnxParser:
    def __init__(self, network, logger):
        self.network, self.num_errors = network, 0

    def parse_from_file(self, path):
        model = onnx.load(path)
        self.network.ops = [n.op_type for n in model.graph.node]
        self.network.inputs = [i.name for i in model.graph.input]
        CALLS.append(("parse", path, tuple(self.network.ops)))
        return True

    def get_error(self, i):  # pragma: no cover - parse never fails here
        return ""


class _Profile:
    def set_shape(self, name, lo, opt, hi):
        self.shape = (name, lo, opt, hi)


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
        CALLS.append(("build", doc, config.pool))
        return memoryview(b"FAKE-ENGINE" + json.dumps(doc).encode())


def install(monkeypatch) -> types.ModuleType:
    import sys

    CALLS.clear()
    module = sys.modules[__name__]
    monkeypatch.setitem(sys.modules, "tensorrt", module)
    return module
