"""Observation/action spaces as frozen classes (`Box`, `Discrete`, `DictSpace`), and the observation sampler
that parity and int8 calibration share. No torch here; a bottom layer, so the exporter, the profilers and the
runtime read the same classes.

The classes become JSON-able dicts only at the edge (artifact metadata, reports): `to_dict()` and `from_dict()`,
whose dict form is what edgeperf has always written:

    {"type": "box", "shape": [3], "low": [-1, -1, -8], "high": [1, 1, 8]}
    {"type": "box", "shape": [4], "low": null, "high": null,
     "low_partial": [-4.8, null, -0.42, null], "high_partial": [4.8, null, 0.42, null]}
    {"type": "discrete", "n": 4, "start": 0}
    {"type": "dict", "spaces": {"image": {"type": "box", ..., "dtype": "uint8"}, "state": {"type": "box", ...}}}

`low`/`high` are a number for all elements or one number per element, and only ever finite numbers: readers
may sample uniformly between them. A space bounded in some elements only has `low`/`high` None and the
per-element bounds in `low_partial`/`high_partial`, None where unbounded. `problem()` checks a dict read from a
file before `from_dict()` trusts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from edgeperf.errors import BadInput

# A bound beyond this is "unbounded" (gymnasium envs often say +-3.4e38 for "anything").
UNBOUNDED = 1e6

# One number for every element, one (number or None) per element, or None.
Bound = float | tuple | None


@dataclass(frozen=True)
class Box:
    shape: tuple[int, ...]
    low: Bound = None  # finite everywhere, else None (then low_partial/high_partial may hold some bounds)
    high: Bound = None
    low_partial: Bound = None
    high_partial: Bound = None
    dtype: str | None = None  # "uint8" for raw camera pixels; None: float32 (the dict leaves the key out)
    kind: ClassVar[str] = "box"

    @property
    def input_dtype(self) -> str:
        return self.dtype or "float32"

    def to_dict(self) -> dict:
        out = {"type": "box", "shape": list(self.shape), "low": _json(self.low), "high": _json(self.high)}
        if self.low_partial is not None or self.high_partial is not None:
            out["low_partial"], out["high_partial"] = _json(self.low_partial), _json(self.high_partial)
        if self.dtype is not None:
            out["dtype"] = self.dtype
        return out


@dataclass(frozen=True)
class Discrete:
    n: int
    start: int = 0
    kind: ClassVar[str] = "discrete"

    def to_dict(self) -> dict:
        return {"type": "discrete", "n": self.n, "start": self.start}


@dataclass(frozen=True)
class DictSpace:
    """Several named inputs, each a Box (an image beside a vector)."""

    spaces: dict[str, Box]
    kind: ClassVar[str] = "dict"

    def to_dict(self) -> dict:
        return {"type": "dict", "spaces": {k: v.to_dict() for k, v in self.spaces.items()}}


Space = Box | Discrete | DictSpace


def _json(b: Bound):
    return list(b) if isinstance(b, tuple) else b


def _tuple(b) -> Bound:
    return tuple(b) if isinstance(b, list) else b


def from_dict(d: dict | None) -> Space | None:
    """The class of a space dict (artifact metadata, a report); None stays None. Check a dict read from a file
    with problem() first: this only maps keys to attributes."""
    if d is None:
        return None
    kind = d.get("type")
    if kind == "box":
        return Box(
            tuple(d["shape"]),
            _tuple(d.get("low")),
            _tuple(d.get("high")),
            _tuple(d.get("low_partial")),
            _tuple(d.get("high_partial")),
            d.get("dtype"),
        )
    if kind == "discrete":
        return Discrete(d["n"], d.get("start", 0))
    if kind == "dict":
        return DictSpace({k: from_dict(v) for k, v in d["spaces"].items()})
    raise BadInput(f"a space of type {kind!r}, expected 'box', 'discrete' or 'dict'")


def to_dict(space: Space | None) -> dict | None:
    """The JSON-able dict of a space; None stays None (a source whose spaces are unknown)."""
    return None if space is None else space.to_dict()


def box(low, high, shape, dtype: str | None = None) -> Box:
    shape = tuple(int(d) for d in shape)
    lo, hi = _bound_list(low, shape), _bound_list(high, shape)
    if _all_finite(lo) and _all_finite(hi):
        return Box(shape, lo, hi, dtype=dtype)
    return Box(shape, None, None, lo, hi, dtype=dtype)  # bounded somewhere, or nowhere (both None)


def _all_finite(b) -> bool:
    return b is not None and (not isinstance(b, tuple) or all(v is not None for v in b))


def discrete(n: int, start: int = 0) -> Discrete:
    return Discrete(int(n), int(start))


def dict_space(subspaces: dict) -> DictSpace:
    return DictSpace(dict(subspaces))


def is_dict(space: Space | None) -> bool:
    return isinstance(space, DictSpace)


def _bound_list(b, shape) -> Bound:
    a = np.broadcast_to(np.asarray(b, dtype=np.float64), shape).ravel()
    vals = [None if not np.isfinite(v) or abs(v) >= UNBOUNDED else float(v) for v in a]
    if len(set(vals)) == 1:
        return vals[0]  # one number (or null) for all elements keeps metadata small for images
    return tuple(vals)


def problem(space, shape=None) -> str | None:
    """What is wrong with a space dict read from a file (artifact metadata), or None when it is well-formed;
    `shape`: the shape a box must have."""
    if not isinstance(space, dict):
        return f"{_kind(space)}, not a space object"
    kind = space.get("type")
    if kind == "dict":
        return dict_problem(space)
    if kind == "discrete":
        n, start = space.get("n"), space.get("start", 0)
        if not (_is_int(n) and n >= 1 and _is_int(start)):
            return f"a discrete space needs n >= 1 and an integer start, got n={n!r}, start={start!r}"
        return None
    if kind != "box":
        return f"type {kind!r}, expected 'box' or 'discrete'"
    dims = space.get("shape")
    if not (isinstance(dims, list) and all(_is_int(d) and d >= 1 for d in dims)):
        return f"a box shape must be a list of positive integers, got {dims!r}"
    if shape is not None and tuple(dims) != tuple(shape):
        return f"its shape {dims} differs from the model's {list(shape)}"
    size = int(np.prod(dims))
    for key in ("low", "high", "low_partial", "high_partial"):
        v = space.get(key)
        values = v if isinstance(v, list) else [v]
        if isinstance(v, list) and len(v) not in (1, size):
            return f"{key} has {len(v)} values for a box of {size}"
        partial = key.endswith("_partial")
        if not all((x is None and (partial or not isinstance(v, list))) or finite_number(x) for x in values):
            return f"{key} must hold finite numbers{' or null' if partial else ''}, got {_short(v)}"
    lo, hi = bounds(from_dict(space), dims)
    if np.any(lo > hi):
        return "low is above high somewhere"
    return None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def finite_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and bool(np.isfinite(v))


def _kind(v) -> str:
    return {str: "a string", list: "a list", type(None): "null"}.get(type(v), f"a {type(v).__name__}")


def _short(v) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def bounds(space: Space | None, shape) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) as float64 arrays of `shape`, NaN where unbounded or unknown (no space, or not a Box)."""
    shape = tuple(shape)
    if not isinstance(space, Box):
        return np.full(shape, np.nan), np.full(shape, np.nan)
    lo, hi = space.low, space.high
    if lo is None and hi is None:
        lo, hi = space.low_partial, space.high_partial
    return _bound_array(lo, shape), _bound_array(hi, shape)


