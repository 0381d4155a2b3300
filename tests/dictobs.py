"""Shared builders for the Dict-observation tests: an SB3 MultiInputPolicy (NatureCNN over the camera image of
vision/pendulum beside the angular velocity, VecNormalize on the 'state' key only) and its fp32 export."""

from __future__ import annotations

from pathlib import Path

import numpy as np

DOMAIN = "vision/pendulum"

# A small factory module of two named inputs (the keys of vision/pendulum), its uint8 image cast first.
FACTORY = """
import torch


class TwoInputs(torch.nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 4, 8, stride=8)
        self.head = torch.nn.Linear(4 * 6 * 6 + 1, 1)

    def forward(self, image, state):
        x = self.conv(image.float().permute(0, 3, 1, 2) / 255.0).flatten(1)
        return self.head(torch.cat([x, state], 1))


def make():
    return TwoInputs()
"""


def build_sb3(out: Path) -> dict[str, Path]:
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    from edgeperf.domains import base

    domain = base.make(DOMAIN)
    vn = VecNormalize(DummyVecEnv([lambda: domain.env(0)]), norm_obs_keys=["state"], norm_reward=False)
    vn.seed(0)
    vn.reset()
    rng = np.random.default_rng(0)
    for _ in range(150):  # statistics well away from (0, 1): a missing normalization shows in parity
        vn.step(rng.uniform(-2, 2, (1, 1)).astype(np.float32))
    model = PPO("MultiInputPolicy", vn, n_steps=64, seed=0, device="cpu", policy_kwargs={"net_arch": [32]})
    # An untrained head acts ~0 everywhere, which would hide errors: spread the actions over the range.
    model.policy.action_net.weight.data *= 200.0
    paths = {"zip": out / "ppo_vision.zip", "vecnormalize": out / "vecnormalize.pkl"}
    model.save(paths["zip"])
    vn.save(str(paths["vecnormalize"]))
    return paths


def export_sb3(paths: dict, out: Path, precision: str = "fp32", **kw):
    from edgeperf.exporter.onnx import export

    return export(
        str(paths["zip"]),
        out,
        vecnormalize=str(paths["vecnormalize"]),
        precision=precision,
        domain=DOMAIN,
        parity_samples=200,
        calibration_episodes=2,
        trust_pickle=True,  # a Dict observation with images: SB3's own loader (pickle-free covers Box inputs)
        **kw,
    )


def one_obs(seed: int = 3) -> dict:
    from edgeperf.domains import base

    env = base.make(DOMAIN).env(seed)
    try:
        obs, _ = env.reset(seed=seed)
        return obs
    finally:
        env.close()
