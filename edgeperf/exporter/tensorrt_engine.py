"""ONNX -> TensorRT engine through the `tensorrt` Python API (TensorRT 8.6 and 10.x).

- fp32: no precision flag; fp16: BuilderFlag.FP16; int8: explicit quantization. The ONNX handed to the parser
  carries Q/DQ nodes from onnxruntime's static quantization with the same calibration data the other int8
  artifacts use (symmetric int8, as TensorRT requires), and BuilderFlag.INT8 is set. This is NVIDIA's
  recommended path since TensorRT 10 deprecated implicit (calibrator-based) quantization.
- one optimization profile over the batch axis: min 1, opt 1 (a control loop runs one observation), max
  --max-batch.
- a timing cache that survives between builds (default ~/.cache/edgeperf/tensorrt-<version>.timing-cache):
  rebuilding an engine on the same GPU then takes seconds, not minutes.
- the engine is written raw (`.engine`); edgeperf's metadata goes in the sidecar JSON beside it
  (edgeperf.exporter.metadata.sidecar).

TensorRT is not on every machine: `require_tensorrt` raises DependencyMissing with how to get it. An engine is
specific to the GPU and the TensorRT version that built it: build it on the target (the Jetson itself).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, DependencyMissing, HardwareMissing, require

INSTALL_HINT = (
    "TensorRT comes with JetPack on a Jetson (python3-libnvinfer); on an x86_64 machine with an NVIDIA GPU "
    "install NVIDIA's wheel with pip install tensorrt; or export --format onnx and build the engine on the target"
)
WORKSPACE_BYTES = 1 << 30
FLAGS = {"fp32": [], "fp16": ["FP16"], "int8": ["INT8"]}


def require_tensorrt():
    try:
        return require("tensorrt", None, "to build TensorRT engines")
    except DependencyMissing as exc:
        if "failed to import" in str(exc):
            raise
        raise DependencyMissing("tensorrt", None, "to build TensorRT engines", hint=INSTALL_HINT) from None


def engine_settings(
    precision: str, input_name: str, obs_shape, *, max_batch: int = 64, fixed_batch: int | None = None
) -> dict:
    """Everything the builder is told, as plain data (recorded in the report and the sidecar)."""
    if precision not in FLAGS:
        raise BadInput(f"--precision {precision}: TensorRT engines are built in {', '.join(FLAGS)}")
    if fixed_batch:
        lo = opt = hi = fixed_batch
    else:
        if max_batch < 1:
            raise BadInput(f"--max-batch {max_batch} must be at least 1")
        lo, opt, hi = 1, 1, max_batch
    shape = [int(d) for d in obs_shape]
    return {
        "flags": list(FLAGS[precision]),
        "profile": {"input": input_name, "min": [lo, *shape], "opt": [opt, *shape], "max": [hi, *shape]},
        "workspace_bytes": WORKSPACE_BYTES,
        "quantization": "explicit (Q/DQ nodes from static calibration)" if precision == "int8" else None,
    }


def default_timing_cache(version: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "edgeperf" / f"tensorrt-{version}.timing-cache"


def build_engine(onnx_path: Path, engine_path: Path, settings: dict, timing_cache: Path | None) -> dict:
    trt = require_tensorrt()
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 0
    if int(str(trt.__version__).split(".", 1)[0]) < 10:  # TensorRT 8.x: explicit batch must be asked for
        flags = 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)] or ["no detail"]
        raise BadInput(f"TensorRT's ONNX parser rejected the graph: {errors[0].strip()}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, settings["workspace_bytes"])
    for flag in settings["flags"]:
        config.set_flag(getattr(trt.BuilderFlag, flag))
    p = settings["profile"]
    profile = builder.create_optimization_profile()
    profile.set_shape(p["input"], tuple(p["min"]), tuple(p["opt"]), tuple(p["max"]))
    config.add_optimization_profile(profile)
    timing_cache = Path(timing_cache) if timing_cache else default_timing_cache(trt.__version__)
    cached = timing_cache.read_bytes() if timing_cache.is_file() else b""
    cache = config.create_timing_cache(cached)
    config.set_timing_cache(cache, ignore_mismatch=False)
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BadInput(
            "TensorRT could not build an engine for this graph on this GPU (its log above says why); "
            "try --precision fp32 or --format onnx"
        )
    engine_path.write_bytes(bytes(serialized))
    info = {
        "tensorrt_version": str(trt.__version__),
        "timing_cache": str(timing_cache),
        "timing_cache_reused": bool(cached),
    }
    try:
        from edgeperf.results.io import atomic_write_bytes

        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(timing_cache, bytes(config.get_timing_cache().serialize()))
    except (OSError, BadInput) as exc:
        info["timing_cache_warning"] = f"could not save the timing cache: {exc}"
    return info


def run_engine(engine_path: Path, obs: np.ndarray) -> list[np.ndarray]:
    """Run an engine on a batch (split by the profile's max batch); returns every output, in engine order.
    Device buffers come from torch's CUDA allocator (the exporter has torch anyway)."""
    trt = require_tensorrt()
    torch = require("torch", "export")
    if not torch.cuda.is_available():
        raise HardwareMissing("running the TensorRT engine for the parity check needs torch with CUDA here")
    logger = trt.Logger(trt.Logger.WARNING)
    engine = trt.Runtime(logger).deserialize_cuda_engine(Path(engine_path).read_bytes())
    if engine is None:
        raise BadInput(f"{engine_path} is not a TensorRT engine this TensorRT and GPU can load")
    context = engine.create_execution_context()
    names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
    inp = next(n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT)
    outs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
    max_batch = int(engine.get_tensor_profile_shape(inp, 0)[2][0])
    stream = torch.cuda.current_stream()
    chunks: list[list[np.ndarray]] = []
    for i in range(0, len(obs), max_batch):
        x = torch.from_numpy(np.ascontiguousarray(obs[i : i + max_batch], dtype=np.float32)).cuda()
        context.set_input_shape(inp, tuple(x.shape))
        context.set_tensor_address(inp, x.data_ptr())
        buffers = []
        for name in outs:
            dtype = torch.from_numpy(np.empty(0, dtype=trt.nptype(engine.get_tensor_dtype(name)))).dtype
            buf = torch.empty(tuple(context.get_tensor_shape(name)), dtype=dtype, device="cuda")
            context.set_tensor_address(name, buf.data_ptr())
            buffers.append(buf)
        if not context.execute_async_v3(stream.cuda_stream):
            raise HardwareMissing(f"TensorRT failed to run {engine_path}")
        stream.synchronize()
        chunks.append([b.cpu().numpy() for b in buffers])
    return [np.concatenate([c[k] for c in chunks]) for k in range(len(outs))]
