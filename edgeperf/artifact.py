"""The one table of policy files: suffix <-> format <-> backend, the files that travel with an artifact, and the
metadata edgeperf writes into it (ONNX metadata_props; a JSON sidecar for the formats that have none).

Every command reads the same table, so whatever `export` reads, `profile` and `validate --reference` read too.
No torch, onnx or onnxruntime here: the device side imports this.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from edgeperf.errors import BadInput


@dataclass(frozen=True)
class Format:
    name: str
    suffixes: tuple[str, ...]  # the first is the one export writes
    backend: str  # the runtime backend that runs it
    exportable: bool  # `export -o` can write it
    pickle: bool = False  # loading it unpickles, which runs code from the file: only ever by its suffix
    what: str = ""


FORMATS = {
    f.name: f
    for f in (
        Format("onnx", (".onnx",), "onnxruntime", True, what="ONNX"),
        Format("openvino", (".xml",), "openvino", True, what="OpenVINO IR (.xml + .bin)"),
        Format("tensorrt", (".engine", ".plan", ".trt"), "tensorrt", True, what="TensorRT engine"),
        Format("torchscript", (".pt", ".ts", ".jit", ".pth"), "torch", False, what="TorchScript (torch.jit.save)"),
        Format("sb3", (".zip",), "torch", False, pickle=True, what="Stable-Baselines3 model (a pickle)"),
    )
}
SUFFIXES = {s: f for f in FORMATS.values() for s in f.suffixes}
# Policy sources that are not files: built-in examples and domains' bundled references (torch policies).
PSEUDO_SOURCES = ("example:", "reference:")


def known_suffixes(exportable: bool = False) -> str:
    return ", ".join(s for s, f in SUFFIXES.items() if f.exportable or not exportable)


def format_of(path: str | Path) -> Format:
    """The format of a policy file, from its suffix (never from its content: see Format.pickle)."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise BadInput(
            f"cannot tell the format of {Path(path).name} from its suffix (known: {known_suffixes()}); "
            "rename it, or pass --backend"
        )
    return SUFFIXES[suffix]


def is_pseudo(source: str | Path) -> bool:
    return str(source).startswith(PSEUDO_SOURCES)


def backend_for(source: str | Path, backend: str = "auto") -> str:
    if backend != "auto":
        return backend
    return "torch" if is_pseudo(source) else format_of(source).backend


def output_format(out: Path, format: str | None) -> Format:
    """The format `export -o OUT [--format F]` writes; the suffix must fit, since the runtime reads it."""
    exportable = {n: f for n, f in FORMATS.items() if f.exportable}
    if format is not None and format not in exportable:
        raise BadInput(f"--format {format}: choose one of {', '.join(exportable)}")
    guessed = SUFFIXES.get(out.suffix.lower())
    if format is None:
        if guessed is None or not guessed.exportable:
            raise BadInput(
                f"-o {out}: cannot tell the format from the suffix '{out.suffix}'; name the file "
                f"{known_suffixes(exportable=True)}, or pass --format"
            )
        return guessed
    if guessed is None or guessed.name != format:
        raise BadInput(
            f"-o {out} does not fit --format {format}: name it {out.with_suffix(FORMATS[format].suffixes[0]).name} "
            "(the runtime picks the backend from the suffix)"
        )
    return guessed


def companions(path: str | Path) -> list[Path]:
    """The files that belong to an artifact besides itself (whether they exist or not): the metadata sidecar,
    OpenVINO's weights, ONNX external data."""
    path = Path(path)
    if not path.name:  # '' or '/': no file, so none beside it (with_name would raise)
        return []
    out = [sidecar(path), path.with_name(path.name + ".data")]
    if path.suffix.lower() == ".xml":
        out.append(path.with_suffix(".bin"))
    return out


def existing_files(path: str | Path) -> list[Path]:
    """The artifact and those of its companions that exist: what must travel with it to another machine."""
    return [Path(path), *(p for p in companions(path) if p.is_file())]


# -- metadata ---------------------------------------------------------------------------------------------------

PREFIX = "edgeperf."
# key -> the check a value read back must pass (metadata comes from files: it is validated like any input).


def _is_shape(v) -> bool:
    return isinstance(v, list) and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in v)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _is_state(v) -> bool:
    """The recurrent state the artifact carries as explicit tensors: one entry per state input, fed back from its
    output at the next step, zeros at an episode start (see edgeperf/runtime/state.py)."""
    return (
        isinstance(v, list)
        and bool(v)
        and all(
            isinstance(e, dict)
            and isinstance(e.get("input"), str)
            and isinstance(e.get("output"), str)
            and _is_shape(e.get("shape"))
            and e.get("dtype", "float32") in ("float32", "float16")
            and (
                e.get("batch_axis") is None
                or (isinstance(e["batch_axis"], int) and 0 <= e["batch_axis"] <= len(e["shape"]))
            )
            and e.get("initial", "zeros") == "zeros"
            for e in v
        )
    )


