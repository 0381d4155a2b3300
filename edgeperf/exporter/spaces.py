"""Observation/action spaces as plain JSON-able dicts (they travel in artifact metadata and reports), and the
observation sampler that parity and int8 calibration share. No torch here.

    {"type": "box", "shape": [3], "low": [-1, -1, -8], "high": [1, 1, 8]}
    {"type": "box", "shape": [4], "low": null, "high": null,
     "low_partial": [-4.8, null, -0.42, null], "high_partial": [4.8, null, 0.42, null]}
    {"type": "discrete", "n": 4, "start": 0}

`low`/`high` are a number for all elements or one number per element, and only ever finite numbers: readers
may sample uniformly between them. A space bounded in some elements only has `low`/`high` null and the
per-element bounds in `low_partial`/`high_partial`, null where unbounded.
"""

from __future__ import annotations

import numpy as np

from edgeperf.errors import BadInput

# A bound beyond this is "unbounded" (gymnasium envs often say +-3.4e38 for "anything").
UNBOUNDED = 1e6


def box(low, high, shape) -> dict:
    shape = [int(d) for d in shape]
    lo, hi = _bound_list(low, shape), _bound_list(high, shape)
    if _all_finite(lo) and _all_finite(hi):
        return {"type": "box", "shape": shape, "low": lo, "high": hi}
    space = {"type": "box", "shape": shape, "low": None, "high": None}
    if lo is not None or hi is not None:  # bounded somewhere
        space["low_partial"], space["high_partial"] = lo, hi
    return space


def _all_finite(b) -> bool:
    return b is not None and (not isinstance(b, list) or all(v is not None for v in b))


def discrete(n: int, start: int = 0) -> dict:
    return {"type": "discrete", "n": int(n), "start": int(start)}


def _bound_list(b, shape):
    a = np.broadcast_to(np.asarray(b, dtype=np.float64), shape).ravel()
    vals = [None if not np.isfinite(v) or abs(v) >= UNBOUNDED else float(v) for v in a]
    if len(set(vals)) == 1:
        return vals[0]  # one number (or null) for all elements keeps metadata small for images
    return vals


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
    lo, hi = bounds(space, dims)
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


def bounds(space: dict | None, shape) -> tuple[np.ndarray, np.ndarray]:
    """(low, high) as float64 arrays of `shape`, NaN where unbounded or unknown."""
    shape = tuple(shape)
    space = space or {}
    lo, hi = space.get("low"), space.get("high")
    if lo is None and hi is None:
        lo, hi = space.get("low_partial"), space.get("high_partial")
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


def from_gym(space, what: str) -> dict:
    """A gymnasium Box, Discrete or Dict (of Boxes) space -> our dict; anything else is BadInput."""
    kind = type(space).__name__
    if kind == "Dict" and what == "observation":
        return dict_space({k: _input_box(k, v) for k, v in space.spaces.items()})
    if kind == "Box":
        out = box(space.low, space.high, space.shape)
        if np.dtype(space.dtype) == np.uint8:
            out["dtype"] = "uint8"  # raw camera pixels: fed and sampled as uint8
        return out
    if kind == "Discrete":
        return discrete(space.n, getattr(space, "start", 0))
    raise BadInput(
        f"{what} space {kind} is not supported: edgeperf exports policies with Box observations and Box or "
        "Discrete actions"
    )


def sample(space: dict | None, shape, n: int, seed: int, normalization: dict | None = None) -> tuple[np.ndarray, str]:
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
#    {"type": "dict", "spaces": {"image": {"type": "box", "shape": [48, 48, 3], "low": 0, "high": 255,
#                                          "dtype": "uint8"}, "state": {"type": "box", ...}}}


def dict_space(subspaces: dict) -> dict:
    return {"type": "dict", "spaces": dict(subspaces)}


def is_dict(space: dict | None) -> bool:
    return bool(space) and space.get("type") == "dict"


def input_dtype(space: dict | None) -> str:
    return (space or {}).get("dtype", "float32")


def _input_box(key: str, space) -> dict:
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


def sample_dict(space: dict, n: int, seed: int, normalization: dict | None = None) -> tuple[dict, str]:
    """n observations of every input of a dict space (spaces.sample per input, with its VecNormalize statistics
    when the policy has them for that key; uint8 images as uniform uint8 pixels)."""
    keys = (normalization or {}).get("keys") or {}
    out, hows = {}, []
    for i, (name, sub) in enumerate(space["spaces"].items()):
        shape = tuple(sub["shape"])
        if input_dtype(sub) == "uint8":
            low, high = bounds(sub, shape)
            lo, hi = np.nan_to_num(low, nan=0).astype(int), np.nan_to_num(high, nan=255).astype(int)
            rng = np.random.default_rng([seed, i])
            out[name] = rng.integers(lo, hi + 1, (n, *shape)).astype(np.uint8)
            how = "uniform uint8 pixels in the space's bounds"
        else:
            out[name], how = sample(sub, shape, n, seed + i, keys.get(name))
        hows.append(f"{name}: {how}")
    return out, "; ".join(hows)
