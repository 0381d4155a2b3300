"""The metadata edgeperf embeds in an artifact (ONNX metadata_props), shared by the exporter that writes it
and the runtime/profiler that read it. No torch here: the device side reads these."""

from __future__ import annotations

import json
from pathlib import Path

PREFIX = "edgeperf."
KEYS = (
    "version",
    "source",
    "source_sha256",
    "source_kind",
    "obs_shape",
    "action_shape",
    "obs_space",
    "action_space",
    "normalization",
    "precision",
    "quantization",
    "format",
    "control_hz",
    "notes",
)


def encode(meta: dict) -> dict[str, str]:
    unknown = set(meta) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown metadata keys {sorted(unknown)}")
    return {PREFIX + k: json.dumps(v) for k, v in meta.items() if v is not None}


def decode(props: dict[str, str]) -> dict:
    out = {}
    for k, v in props.items():
        if k.startswith(PREFIX):
            try:
                out[k[len(PREFIX) :]] = json.loads(v)
            except json.JSONDecodeError:
                out[k[len(PREFIX) :]] = v
    return out


def sidecar(artifact) -> Path:
    """Where metadata lives for formats without metadata_props (TensorRT engines, OpenVINO IR):
    a JSON file beside the artifact, e.g. policy.engine -> policy.engine.edgeperf.json."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".edgeperf.json")


def sidecar_text(meta: dict, extra: dict | None = None) -> str:
    """The sidecar document: the metadata (plain JSON values, same keys as metadata_props) plus anything
    format-specific under other keys (readers take only KEYS)."""
    encode(meta)  # validates the keys
    doc = {k: v for k, v in meta.items() if v is not None}
    doc.update(extra or {})
    return json.dumps(doc, indent=2) + "\n"


def read_sidecar(artifact) -> dict[str, str]:
    """The sidecar's metadata in the same encoded form as ONNX metadata_props ({} when there is none)."""
    path = sidecar(artifact)
    if not path.exists():
        return {}
    try:
        return encode({k: v for k, v in json.loads(path.read_text()).items() if k in KEYS})
    except (json.JSONDecodeError, AttributeError):
        return {}