def _bound_array(v, shape) -> np.ndarray:
    if v is None:
        return np.full(shape, np.nan)
    if isinstance(v, (list, tuple)):
        a = np.array([np.nan if x is None else x for x in v], dtype=np.float64)
        a = np.full(shape, a[0]) if a.size == 1 else a.reshape(shape)
    else:
        a = np.full(shape, float(v))
    return np.where(np.abs(a) >= UNBOUNDED, np.nan, a)


def from_gym(space, what: str) -> Space:
    """A gymnasium Box, Discrete or Dict (of Boxes) space -> ours; anything else is BadInput."""
    kind = type(space).__name__
    if kind == "Dict" and what == "observation":
        return dict_space({k: _input_box(k, v) for k, v in space.spaces.items()})
    if kind == "Box":
        # raw camera pixels: fed and sampled as uint8
        return box(space.low, space.high, space.shape, "uint8" if np.dtype(space.dtype) == np.uint8 else None)
    if kind == "Discrete":
        return discrete(space.n, getattr(space, "start", 0))
    raise BadInput(
        f"{what} space {kind} is not supported: edgeperf exports policies with Box observations and Box or "
        "Discrete actions"
    )


def sample(space: Box | None, shape, n: int, seed: int, normalization: dict | None = None) -> tuple[np.ndarray, str]:
    """n observations drawn per element: from the running statistics the policy was trained with when known
    (mean + std * N(0,1), clipped to bounds), else uniform within finite bounds, else standard normal.
    Returns the batch and a sentence saying how it was drawn."""
    shape = tuple(shape)
    rng = np.random.default_rng(seed)
    low, high = bounds(space, shape)
    bounded = np.isfinite(low) & np.isfinite(high)
    if normalization and normalization.get("mean") is not None:
        mean = np.asarray(normalization["mean"], dtype=np.float64).reshape(shape)
        std = np.sqrt(np.asarray(normalization["var"], dtype=np.float64).reshape(shape))
        x = mean + std * rng.standard_normal((n, *shape))
        x = np.clip(x, np.where(np.isfinite(low), low, -np.inf), np.where(np.isfinite(high), high, np.inf))
        how = "normal with the observation statistics the policy was trained with (VecNormalize mean and std)"
        return x.astype(np.float32), how
    u = rng.uniform(0.0, 1.0, (n, *shape))
    z = rng.standard_normal((n, *shape))
    lo, hi = np.where(bounded, low, 0.0), np.where(bounded, high, 1.0)
    x = np.where(bounded, lo + u * (hi - lo), z)
    if bounded.all():
        how = "uniform in the observation space's bounds"
    elif bounded.any():
        how = (
            f"uniform within bounds for {int(bounded.sum())} of {bounded.size} observation values, "
            "standard normal for the unbounded ones"
        )
    else:
        how = (
            "standard normal (the observation space has no finite bounds)"
            if space
            else ("standard normal (no observation space known)")
        )
    return x.astype(np.float32), how


