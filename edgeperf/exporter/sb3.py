"""Stable-Baselines3 .zip policies (PPO, A2C, SAC, TD3, DQN; Box observations; Box or Discrete actions) -> one
torch module that takes raw observations and returns the action the robot applies:

    raw obs -> [VecNormalize: clip((obs - mean) / sqrt(var + eps), +-clip_obs)] -> [/255 for images]
            -> the deterministic action path of the policy
            -> Box: unscale from [-1, 1] to [low, high] (squashed policies: SAC, TD3, gSDE) or clip to [low, high]
               Discrete: argmax of the logits (Q-values for DQN); the logits are a second output

The parity reference is SB3's own `policy.predict(VecNormalize.normalize_obs(obs), deterministic=True)`, so
parity proves the whole chain, not just the network.

Trust: an SB3 .zip and a VecNormalize .pkl are Python pickles; loading them runs code from the file. Only
export files you trust (the same holds for SB3's own `PPO.load`).
"""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import numpy as np

from edgeperf import spaces
from edgeperf.errors import BadInput, require
from edgeperf.exporter import sb3_dict, sb3_safe
from edgeperf.exporter.policy import PolicySource, first_line
from edgeperf.exporter.sb3_module import POST_NOTES, TRUSTED, build_module, normalize, vecnormalize_stats
from edgeperf.results.report import sha256_file

TRUST = "with --trust-pickle it is unpickled, which runs code from the file: only load files you trust"
ALGOS = ("PPO", "A2C", "SAC", "TD3", "DQN")
# Training-only entries that are pickled lambdas and may not unpickle under another Python: never needed here.
_CUSTOM_OBJECTS = {
    "learning_rate": 0.0,
    "lr_schedule": lambda _: 0.0,
    "clip_range": lambda _: 0.0,
    "exploration_schedule": lambda _: 0.0,
}


def detect_algo(data: dict) -> str | None:
    """The algorithm of a saved SB3 model, from its `data` JSON (the zip does not name it)."""
    module = str((data.get("policy_class") or {}).get("__module__", ""))
    for algo in ("sac", "td3", "dqn"):
        if f"stable_baselines3.{algo}." in module:
            return algo.upper()
    if "clip_range" in data:
        return "PPO"
    if "policy_delay" in data:
        return "TD3"
    if "target_entropy" in data:
        return "SAC"
    if "exploration_final_eps" in data or "exploration_rate" in data:
        return "DQN"
    if "gae_lambda" in data:
        return "A2C"
    return None


def _algorithm(data: dict, path: Path) -> str:
    """The algorithm of the zip, read from its policy class's module where that is SB3's or sb3-contrib's (as the
    pickle-free loader reads it); only a custom policy class leaves the hyperparameters each algorithm saves."""

    module = str((data.get("policy_class") or {}).get("__module__", ""))
    known = module in sb3_safe.MODULES or module in sb3_safe.ACTOR_CRITIC
    algo = sb3_safe.algorithm(data, path) if known else detect_algo(data)
    algo = "TD3" if algo == "DDPG" else algo  # DDPG's policy is TD3's
    if algo in ALGOS:
        return algo
    if algo is None:
        raise BadInput(
            f"{path} looks like a Stable-Baselines3 model of an algorithm edgeperf does not know; "
            f"--trust-pickle loads {', '.join(ALGOS)} through SB3"
        )
    raise BadInput(
        f"{path} is a {algo} agent: edgeperf reads it without unpickling, so drop --trust-pickle; --trust-pickle "
        f"loads custom policies of {', '.join(ALGOS)} through SB3"
    )


def load(
    path: Path, obs_shape, vecnormalize: str | None, raw_obs_space: spaces.DictSpace | None = None
) -> PolicySource:
    try:
        with zipfile.ZipFile(path) as z:
            data = json.loads(z.read("data"))
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError, OSError) as exc:
        raise BadInput(f"{path} is not a Stable-Baselines3 model: its 'data' entry is unreadable ({exc})") from None
    algo = _algorithm(data, path)
    sb3 = require("stable_baselines3", "sb3", "to load Stable-Baselines3 models")
    require("torch", "export", "to export policies")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = getattr(sb3, algo).load(
                str(path), device="cpu", custom_objects=_CUSTOM_OBJECTS, print_system_info=False
            )
    except Exception as exc:
        raise BadInput(
            f"{path}: Stable-Baselines3 could not load it as a {algo} model: {type(exc).__name__}: "
            f"{first_line(exc)} (note: {TRUST})"
        ) from None
    policy = model.policy.eval()
    if type(model.observation_space).__name__ == "Dict":  # MultiInputPolicy: several named inputs
        return sb3_dict.load(path, model, algo, obs_shape, vecnormalize, raw_obs_space)
    obs_space = spaces.from_gym(model.observation_space, "observation")
    act_space = spaces.from_gym(model.action_space, "action")
    if not isinstance(obs_space, spaces.Box):
        raise BadInput(f"{path}: Discrete observation spaces are not supported; edgeperf exports Box observations")
    shape = obs_space.shape
    if obs_shape and tuple(obs_shape) != shape:
        raise BadInput(
            f"{path} takes observations of shape {list(shape)} (its observation space), not --obs-shape "
            f"{list(obs_shape)}"
        )
    norm, notes = vecnormalize_stats(vecnormalize, shape) if vecnormalize else (None, [])
    # The trust note, once: a report warning here, the results' `trust` field from the exporter.
    notes.insert(0, TRUSTED.format(name=path.name))
    module, post = build_module(policy, algo, model.observation_space, model.action_space, norm)
    post_note = POST_NOTES[post]

    def reference(obs: np.ndarray) -> np.ndarray:
        x = normalize(norm, obs) if norm is not None else obs
        return np.asarray(policy.predict(x, deterministic=True)[0])

    details = {"algorithm": algo, "policy_class": type(policy).__name__, "post_processing": post_note}
    details["sb3_version"] = getattr(sb3, "__version__", None)
    if vecnormalize:
        details["vecnormalize"] = str(vecnormalize)
    return PolicySource(
        module,
        "sb3",
        str(path),
        shape,
        sha256=sha256_file(path),
        obs_space=obs_space,
        action_space=act_space,
        normalization={k: v for k, v in norm.items()} if norm else None,
        notes=notes,
        details=details,
        discrete=post == "argmax",
        action_shape=tuple(model.action_space.shape or ()),
        reference=reference,
    )
