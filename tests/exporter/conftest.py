"""Real, small policies for the exporter tests: Stable-Baselines3 models trained for a few hundred steps on
gymnasium tasks (Box and Discrete actions), a VecNormalize file, and a factory module with a state_dict."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest


def _net() -> dict:
    return {"net_arch": [32, 32]}  # a fresh dict each time: SB3 adds its own keys to policy_kwargs


@pytest.fixture(scope="session")
def sb3_models(tmp_path_factory) -> dict[str, Path]:
    """algorithm/task -> saved .zip (and 'vecnormalize' -> the statistics of the PPO Pendulum run)."""
    pytest.importorskip("stable_baselines3")
    from stable_baselines3 import A2C, DQN, PPO, SAC, TD3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    d = tmp_path_factory.mktemp("sb3")
    out = {}
    env = VecNormalize(make_vec_env("Pendulum-v1", n_envs=2, seed=0), norm_reward=False)
    ppo = PPO("MlpPolicy", env, n_steps=128, batch_size=64, n_epochs=2, seed=0, device="cpu", policy_kwargs=_net())
    ppo.learn(512)  # a few hundred steps: the VecNormalize statistics move well away from (0, 1)
    out["ppo-pendulum"] = d / "ppo_pendulum.zip"
    out["vecnormalize"] = d / "vecnormalize.pkl"
    ppo.save(out["ppo-pendulum"])
    env.save(str(out["vecnormalize"]))
    small = {"seed": 0, "device": "cpu"}
    PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=64, n_epochs=1, policy_kwargs=_net(), **small).learn(
        128
    ).save(d / "ppo_cartpole.zip")
    out["ppo-cartpole"] = d / "ppo_cartpole.zip"
    A2C("MlpPolicy", "MountainCarContinuous-v0", n_steps=16, policy_kwargs=_net(), **small).learn(64).save(
        d / "a2c_mcc.zip"
    )
    out["a2c-mountaincar"] = d / "a2c_mcc.zip"
    off = {"learning_starts": 32, "buffer_size": 256, "batch_size": 32, **small}
    SAC(policy_kwargs=_net(), policy="MlpPolicy", env="Pendulum-v1", **off).learn(64).save(d / "sac_pendulum.zip")
    out["sac-pendulum"] = d / "sac_pendulum.zip"
    TD3(policy_kwargs=_net(), policy="MlpPolicy", env="Pendulum-v1", **off).learn(64).save(d / "td3_pendulum.zip")
    out["td3-pendulum"] = d / "td3_pendulum.zip"
    DQN(policy_kwargs=_net(), policy="MlpPolicy", env="CartPole-v1", **off).learn(64).save(d / "dqn_cartpole.zip")
    out["dqn-cartpole"] = d / "dqn_cartpole.zip"
    return out


FACTORY_CODE = textwrap.dedent(
    '''
    import torch


    class Actor(torch.nn.Module):
        """A legged-robot-style actor: MLP with ELU, actions clamped to the joint-target range."""

        def __init__(self, obs_dim=10, act_dim=3, hidden=32):
            super().__init__()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(obs_dim, hidden), torch.nn.ELU(), torch.nn.Linear(hidden, act_dim)
            )

        def forward(self, obs):
            return torch.clamp(self.net(obs), -2.0, 2.0)


    def make_policy(obs_dim=10, act_dim=3, hidden=32):
        return Actor(obs_dim, act_dim, hidden)
    '''
)


@pytest.fixture
def factory_pkg(tmp_path, monkeypatch):
    """A package `mynets` in a folder that is the working directory, like a user's training repo, plus a
    state_dict of a trained-ish instance. Returns (module_file, weights, the torch module with those weights)."""
    torch = pytest.importorskip("torch")
    pkg = tmp_path / "repo" / "mynets"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "policies.py").write_text(FACTORY_CODE)
    monkeypatch.chdir(tmp_path / "repo")  # the exporter finds `mynets` from the working directory, like python -m
    import importlib.util

    spec = importlib.util.spec_from_file_location("_factory_fixture", pkg / "policies.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    net = mod.make_policy()
    with torch.no_grad():
        for p in net.parameters():
            p.mul_(3.0)  # not the factory's initial weights: proves the state_dict is loaded
    weights = tmp_path / "repo" / "policy.pt"
    torch.save(net.state_dict(), str(weights))
    yield pkg / "policies.py", weights, net.eval()
    import sys

    for name in [n for n in sys.modules if n == "mynets" or n.startswith("mynets.")]:
        del sys.modules[name]
