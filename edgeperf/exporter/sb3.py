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

from edgeperf.errors import BadInput, require
from edgeperf.exporter import spaces
from edgeperf.exporter.sources import PolicySource, _existing_file, _first_line
from edgeperf.results.report import sha256_file

TRUST = "with --trust-pickle it is unpickled, which runs code from the file: only load files you trust"
POST_NOTES = {
    "unscale": "actions unscaled from [-1, 1] to the action space's bounds inside the graph",
    "clip": "actions clipped to the action space's bounds inside the graph",
    "argmax": "the chosen action is the argmax of the logits; the logits are the second output",
}
TRUSTED = "{name} was unpickled by SB3 (--trust-pickle), which runs code from the file: export only files you trust"
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
    from edgeperf.exporter import sb3_safe

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


def load(path: Path, obs_shape, vecnormalize: str | None, raw_obs_space: dict | None = None) -> PolicySource:
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
            f"{_first_line(exc)} (note: {TRUST})"
        ) from None
    policy = model.policy.eval()
    if type(model.observation_space).__name__ == "Dict":  # MultiInputPolicy: several named inputs
        from edgeperf.exporter import sb3_dict

        return sb3_dict.load(path, model, algo, obs_shape, vecnormalize, raw_obs_space)
    obs_space = spaces.from_gym(model.observation_space, "observation")
    act_space = spaces.from_gym(model.action_space, "action")
    if obs_space["type"] != "box":
        raise BadInput(f"{path}: Discrete observation spaces are not supported; edgeperf exports Box observations")
    shape = tuple(obs_space["shape"])
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


def normalize(norm: dict, obs: np.ndarray) -> np.ndarray:
    """VecNormalize.normalize_obs, as SB3 computes it: clip((obs - mean) / sqrt(var + epsilon), +-clip_obs)."""
    mean, var = np.asarray(norm["mean"]), np.asarray(norm["var"])
    x = (np.asarray(obs, np.float64).reshape(-1, mean.size) - mean) / np.sqrt(var + norm["epsilon"])
    return np.clip(x, -norm["clip_obs"], norm["clip_obs"]).reshape(np.shape(obs)).astype(np.float32)


def vecnormalize_stats(spec: str, obs_shape) -> tuple[dict | None, list[str]]:
    """The statistics of a VecNormalize .pkl, read with the restricted unpickler (exporter/safe_pickle.py)."""
    vn, path = read_vecnormalize(spec)
    if not vn.norm_obs:
        return None, [f"{path.name} has observation normalization off (norm_obs=False): nothing to bake in"]
    if isinstance(vn.obs_rms, dict):
        raise BadInput(
            f"--vecnormalize {path} normalizes a Dict observation space, but the policy takes one Box observation"
        )
    return _vecnormalize_box(vn, path, obs_shape)


def read_vecnormalize(spec: str):
    """(the VecNormalize's attributes as an inert object, its path): nothing in the file runs (safe_pickle)."""
    from edgeperf.exporter import safe_pickle

    path = _existing_file(spec, "--vecnormalize", "the statistics saved with vec_env.save('vecnormalize.pkl')")
    if path.stat().st_size > safe_pickle.MAX_BYTES:
        raise BadInput(f"--vecnormalize {path} is {path.stat().st_size / 2**20:.0f} MiB: not VecNormalize statistics")
    vn = safe_pickle.load(path.read_bytes(), f"--vecnormalize {path}")
    if type(vn).__name__ != "VecNormalize" or not hasattr(vn, "obs_rms"):
        raise BadInput(
            f"--vecnormalize {path} holds a {type(vn).__name__}, not VecNormalize statistics "
            "(save them with vec_env.save('vecnormalize.pkl'))"
        )
    for key in ("norm_obs", "epsilon", "clip_obs"):
        if not hasattr(vn, key):
            raise BadInput(f"--vecnormalize {path} has no {key}: not VecNormalize statistics SB3 saved")
    return vn, path


