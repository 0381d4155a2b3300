"""The metadata edgeperf embeds in an artifact (ONNX metadata_props), shared by the exporter that writes it
and the runtime/profiler that read it. No torch here: the device side reads these."""

from __future__ import annotations

import json

PREFIX = "edgeperf."
KEYS = (
    "version",
    "source",
    "source_sha256",
    "source_kind",
    "obs_shape",
    "action_shape",
    "obs_space",
    "precision",
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