KEYS = {
    "version": lambda v: isinstance(v, str),
    "source": lambda v: isinstance(v, str),
    "source_sha256": lambda v: isinstance(v, str),
    "source_kind": lambda v: isinstance(v, str),
    "obs_shape": _is_shape,
    "action_shape": _is_shape,
    "obs_space": lambda v: isinstance(v, dict),
    "action_space": lambda v: isinstance(v, dict),
    "normalization": lambda v: isinstance(v, dict),
    "precision": lambda v: v in ("fp32", "fp16", "int8"),
    "quantization": lambda v: isinstance(v, dict),
    "format": lambda v: v in FORMATS,
    "control_hz": lambda v: _is_number(v) and v > 0,
    "notes": lambda v: isinstance(v, (list, str)),
    # [{"input": "h_in", "output": "h_out", "shape": [layers, hidden] (without the batch axis), "dtype": "float32",
    #   "batch_axis": 0 (null: the shape is the whole fixed shape), "initial": "zeros"}]
    "state": _is_state,
}
MAX_SIDECAR_BYTES = 1 << 20


def encode(meta: dict) -> dict[str, str]:
    """metadata_props for an ONNX file: {"edgeperf.KEY": JSON}."""
    unknown = set(meta) - set(KEYS)
    if unknown:
        raise ValueError(f"unknown metadata keys {sorted(unknown)}")
    return {PREFIX + k: json.dumps(v) for k, v in meta.items() if v is not None}


def decode(props: dict[str, str], source: str = "the model") -> dict:
    """edgeperf's keys of metadata_props, parsed and checked; BadInput names a malformed one."""
    out = {}
    for key, text in props.items():
        if not key.startswith(PREFIX):
            continue
        name = key[len(PREFIX) :]
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, TypeError):
            value = text
        _check(name, value, source)
        out[name] = value
    return out


def _check(name: str, value, source: str) -> None:
    check = KEYS.get(name)
    if check is not None and not check(value):
        raise BadInput(
            f"{source} has malformed edgeperf metadata: {name}={json.dumps(value)[:80]}; "
            "re-export it with edgeperf export (or strip the edgeperf.* metadata)"
        )
    # spaces are read as arrays later: a box must say its shape, a discrete space its size.
    if name in ("obs_space", "action_space") and not (
        (value.get("type") == "box" and _is_shape(value.get("shape")))
        or (value.get("type") == "discrete" and isinstance(value.get("n"), int) and value["n"] > 0)
        or (name == "obs_space" and _is_dict_space(value))
    ):
        raise BadInput(f"{source} has malformed edgeperf metadata: {name} is not a box or discrete space; re-export it")


def _is_dict_space(value: dict) -> bool:
    """Several named inputs: {"type": "dict", "spaces": {name: box}}."""
    subs = value.get("spaces")
    return (
        value.get("type") == "dict"
        and isinstance(subs, dict)
        and bool(subs)
        and all(isinstance(v, dict) and v.get("type") == "box" and _is_shape(v.get("shape")) for v in subs.values())
    )


def sidecar(artifact: str | Path) -> Path:
    """Where metadata lives for formats without metadata_props (TensorRT engines, OpenVINO IR): a JSON file
    beside the artifact, e.g. policy.engine -> policy.engine.edgeperf.json."""
    artifact = Path(artifact)
    return artifact.with_name(artifact.name + ".edgeperf.json")


def sidecar_text(meta: dict, extra: dict | None = None) -> str:
    """The sidecar document: the metadata (plain JSON values, same keys as metadata_props) plus anything
    format-specific under other keys (readers take only KEYS)."""
    encode(meta)  # validates the keys
    doc = {k: v for k, v in meta.items() if v is not None}
    doc.update(extra or {})
    return json.dumps(doc, indent=2) + "\n"


def read_sidecar(artifact: str | Path) -> dict:
    """The sidecar's metadata, checked ({} when there is none)."""
    path = sidecar(artifact)
    if not path.exists():
        return {}
    if not path.is_file() or path.stat().st_size > MAX_SIDECAR_BYTES:
        raise BadInput(f"{path} is not an edgeperf metadata file (not a regular file, or over 1 MiB)")
    # Read here, not by results.io.read_document: artifact sits below results (the layers of
    # docs/concepts/pipeline.md). The size and the kind of file are checked above; RecursionError is 1 MiB of '['
    # and ValueError an int of 5,000 digits.
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError) as exc:
        why = "nested too deep" if isinstance(exc, RecursionError) else exc
        raise BadInput(f"{path} is not valid JSON ({why}); re-export the artifact or delete the sidecar") from None
    if not isinstance(doc, dict):
        raise BadInput(f"{path} is not an edgeperf metadata file (a JSON object is expected)")
    meta = {k: v for k, v in doc.items() if k in KEYS and v is not None}
    for k, v in meta.items():
        _check(k, v, str(path))
    return meta