def _vecnormalize_box(vn, path: Path, obs_shape) -> tuple[dict | None, list[str]]:
    mean, var = np.asarray(vn.obs_rms.mean, np.float64), np.asarray(vn.obs_rms.var, np.float64)
    if mean.shape != tuple(obs_shape):
        raise BadInput(
            f"--vecnormalize {path} holds statistics for observations of shape {list(mean.shape)}, but the policy "
            f"takes {list(obs_shape)}: are these the statistics of this policy's training run?"
        )
    norm = {
        "type": "vecnormalize",
        "rule": "clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs)",
        "mean": mean.ravel().tolist(),
        "var": var.ravel().tolist(),
        "epsilon": float(vn.epsilon),
        "clip_obs": float(vn.clip_obs),
    }
    return norm, []


def build_module(policy, algo: str, obs_space, action_space, norm: dict | None):
    """The deterministic action path as one nn.Module; returns (module, post) with post in unscale|clip|argmax."""
    torch = require("torch", "export")
    from stable_baselines3.common.distributions import StateDependentNoiseDistribution
    from stable_baselines3.common.preprocessing import is_image_space

    nn = torch.nn
    discrete = type(action_space).__name__ == "Discrete"
    tanh = False
    if algo in ("PPO", "A2C"):
        core = _ActorCriticCore(policy)
        if not discrete and isinstance(policy.action_dist, StateDependentNoiseDistribution):
            tanh = bool(policy.squash_output)  # gSDE with squashing: the mode is tanh(mean)
    elif algo == "SAC":
        actor = policy.actor
        core = nn.Sequential(actor.features_extractor, actor.latent_pi, actor.mu)
        tanh = True  # SquashedDiagGaussian / squashed gSDE: the deterministic action is tanh(mean)
    elif algo == "TD3":
        core = nn.Sequential(policy.actor.features_extractor, policy.actor.mu)  # mu ends in Tanh
    elif algo == "DQN":
        core = nn.Sequential(policy.q_net.features_extractor, policy.q_net.q_net)  # Q-values
    else:  # pragma: no cover - detect_algo only returns the above
        raise BadInput(f"unsupported algorithm {algo}")
    post = "argmax" if discrete else ("unscale" if policy.squash_output else "clip")
    scale_images = bool(getattr(policy, "normalize_images", False) and is_image_space(obs_space))
    module = _SB3Policy(torch, core, norm, scale_images, tanh, post, action_space)
    return module.eval(), post


def _ActorCriticCore(policy):
    torch = require("torch", "export")

    class ActorCriticCore(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = policy.pi_features_extractor
            self.mlp = policy.mlp_extractor
            self.head = policy.action_net

        def forward(self, x):
            return self.head(self.mlp.forward_actor(self.features(x)))

    return ActorCriticCore()


def _SB3Policy(torch, core, norm, scale_images, tanh, post, action_space):
    class SB3Policy(torch.nn.Module):
        """raw observation -> the action the robot applies (see the module docstring)."""

        def __init__(self):
            super().__init__()
            self.core = core
            self.normalize = norm is not None
            self.scale_images, self.tanh, self.post = scale_images, tanh, post
            if norm:
                mean = np.asarray(norm["mean"], np.float64)
                inv_std = 1.0 / np.sqrt(np.asarray(norm["var"], np.float64) + norm["epsilon"])
                self.register_buffer("obs_mean", torch.tensor(mean, dtype=torch.float32))
                self.register_buffer("obs_inv_std", torch.tensor(inv_std, dtype=torch.float32))
                self.clip_obs = float(norm["clip_obs"])
            if post == "argmax":
                self.start = int(getattr(action_space, "start", 0))
            elif post != "none":
                self.register_buffer("low", torch.tensor(np.asarray(action_space.low), dtype=torch.float32))
                self.register_buffer("high", torch.tensor(np.asarray(action_space.high), dtype=torch.float32))

        def forward(self, obs):
            x = obs
            if self.normalize:
                x = torch.clamp((x - self.obs_mean) * self.obs_inv_std, -self.clip_obs, self.clip_obs)
            if self.scale_images:
                x = x / 255.0
            out = self.core(x)
            if self.post == "none":  # the normalization stage alone (a recurrent policy's, before its LSTM)
                return out
            if self.post == "argmax":
                action = torch.argmax(out, dim=1)
                return (action + self.start if self.start else action), out
            if self.tanh:
                out = torch.tanh(out)
            if self.post == "unscale":
                return self.low + 0.5 * (out + 1.0) * (self.high - self.low)
            return torch.maximum(torch.minimum(out, self.high), self.low)

    return SB3Policy()
