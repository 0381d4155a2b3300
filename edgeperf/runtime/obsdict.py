"""Observations of several named inputs (a camera image beside proprioception): {input name: array}, batched
along axis 0 like a single array. The small operations every layer needs on them (a batch's length, a slice,
stacking steps, one flat vector for trajectory comparison), and the words for an image's layout in errors.
"""

from __future__ import annotations

import numpy as np

from edgeperf.errors import BadInput


def is_multi(obs) -> bool:
    return isinstance(obs, dict)


def length(obs) -> int:
    """The batch size of an observation batch (an array, or a dict of arrays of one batch size)."""
    if isinstance(obs, dict):
        return len(next(iter(obs.values())))
    return len(obs)


def take(obs, index):
    """obs[index] of every input (a slice, an index array or an int)."""
    if isinstance(obs, dict):
        return {k: v[index] for k, v in obs.items()}
    return obs[index]


def stack(steps: list):
    """One batch from a list of single observations (arrays or dicts with the same keys; dtypes kept)."""
    if steps and isinstance(steps[0], dict):
        return {k: np.stack([s[k] for s in steps]) for k in steps[0]}
    return np.asarray(steps)


def concat(parts: list):
    if parts and isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts)


def flat(obs) -> np.ndarray:
    """One float64 vector of a single observation (every input raveled, in key order): what comparing two
    trajectories step by step needs."""
    if isinstance(obs, dict):
        return np.concatenate([np.asarray(obs[k], np.float64).ravel() for k in sorted(obs)])
    return np.array(obs, dtype=np.float64, copy=True)


def copy(obs):
    if isinstance(obs, dict):
        return {k: np.array(v, copy=True) for k, v in obs.items()}
    return np.array(obs, copy=True)


def image_layout(shape) -> str | None:
    """'HWC' or 'CHW' for the shape of one image (channels 1, 3 or 4, the smaller side), else None."""
    if len(shape) != 3:
        return None
    if shape[-1] in (1, 3, 4) and shape[0] > 4:
        return "HWC"
    if shape[0] in (1, 3, 4) and shape[-1] > 4:
        return "CHW"
    return None


def dims(shape) -> str:
    return "x".join(str(d) for d in shape)


# A policy's input of this name is the env's action mask (sb3-contrib's MaskablePPO: 1 = the action may be taken),
# read from the env's `action_masks()` at each step, beside the observation, as MaskablePPO's own predict takes it.
ACTION_MASK = "action_mask"


def mask_feeder(env, names: list[str], who: str):
    """None for a policy with inputs `names` that takes the observation as it is; when one input is ACTION_MASK,
    obs -> {the other input: obs, ACTION_MASK: env.action_masks()} (a Dict observation keeps its keys)."""

    if ACTION_MASK not in names:
        return None
    masks = getattr(env.unwrapped, "action_masks", None)
    if not callable(masks):
        raise BadInput(
            f"{who} takes an action mask (input '{ACTION_MASK}') but the domain's env has no action_masks() to read "
            "it from (sb3-contrib's convention)"
        )
    others = [n for n in names if n != ACTION_MASK]

    def feed(obs):
        mask = np.asarray(masks(), np.float32).reshape(-1)
        if isinstance(obs, dict):
            return {**obs, ACTION_MASK: mask}
        return {others[0]: obs, ACTION_MASK: mask}

    return feed
