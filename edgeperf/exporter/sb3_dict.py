"""Stable-Baselines3 `MultiInputPolicy` (Dict observations: camera images beside vectors) -> one torch module
whose inputs are the env's raw observation keys, in the order of the policy's Dict space:

    raw obs[key] -> float -> [VecNormalize on the keys it normalizes (norm_obs_keys)]
                 -> images: [HWC -> CHW, as SB3's VecTransposeImage did in training] -> [/255 (preprocess_obs)]
                 -> CombinedExtractor and the deterministic action path (sb3_module.build_module)

so the artifact takes uint8 HWC pixels as a camera gives them. SB3 stores the policy's space after its own
transposition (images always channel-first); the raw layout comes from the env's space when the export is
given --domain, else it is taken as HWC (what camera envs and `render()` produce), and the report says so.
The parity reference is SB3's own predict(VecNormalize.normalize_obs(obs)), which transposes HWC images itself.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from edgeperf import spaces
from edgeperf.errors import BadInput, require
from edgeperf.exporter.policy import PolicySource
from edgeperf.exporter.sb3_module import POST_NOTES, TRUSTED, build_module, normalize, read_vecnormalize
from edgeperf.results.report import sha256_file

RULE = "clip((obs - mean) / sqrt(var + epsilon), -clip_obs, clip_obs), on the listed keys"


def load(
    path: Path, model, algo: str, obs_shape, vecnormalize: str | None, raw: spaces.DictSpace | None
) -> PolicySource:
    """The trusted path: the model SB3 unpickled, its own predict as the reference."""
    import stable_baselines3 as sb3
    from stable_baselines3.common.preprocessing import is_image_space

    if obs_shape:
        keys = list(model.observation_space.spaces)
        raise BadInput(f"{path} takes a Dict observation (keys {keys}): drop --obs-shape")
    policy = model.policy.eval()
    space = model.observation_space
    stored = {}
    for key, sub in space.spaces.items():
        box = spaces.from_gym(sub, "observation") if type(sub).__name__ == "Box" else None
        if box is None:
            kind = type(sub).__name__
            raise BadInput(f"{path}: observation key '{key}' is a {kind} space; edgeperf exports Box keys")
        stored[key] = (box, bool(is_image_space(sub)))
    inner, post = build_module(policy, algo, space, model.action_space, None)
    module, subspaces, norm, notes, preprocessing = assemble(
        path, stored, bool(policy.normalize_images), raw, vecnormalize, inner
    )
    notes.insert(0, TRUSTED.format(name=path.name))

    def reference(obs: dict) -> np.ndarray:
        x = _normalize(norm, obs) if norm is not None else obs
        return np.asarray(policy.predict(x, deterministic=True)[0])

    details = {
        "algorithm": algo,
        "policy_class": type(policy).__name__,
        "post_processing": POST_NOTES[post],
        "sb3_version": getattr(sb3, "__version__", None),
        "preprocessing": preprocessing,
    }
    if vecnormalize:
        details["vecnormalize"] = str(vecnormalize)
    return PolicySource(
        module,
        "sb3",
        str(path),
        (),
        sha256=sha256_file(path),
        obs_space=spaces.dict_space(subspaces),
        action_space=spaces.from_gym(model.action_space, "action"),
        normalization=norm,
        notes=notes,
        details=details,
        discrete=post == "argmax",
        action_shape=tuple(model.action_space.shape or ()),
        reference=reference,
    )


def assemble(
    path: Path, stored: dict, normalize_images: bool, raw: spaces.DictSpace | None, vecnormalize: str | None, inner
):
    """The raw-observation module around `inner` (a module of the preprocessed Dict observation, as SB3's policy
    takes it), for both loaders. `stored`: key -> (Box space as SB3 stored it, images channel-first; is an image).
    Returns (module, the raw subspaces, normalization, notes, preprocessing per key in words)."""
    raw_spaces = raw.spaces if raw is not None else {}
    subspaces, plan, notes = {}, {}, []
    for key, (space, image) in stored.items():
        box, transpose = space, False
        if image:
            chw = box.shape
            hwc = (chw[1], chw[2], chw[0])
            given = raw_spaces[key].shape if key in raw_spaces else ()
            if given and given not in (chw, hwc):
                raise BadInput(
                    f"{path}: image '{key}' is {'x'.join(map(str, chw))} (CHW) in the policy, but the domain gives "
                    f"{'x'.join(map(str, given))}: is --domain the one the policy was trained on?"
                )
            transpose = given != chw
            if transpose:
                box = dataclasses.replace(box, shape=hwc)
                if not given:
                    notes.append(
                        f"image '{key}' is taken as HWC {'x'.join(map(str, hwc))} (raw camera layout; SB3 "
                        "transposed it to CHW in training); give --domain to take the layout from the env"
                    )
        subspaces[key] = box
        plan[key] = {
            "image": image,
            "transpose": transpose,
            "scale": image and normalize_images,
            "shape": box.shape,
        }
    norm = None
    if vecnormalize:
        norm, _, more = _vecnormalize(vecnormalize, subspaces)
        notes += more
    module = _DictPolicy(list(stored), plan, norm, inner).eval()
    preprocessing = {
        k: ", ".join(
            w
            for w, on in (
                ("VecNormalize", norm is not None and k in norm["keys"]),
                ("HWC->CHW", p["transpose"]),
                ("/255", p["scale"]),
            )
            if on
        )
        or "none"
        for k, p in plan.items()
    }
    return module, subspaces, norm, notes, preprocessing


def _normalize(norm: dict, obs: dict) -> dict:
    """VecNormalize.normalize_obs for a Dict observation: each normalised key as SB3 computes it."""

    out = dict(obs)
    for key, stats in norm["keys"].items():
        out[key] = normalize({**stats, "epsilon": norm["epsilon"], "clip_obs": norm["clip_obs"]}, obs[key])
    return out


def _vecnormalize(spec: str, subspaces: dict) -> tuple[dict | None, object, list[str]]:

    vn, path = read_vecnormalize(spec)
    if not vn.norm_obs:
        return None, None, [f"{path.name} has observation normalization off (norm_obs=False): nothing to bake in"]
    if not isinstance(vn.obs_rms, dict):
        raise BadInput(
            f"--vecnormalize {path} normalizes one Box observation, but the policy takes a Dict observation "
            f"(keys {list(subspaces)}): are these the statistics of this policy's training run?"
        )
    keys = {}
    for key in vn.norm_obs_keys:
        if key not in subspaces:
            raise BadInput(
                f"--vecnormalize {path} normalizes key '{key}', which the policy does not take "
                f"(keys {list(subspaces)}): are these the statistics of this policy's training run?"
            )
        rms = vn.obs_rms[key]
        mean, var = np.asarray(rms.mean, np.float64), np.asarray(rms.var, np.float64)
        if mean.shape != subspaces[key].shape:
            raise BadInput(
                f"--vecnormalize {path} holds statistics of shape {list(mean.shape)} for key '{key}', the policy "
                f"takes {list(subspaces[key].shape)}"
            )
        keys[key] = {"mean": mean.ravel().tolist(), "var": var.ravel().tolist()}
    norm = {"type": "vecnormalize", "rule": RULE, "keys": keys, "epsilon": float(vn.epsilon)}
    norm["clip_obs"] = float(vn.clip_obs)
    return norm, vn, []


def _DictPolicy(keys: list[str], plan: dict, norm: dict | None, inner):
    torch = require("torch", "export")

    class DictPolicy(torch.nn.Module):
        """raw observation keys (positional, in `keys` order) -> the action the robot applies."""

        def __init__(self):
            super().__init__()
            self.keys, self.inner = list(keys), inner
            self.transpose = [plan[k]["transpose"] for k in keys]
            self.scale = [plan[k]["scale"] for k in keys]
            self.normalized = [bool(norm) and k in norm["keys"] for k in keys]
            self.clip_obs = float(norm["clip_obs"]) if norm else 0.0
            for i, k in enumerate(keys):
                if self.normalized[i]:
                    stats = norm["keys"][k]
                    inv = 1.0 / np.sqrt(np.asarray(stats["var"], np.float64) + norm["epsilon"])
                    shape = plan[k]["shape"]
                    self.register_buffer(f"mean{i}", torch.tensor(stats["mean"], dtype=torch.float32).reshape(shape))
                    self.register_buffer(f"inv_std{i}", torch.tensor(inv, dtype=torch.float32).reshape(shape))

        def forward(self, *xs):
            obs = {}
            for i, k in enumerate(self.keys):
                x = xs[i].float()
                if self.normalized[i]:
                    x = (x - getattr(self, f"mean{i}")) * getattr(self, f"inv_std{i}")
                    x = torch.clamp(x, -self.clip_obs, self.clip_obs)
                if self.transpose[i]:
                    x = x.permute(0, 3, 1, 2)
                if self.scale[i]:
                    x = x / 255.0
                obs[k] = x
            return self.inner(obs)

    return DictPolicy()
