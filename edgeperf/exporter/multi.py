"""Policies of several named inputs (Dict observations: a camera image beside proprioception) in the exporter.

A source is multi-input when its obs_space is a dict space (spaces.dict_space); `src.input_specs` lists
(name, shape, dtype) in the order the module and the ONNX graph take them. Images are uint8 HWC as the env
gives them (or float CHW where the source takes that): the scaling and transposition the policy was trained
behind live inside the artifact, so the robot feeds the raw observation.
"""

from __future__ import annotations

import math

import numpy as np

from edgeperf import artifact, spaces
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.runtime import obsdict


def obs_values(src) -> int:
    """Values in one observation (every input together)."""
    specs = src.input_specs
    return sum(math.prod(s) for _, s, _ in specs) if specs else math.prod(src.obs_shape)


def report_inputs(src) -> list[dict] | None:
    specs = src.input_specs
    if not specs:
        return None
    return [{"name": n, "shape": ["batch", *s], "dtype": d} for n, s, d in specs]


def example(src, torch, batch: int = 2) -> tuple:
    """Zeros of every input with a batch axis, for torch's exporter."""
    dtypes = {"uint8": torch.uint8, "float32": torch.float32}
    return tuple(torch.zeros(batch, *s, dtype=dtypes[d]) for _, s, d in src.input_specs)


def dynamic_shapes(module, example: tuple, batch) -> tuple:
    """torch.export's dynamic_shapes for a batch axis on every input: one entry per argument, or one tuple for
    a forward(*xs) (the SB3 Dict wrapper), which torch.export sees as a single argument."""
    import inspect

    axes = tuple({0: batch} for _ in example)
    try:
        params = inspect.signature(module.forward).parameters.values()
    except (TypeError, ValueError):
        return axes
    return (axes,) if any(p.kind == p.VAR_POSITIONAL for p in params) else axes


def raw_obs_space(domain_id: str) -> spaces.DictSpace | None:
    """The domain env's observation space as a dict space when it is a Dict (the raw image layout and the
    shapes of named inputs); None for a Box domain."""

    env = base.make(domain_id).env(0)
    try:
        space = env.observation_space
        return spaces.from_gym(space, "observation") if type(space).__name__ == "Dict" else None
    finally:
        env.close()


def check_domain_fit(src, domain_id: str, env_space, env=None) -> None:
    """A Dict-observation source against its --domain's space: the same keys, each of the same shape. An action
    mask input (obsdict.ACTION_MASK) comes from the env's action_masks(), beside its observation."""

    have = {n: s for n, s, _ in src.input_specs}
    if obsdict.ACTION_MASK in have and env is not None:
        obsdict.mask_feeder(env, list(have), src.name)  # says so when the env has no action_masks()
        n = getattr(env.action_space, "n", None)
        if n is not None and have[obsdict.ACTION_MASK] != (int(n),):
            raise BadInput(f"{src.name} takes an action mask of {list(have[obsdict.ACTION_MASK])} values but "
                           f"{domain_id} has {int(n)} actions")  # fmt: skip
        if type(env_space).__name__ != "Dict":
            (name,) = [k for k in have if k != obsdict.ACTION_MASK]
            if have[name] != tuple(env_space.shape):
                raise BadInput(
                    f"{src.name} takes observations of shape {list(have[name])} but {domain_id} gives "
                    f"{list(env_space.shape)}; is --domain the one the policy was trained on?"
                )
            return
        have.pop(obsdict.ACTION_MASK)
    if type(env_space).__name__ != "Dict":
        raise BadInput(
            f"{src.name} takes a Dict observation (keys {[n for n, _, _ in src.input_specs]}) but {domain_id} gives "
            f"one array of shape {list(env_space.shape)}; is --domain the one the policy was trained on?"
        )
    want = {k: tuple(v.shape) for k, v in env_space.spaces.items()}
    if set(want) != set(have):
        raise BadInput(
            f"{src.name} takes keys {sorted(have)} but {domain_id} gives keys {sorted(want)}; is --domain the one "
            "the policy was trained on?"
        )
    for k, s in have.items():
        if want[k] != s:
            raise BadInput(
                f"{src.name} takes '{k}' of shape {list(s)} but {domain_id} gives {list(want[k])}; is --domain the "
                "one the policy was trained on?"
            )


def named_inputs(module, raw: spaces.DictSpace | None, obs_shape) -> spaces.DictSpace | None:
    """The dict space of a factory module whose forward takes several named arguments, when --domain gives a
    Dict observation: names from its signature (the observation keys), shapes and dtypes from the domain.
    None otherwise (one argument, or forward(obs, state) of a recurrent module: exporter/recurrent.py)."""
    import inspect

    subs = raw.spaces if raw is not None else None
    if not subs:
        return None
    try:
        params = [
            p.name
            for p in inspect.signature(module.forward).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return None
    if len(params) < 2:
        return None
    missing = [p for p in params if p not in subs]
    if missing:
        raise BadInput(
            f"the factory's module takes inputs {params}, but the domain's observation has keys {list(subs)} "
            f"(no {', '.join(map(repr, missing))}): name forward's arguments after the observation keys"
        )
    if obs_shape:
        raise BadInput(f"the factory's module takes named inputs {params}: drop --obs-shape (--domain gives them)")
    return spaces.dict_space({p: subs[p] for p in params})


def onnx_input_space(model, inputs, path) -> spaces.DictSpace:
    """The dict space of an ONNX model's several inputs, in graph order: edgeperf's metadata when it describes
    these inputs, else each input's own shape and type (uint8: an image 0..255; float: unbounded)."""
    import onnx

    meta = artifact.decode({p.key: p.value for p in model.metadata_props}, str(path))
    obs_space = spaces.from_dict(meta.get("obs_space"))
    known = obs_space.spaces if spaces.is_dict(obs_space) else {}
    subs = {}
    for inp in inputs:
        t = inp.type.tensor_type
        dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim[1:]]
        if any(d is None or d <= 0 for d in dims):
            raise BadInput(f"{path}: input '{inp.name}' has a dynamic shape {dims} besides the batch axis")
        if t.elem_type == onnx.TensorProto.UINT8:
            sub = spaces.box(0, 255, dims, "uint8")
        elif t.elem_type == onnx.TensorProto.FLOAT:
            sub = spaces.box(-np.inf, np.inf, dims)
        else:
            kind = onnx.TensorProto.DataType.Name(t.elem_type)
            raise BadInput(f"{path}: input '{inp.name}' is {kind}; inputs must be FLOAT or UINT8 (raw images)")
        if inp.name in known and known[inp.name].shape == tuple(dims):
            sub = known[inp.name]
        subs[inp.name] = sub
    return spaces.dict_space(subs)