# -- Dict observations: several named inputs --------------------------------------------------------------------


def _input_box(key: str, space) -> Box:
    if type(space).__name__ != "Box":
        raise BadInput(
            f"observation key '{key}' is a {type(space).__name__} space; edgeperf exports Dict observations of Box "
            "spaces (images and vectors)"
        )
    return from_gym(space, "observation")


def dict_problem(space: dict) -> str | None:
    """spaces.problem for a dict space read from metadata."""
    subs = space.get("spaces")
    if not isinstance(subs, dict) or not subs:
        return "a dict space needs 'spaces': {name: box}"
    for key, sub in subs.items():
        why = problem(sub)
        if why is None and (sub.get("type") != "box" or sub.get("dtype", "float32") not in ("float32", "uint8")):
            why = "each input must be a float32 or uint8 box"
        if why:
            return f"input '{key}': {why}"
    return None


def sample_dict(space: DictSpace, n: int, seed: int, normalization: dict | None = None) -> tuple[dict, str]:
    """n observations of every input of a dict space (spaces.sample per input, with its VecNormalize statistics
    when the policy has them for that key; uint8 images as uniform uint8 pixels)."""
    keys = (normalization or {}).get("keys") or {}
    out, hows = {}, []
    for i, (name, sub) in enumerate(space.spaces.items()):
        shape = sub.shape
        if sub.input_dtype == "uint8":
            low, high = bounds(sub, shape)
            lo, hi = np.nan_to_num(low, nan=0).astype(int), np.nan_to_num(high, nan=255).astype(int)
            rng = np.random.default_rng([seed, i])
            out[name] = rng.integers(lo, hi + 1, (n, *shape)).astype(np.uint8)
            how = "uniform uint8 pixels in the space's bounds"
        else:
            out[name], how = sample(sub, shape, n, seed + i, keys.get(name))
        hows.append(f"{name}: {how}")
    return out, "; ".join(hows)
