"""ONNX -> TensorRT engine through the `tensorrt` Python API (TensorRT 8.6 and 10.x).

- fp32: no precision flag; fp16: BuilderFlag.FP16; int8: explicit quantization. The ONNX handed to the parser
  carries Q/DQ nodes from onnxruntime's static quantization with the same calibration data the other int8
  artifacts use (symmetric int8, as TensorRT requires), and BuilderFlag.INT8 is set. This is NVIDIA's
  recommended path since TensorRT 10 deprecated implicit (calibrator-based) quantization.
- one optimization profile over the batch axis: min 1, opt 1 (a control loop runs one observation), max
  --max-batch, with one entry per input (a Dict observation's image and vector, a recurrent policy's state).
- uint8 inputs (camera images) stay uint8 network inputs: TensorRT's ONNX parser takes UINT8 only as a network
  input or output (onnx-tensorrt's operator list from TensorRT 9.2/10), cast to float inside the graph, which
  the exported graphs do first thing (`check_uint8_inputs` says so before a build when they do not).
- a timing cache that survives between builds (default ~/.cache/edgeperf/tensorrt-<version>.timing-cache):
  rebuilding an engine on the same GPU then takes seconds, not minutes.
- the engine is written raw (`.engine`); edgeperf's metadata goes in the sidecar JSON beside it
  (edgeperf.artifact.sidecar).

TensorRT is not on every machine: `require_tensorrt` raises DependencyMissing with how to get it. An engine is
specific to the GPU and the TensorRT version that built it: build it on the target (the Jetson itself).
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeperf.errors import BadInput, DependencyMissing, require
from edgeperf.results.io import atomic_write_bytes

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
    precision: str,
    input_name: str,
    obs_shape,
    *,
    max_batch: int = 64,
    fixed_batch: int | None = None,
    inputs=(),
    state=(),
) -> dict:
    """`input_name`/`obs_shape`: the (first) observation input. `inputs`: (name, shape without batch) of the
    policy's other observation inputs (a Dict observation: a camera image beside proprioception); `state`: those
    of a recurrent policy's state inputs. Every input gets one entry of the one profile, over the same batch."""
    # Everything the builder is told, as plain data (recorded in the report and the sidecar).
    if precision not in FLAGS:
        raise BadInput(f"--precision {precision}: TensorRT engines are built in {', '.join(FLAGS)}")
    if fixed_batch:
        lo = opt = hi = fixed_batch
    else:
        if max_batch < 1:
            raise BadInput(f"--max-batch {max_batch} must be at least 1")
        lo, opt, hi = 1, 1, max_batch

    def entry(name, dims) -> dict:
        d = [int(x) for x in dims]
        return {"input": name, "min": [lo, *d], "opt": [opt, *d], "max": [hi, *d]}

    # A single-input engine records exactly "profile" (the keys older sidecars have); the other inputs are
    # listed beside it, in the graph's order, only when there are some.
    return {
        "flags": list(FLAGS[precision]),
        "profile": entry(input_name, obs_shape),
        "workspace_bytes": WORKSPACE_BYTES,
        "quantization": "explicit (Q/DQ nodes from static calibration)" if precision == "int8" else None,
        **({"input_profiles": [entry(n, d) for n, d in inputs]} if inputs else {}),
        **({"state_profiles": [entry(n, d) for n, d in state]} if state else {}),
    }


def profiles(settings: dict) -> list[dict]:
    """Every input's profile entry: the observation's, the other observation inputs', the state inputs'."""
    return [settings["profile"], *settings.get("input_profiles", []), *settings.get("state_profiles", [])]


def check_uint8_inputs(onnx_path: Path) -> None:
    """TensorRT takes a uint8 tensor only as a network input or output, converted to float by a Cast: a uint8
    input that feeds anything else (a Transpose before the cast) would fail inside the parser with a cryptic
    message, so say it here."""
    import onnx

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    for inp in graph.input:
        if inp.type.tensor_type.elem_type != onnx.TensorProto.UINT8:
            continue
        users = sorted({n.op_type for n in graph.node if inp.name in n.input} - {"Cast"})
        if users:
            raise BadInput(
                f"uint8 input '{inp.name}' feeds {', '.join(users)} before any cast: TensorRT takes uint8 only as a "
                "network input cast to float; convert it to float first in the policy (image.float()), or export "
                "--format onnx"
            )


def default_timing_cache(version: str) -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "edgeperf" / f"tensorrt-{version}.timing-cache"


def build_engine(onnx_path: Path, engine_path: Path, settings: dict, timing_cache: Path | None) -> dict:
    trt = require_tensorrt()
    check_uint8_inputs(onnx_path)
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
    profile = builder.create_optimization_profile()
    for p in profiles(settings):
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
        timing_cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(timing_cache, bytes(config.get_timing_cache().serialize()))
    except (OSError, BadInput) as exc:
        info["timing_cache_warning"] = f"could not save the timing cache: {exc}"
    return info
