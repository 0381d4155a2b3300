"""Train the bundled quadruped reference policies by DAgger from the model-based gait expert.

One MLP (47 -> 256 -> 256 -> 12, ELU, normalisation inside) walks quadruped/trot, quadruped/spin and
quadruped/trot-push (the command in the observation tells them apart); `--pace` trains a second one for
quadruped/pace (a different leg pairing under the same gait clock).

DAgger: iteration 0 rolls out the expert with action noise (so the data covers states off its own path); every
later iteration rolls out a mixture (at each step the expert acts with probability beta_i = 0.5^i, the network
otherwise), labels every visited state with the expert's action, aggregates and refits. Every few iterations the
network is scored on held-out seeds (never the evaluation seeds 0-49 of scripts/eval_quadruped.py) and the
best-scoring weights are kept.

Deterministic: numpy, torch and the simulator are seeded, torch runs single-threaded with deterministic
algorithms. About 20-25 minutes on one core of the 2-core dev machine.

Run: .venv/bin/python scripts/train_quadruped.py            (writes edgeperf/domains/quadruped/reference.pt)
     .venv/bin/python scripts/train_quadruped.py --pace     (writes edgeperf/domains/quadruped/reference_pace.pt)
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from edgeperf.domains.quadruped import make_env
from edgeperf.domains.quadruped.expert import GaitExpert
from edgeperf.domains.quadruped.policy import HERE, QuadrupedPolicy

TRAIN_SEED0, SCORE_SEED0 = 100_000, 200_000


def rollouts(  # noqa: PLR0913 - DAgger's knobs, as the paper names them
    envs, expert, model, episodes: int, beta: float, noise: float, seed0: int, episode_steps: int, rng
):
    """(observations, expert labels, falls) from mixture rollouts; every visited state is labelled."""
    obs_buf, act_buf, falls = [], [], 0
    for ep in range(episodes):
        env = envs[ep % len(envs)]
        obs, _ = env.reset(seed=seed0 + ep)
        for _ in range(episode_steps):
            label = expert(env)
            obs_buf.append(obs)
            act_buf.append(label)
            if model is None or rng.random() < beta:
                act = label + (rng.normal(0.0, noise, 12) if noise else 0.0)
            else:
                with torch.no_grad():
                    act = model(torch.from_numpy(obs)[None])[0].numpy()
            obs, _, term, _, _ = env.step(act)
            if term:
                falls += 1
                break
    return np.asarray(obs_buf, np.float32), np.asarray(act_buf, np.float32), falls


def fit(model, x: np.ndarray, y: np.ndarray, epochs: int, gen, lr: float) -> float:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss = torch.zeros(())
    for _ in range(epochs):
        perm = torch.randperm(len(xt), generator=gen)
        for i in range(0, len(xt), 512):
            idx = perm[i : i + 512]
            loss = torch.nn.functional.mse_loss(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return float(loss.detach())


def score(model, tasks, episodes: int) -> float:
    """Success rate of the network on held-out seeds (full 20 s episodes)."""
    wins = 0
    for task in tasks:
        env = make_env(task)
        for k in range(episodes):
            obs, _ = env.reset(seed=SCORE_SEED0 + k)
            while True:
                with torch.no_grad():
                    act = model(torch.from_numpy(obs)[None])[0].numpy()
                obs, _, term, trunc, info = env.step(act)
                if term or trunc:
                    wins += bool(info["success"])
                    break
        env.close()
    return wins / (len(tasks) * episodes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pace", action="store_true", help="train the quadruped/pace network instead")
    ap.add_argument("--iterations", type=int, default=15)
    ap.add_argument("--episodes", type=int, default=30, help="rollout episodes per DAgger iteration")
    ap.add_argument("--episode-s", type=float, default=10.0, help="length of a training rollout")
    ap.add_argument("--score-episodes", type=int, default=4, help="held-out episodes per task for selection")
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()

    tasks = ["pace"] if args.pace else ["trot", "spin", "trot-push"]
    out = args.out or HERE / ("reference_pace.pt" if args.pace else "reference.pt")
    t0 = time.perf_counter()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    rng = np.random.default_rng(0)
    envs = [make_env(t, episode_s=args.episode_s) for t in tasks]
    steps = int(args.episode_s * 50)
    expert = GaitExpert()
    model = QuadrupedPolicy()

    x, y, _ = rollouts(envs, expert, None, args.episodes * 2, 1.0, 0.1, TRAIN_SEED0, steps, rng)
    model.obs_mean.copy_(torch.from_numpy(x.mean(0)))
    model.obs_std.copy_(torch.from_numpy(np.maximum(x.std(0), 1e-2)))
    loss = fit(model, x, y, epochs=30, gen=gen, lr=1e-3)
    print(f"iter 0: {len(x)} samples, loss {loss:.4f}, {time.perf_counter() - t0:.0f} s", flush=True)
    best, best_state = -1.0, None
    for it in range(1, args.iterations + 1):
        beta = 0.5**it
        seed0 = TRAIN_SEED0 + 1000 * it
        xi, yi, falls = rollouts(envs, expert, model.eval(), args.episodes, beta, 0.0, seed0, steps, rng)
        x, y = np.concatenate([x, xi]), np.concatenate([y, yi])
        lr = 1e-3 if it < args.iterations // 2 else 3e-4
        loss = fit(model.train(), x, y, epochs=8, gen=gen, lr=lr)
        msg = f"iter {it}: beta {beta:.3f}, {len(x)} samples, {falls}/{args.episodes} rollouts fell, loss {loss:.4f}"
        if it % 3 == 0 or it == args.iterations:
            s = score(model.eval(), tasks, args.score_episodes)
            msg += f", held-out success {s:.2f}"
            if s >= best:
                best, best_state = s, {k: v.clone() for k, v in model.state_dict().items()}
        print(f"{msg}, {time.perf_counter() - t0:.0f} s", flush=True)
    torch.save(best_state, out)
    print(f"wrote {out} (held-out success {best:.2f}) in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
