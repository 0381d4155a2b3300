"""A model's inputs and outputs as a Session sees them (the data of the Session contract, below runtime/state.py
and runtime/session.py, which both describe a model by them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TensorSpec:
    name: str
    shape: tuple  # ints for fixed dims, a str (symbolic name) or None for dynamic ones
    dtype: str  # numpy dtype name

    @property
    def dynamic_dims(self) -> list[int]:
        return [i for i, d in enumerate(self.shape) if not isinstance(d, int) or d < 0]

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape), "dtype": self.dtype}


@dataclass(frozen=True)
class IOSpec:
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    metadata: dict  # the artifact's embedded metadata (edgeperf writes obs/action spaces, source, precision)
    state: tuple = ()  # recurrent state carried between calls (edgeperf.runtime.state.State), () when stateless
