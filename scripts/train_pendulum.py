"""Train the bundled gym:Pendulum-v1 reference policy by DAgger from the energy-pumping expert.

Deterministic (seeded numpy, torch and environment); a few seconds on 2 cores. Writes
edgeperf/domains/references/pendulum.pt (a state_dict) and prints the expert's and the network's success rate
on 50 seeded episodes.  Run: .venv/bin/python scripts/train_pendulum.py
"""

from __future__ import annotations

import time
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from edgeperf.domains import base
from edgeperf.domains.gym import pendulum_expert
from edgeperf.domains.references import PENDULUM_SIZES, mlp

OUT = Path(__file__).resolve().parents[1] / "edgeperf" / "domains" / "references" / "pendulum.pt"


def rollouts(policy, episodes: int, seed: int, beta: float, rng, expert=pendulum_expert) -> np.ndarray:
    """Observations visited when the expert acts with probability beta and the policy otherwise (DAgger)."""
    env = gym.make("Pendulum-v1")
    seen = []
    for ep in range(episodes):
        obs, _ = env.reset(seed=seed + ep)
        for _ in range(200):
            seen.append(obs)
            act = expert(obs) if policy is None or rng.random() < beta else policy(obs)
            obs, *_ = env.step(act)
    return np.asarray(seen, np.float32)


def fit(model, obs: np.ndarray, epochs: int, gen, expert=pendulum_expert) -> None:
    x = torch.from_numpy(obs)
    y = torch.from_numpy(np.stack([expert(o) for o in obs]))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), 256):
            idx = perm[i : i + 256]
            loss = torch.nn.functional.mse_loss(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def success_rate(act, episodes: int = 50) -> float:
    domain = base.make("gym:Pendulum-v1")
    wins = 0
    for k in range(episodes):
        env = domain.env(seed=10_000 + k)
        obs, _ = env.reset(seed=10_000 + k)
        while True:
            obs, _, term, trunc, info = env.step(act(obs))
            if term or trunc:
                wins += info["success"]
                break
    return wins / episodes


def main() -> None:
    t0 = time.perf_counter()
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    model = mlp(PENDULUM_SIZES, act_limit=2.0)

    def policy(obs):
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(obs, np.float32)[None]))[0].numpy()

    data = rollouts(None, 40, seed=0, beta=1.0, rng=rng)
    fit(model, data, epochs=60, gen=gen)
    for it in range(1, 5):  # DAgger: visit the network's own states, label them with the expert
        data = np.concatenate([data, rollouts(policy, 20, seed=1000 * it, beta=0.5**it, rng=rng)])
        fit(model, data, epochs=30, gen=gen)
    torch.save(model.state_dict(), OUT)
    print(f"trained in {time.perf_counter() - t0:.1f} s on {len(data)} labelled observations -> {OUT}")
    print(
        f"success on 50 seeded episodes: expert {success_rate(pendulum_expert):.0%}, network {success_rate(policy):.0%}"
    )


if __name__ == "__main__":
    main()
