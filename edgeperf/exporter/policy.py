"""PolicySource: what every policy-source loader (sources.py, sb3.py, sb3_safe.py, sb3_dict.py) returns, and the
small checks the loaders share. Below the loaders, so each imports it and none imports another's helpers."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from edgeperf import spaces
from edgeperf.devices.sysfs import file_kind
from edgeperf.errors import BadInput, require

KINDS = ("example", "reference", "torchscript", "factory", "sb3", "onnx")


@dataclass
class PolicySource:
    module: Any  # torch.nn.Module in eval mode; None for an ONNX source
    kind: str  # one of KINDS
    name: str  # what the user passed
    obs_shape: tuple[int, ...]
    sha256: str | None = None
    obs_space: spaces.Box | spaces.DictSpace | None = None  # spaces.box(...) when known
    action_space: spaces.Box | spaces.Discrete | None = None  # spaces.box(...) or spaces.discrete(...) when known
    normalization: dict | None = None  # observation normalization baked into the graph, when there is one
    notes: list[str] = field(default_factory=list)  # what the user should know (become report warnings)
    description: str | None = None
    details: dict = field(default_factory=dict)  # kind-specific facts for the report (algorithm, ...)
    discrete: bool = False  # outputs (action index int64, logits); else one float action tensor
    action_shape: tuple[int, ...] | None = None
    control_hz: float | None = None  # the control rate, when the source knows it (a domain's reference policy)
    onnx_path: Path | None = None  # the model file of an ONNX source
    # The original policy's own path, numpy in -> numpy out: the parity reference. None: the module itself.
    reference: Callable[[np.ndarray], np.ndarray] | None = None
    # With --domain: {"parity"|"calibration": (observations, how they were drawn)} from the domain's rollouts.
    rollouts: dict = field(default_factory=dict)
    # A policy with memory (exporter/recurrent.py): `module` is then its explicit-state step.
    recurrent: Any = None

    @property
    def input_specs(self) -> list[tuple[str, tuple[int, ...], str]] | None:
        """(name, shape, dtype) of each named input of a Dict-observation policy (exporter/multi.py), in the
        order the module and the artifact take them; None for a policy of one observation array."""

        if not spaces.is_dict(self.obs_space):
            return None
        return [(k, v.shape, v.input_dtype) for k, v in self.obs_space.spaces.items()]

    @property
    def output_names(self) -> list[str]:
        if self.recurrent is not None:
            return ["action", *self.recurrent.output_names]
        return ["action", "logits"] if self.discrete else ["action"]

    @property
    def input_names(self) -> list[str]:
        return ["obs", *(self.recurrent.input_names if self.recurrent is not None else [])]

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The original's action for a batch of observations."""
        if self.reference is not None:
            return np.asarray(self.reference(obs))
        return self._forward(obs)[0]

    def logits(self, obs: np.ndarray) -> np.ndarray | None:
        """The original's logits (discrete policies), else None."""
        return self._forward(obs)[1] if self.discrete else None

    def _forward(self, obs: np.ndarray) -> list[np.ndarray]:
        if self.module is None:
            return self._onnx_forward(obs)
        torch = require("torch", "export")
        with torch.no_grad():
            if isinstance(obs, dict):
                out = self.module(
                    *[torch.from_numpy(np.ascontiguousarray(obs[n], dtype=d)) for n, _, d in self.input_specs]
                )
            else:
                out = self.module(torch.from_numpy(np.ascontiguousarray(obs, dtype=np.float32)))
        out = out if isinstance(out, (tuple, list)) else (out,)
        return [o.numpy() for o in out]

    def _onnx_forward(self, obs: np.ndarray) -> list[np.ndarray]:
        if "_ort" not in self.details:
            ort = require("onnxruntime", "ort", "to run ONNX models")
            self.details["_ort"] = ort.InferenceSession(str(self.onnx_path), providers=["CPUExecutionProvider"])
        sess = self.details["_ort"]
        if isinstance(obs, dict):
            return sess.run(None, {n: np.ascontiguousarray(obs[n], dtype=d) for n, _, d in self.input_specs})
        name = sess.get_inputs()[0].name
        batch = sess.get_inputs()[0].shape[0]
        x = np.ascontiguousarray(obs, dtype=np.float32)
        if isinstance(batch, int) and batch != x.shape[0]:  # a fixed batch size: one row at a time
            rows = [sess.run(None, {name: x[i : i + 1]}) for i in range(x.shape[0])]
            return [np.concatenate([r[k] for r in rows]) for k in range(len(rows[0]))]
        return sess.run(None, {name: x})


SOURCE_HINT = "give a TorchScript .pt, an SB3 .zip, an .onnx, or example:mlp"


def existing_file(spec: str, what: str, hint: str = SOURCE_HINT) -> Path:
    path = Path(spec)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise BadInput(f"{what} {spec} does not exist ({hint})") from None
    except OSError as exc:  # a name too long, a loop of symlinks, a folder we may not enter
        raise BadInput(f"{what} {spec} cannot be read: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise BadInput(f"{what} {spec} is a directory; give the policy file")
    if not stat.S_ISREG(st.st_mode):
        # Reading a FIFO blocks until someone writes to it; a device never ends: neither is a policy file.
        raise BadInput(f"{what} {spec} is {file_kind(st.st_mode)}, not a regular file; give the file itself")
    if not os.access(path, os.R_OK):
        raise BadInput(f"{what} {spec} is not readable by this user (permission denied)")
    return path


def first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__).rstrip(".")
