"""Policy sources: whatever the user trained -> a torch module that maps raw observations to actions.

Kinds in this version: the built-in `example:NAME` policies and TorchScript files (torch.jit.save; how
legged_gym / rsl_rl users ship policy_1.pt).
"""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeperf.errors import BadInput, require
from edgeperf.results.report import sha256_file


@dataclass
class PolicySource:
    module: Any  # torch.nn.Module in eval mode
    kind: str  # "example", "torchscript"
    name: str  # what the user passed
    obs_shape: tuple[int, ...]
    sha256: str | None = None
    obs_space: dict | None = None  # {"low": [...], "high": [...]} when known
    notes: list[str] = field(default_factory=list)


def load(spec: str, obs_shape: tuple[int, ...] | None = None) -> PolicySource:
    if spec.startswith("example:"):
        from edgeperf.exporter import examples

        module, info = examples.build(spec.split(":", 1)[1])
        shape = (info["obs_dim"],)
        if obs_shape and tuple(obs_shape) != shape:
            raise BadInput(f"{spec} takes observations of shape {list(shape)}, not --obs-shape {list(obs_shape)}")
        return PolicySource(module, "example", spec, shape, notes=[info["description"]])
    path = Path(spec)
    if not path.exists():
        raise BadInput(f"policy source {spec} does not exist (give a TorchScript file, or example:mlp)")
    if path.is_dir():
        raise BadInput(f"policy source {spec} is a directory; give the policy file")
    if path.suffix.lower() == ".onnx":
        raise BadInput(f"{spec} is already an ONNX model: profile it with `edgeperf profile {spec}`")
    if not zipfile.is_zipfile(path):
        raise BadInput(f"{spec} is not a TorchScript archive (not a zip file: truncated or not a torch file?)")
    return _torchscript(path, obs_shape)


def _torchscript(path: Path, obs_shape) -> PolicySource:
    torch = require("torch", "export", "to load a TorchScript policy")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", DeprecationWarning
            )  # torch 2.9+ deprecates TorchScript; users still ship it
            module = torch.jit.load(str(path), map_location="cpu").eval()
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        hint = " It looks like a torch.save() file, not torch.jit.save()." if "constants.pkl" in str(exc) else ""
        raise BadInput(f"{path} is not a loadable TorchScript module: {first}.{hint}") from None
    src = PolicySource(module, "torchscript", str(path), (), sha256=sha256_file(path))
    if obs_shape:
        src.obs_shape = tuple(obs_shape)
    else:
        src.obs_shape = _infer_obs_shape(module)
        src.notes.append(
            f"observation shape {list(src.obs_shape)} inferred from the first layer's weights; "
            "pass --obs-shape to set it"
        )
    _check_forward(src)
    return src


def _infer_obs_shape(module) -> tuple[int, ...]:
    first = next((p for p in module.parameters() if p.dim() == 2), None)
    if first is None:
        raise BadInput("cannot tell this policy's observation shape; pass --obs-shape N")
    return (int(first.shape[1]),)


def _check_forward(src: PolicySource) -> None:
    torch = require("torch", "export")
    try:
        with torch.no_grad():
            out = src.module(torch.zeros(1, *src.obs_shape))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[-1]
        raise BadInput(
            f"{src.name} does not run on observations of shape [1, {', '.join(map(str, src.obs_shape))}]: "
            f"{first}; pass the right --obs-shape"
        ) from None
    if not isinstance(out, torch.Tensor):
        raise BadInput(f"{src.name} returns {type(out).__name__}; edgeperf exports policies that return one tensor")


def parse_shape(text: str | None) -> tuple[int, ...] | None:
    """'48' or '3,64,64' -> a tuple of positive ints."""
    if not text:
        return None
    try:
        shape = tuple(int(t) for t in text.replace("x", ",").split(",") if t.strip())
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise BadInput(f"--obs-shape {text!r} is not a shape; write e.g. 48 or 3,64,64")
    return shape
