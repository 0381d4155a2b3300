"""The torch module an SB3 policy becomes (raw observation -> VecNormalize -> /255 -> the deterministic action
path -> unscale, clip or argmax; see sb3.py's docstring) and VecNormalize statistics read without unpickling:
what the trusted loader (sb3.py), the pickle-free one (sb3_safe.py) and the Dict-observation one (sb3_dict.py)
share."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, require
from edgeperf.exporter import safe_pickle
from edgeperf.exporter.policy import existing_file

POST_NOTES = {
    "unscale": "actions unscaled from [-1, 1] to the action space's bounds inside the graph",
    "clip": "actions clipped to the action space's bounds inside the graph",
    "argmax": "the chosen action is the argmax of the logits; the logits are the second output",
}
TRUSTED = "{name} was unpickled by SB3 (--trust-pickle), which runs code from the file: export only files you trust"


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

    path = existing_file(spec, "--vecnormalize", "the statistics saved with vec_env.save('vecnormalize.pkl')")
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
    module = sb3_policy(torch, core, norm, scale_images, tanh, post, action_space)
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


def sb3_policy(torch, core, norm, scale_images, tanh, post, action_space):
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
