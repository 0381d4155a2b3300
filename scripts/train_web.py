"""Train the bundled web policy (edgeperf/domains/references/web.pt) by imitation of the scripted DOM expert.

One set network (edgeperf/domains/web/policy.py) for all six web tasks. Round 0 rolls out the expert and labels
every page with its action (behaviour cloning); each DAgger round after it rolls out the network (the expert
acts instead with probability beta = 0.5^round), labels every page the network reached with the expert's
action, aggregates and refits. Training seeds start at 100000, never the evaluation seeds 0-49 of
scripts/eval_web.py. Deterministic up to the browser (pages are seeded; numpy and torch are seeded,
single-threaded).

Run: PYTHONPATH=. .venv/bin/python scripts/train_web.py     (~6-8 min on the 2-core dev machine)
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from edgeperf.domains import base
from edgeperf.domains.web import TASK_DESCRIPTIONS, expert
from edgeperf.domains.web.policy import WEIGHTS, WebPolicy

TRAIN_SEED0 = 100_000


def rollouts(task: str, model, episodes: int, beta: float, seed0: int, rng):
    """(pages, expert labels, successes of the acting mixture) over `episodes` seeded episodes of a task."""
    domain, ex = base.make(f"web/{task}"), expert(f"web/{task}")
    obs_buf, lab_buf, wins = [], [], 0
    for k in range(episodes):
        env = domain.env(seed0 + k)
        obs, _ = env.reset(seed=seed0 + k)
        while True:
            label = ex(env)
            obs_buf.append(obs)
            lab_buf.append(int(np.argmax(label)))
            if model is None or rng.random() < beta:
                action = label
            else:
                with torch.no_grad():
                    action = model(torch.as_tensor(obs[None])).numpy()[0]
            obs, _, term, trunc, info = env.step(action)
            if term or trunc:
                wins += bool(info["success"])
                break
        env.close()
    return obs_buf, lab_buf, wins


def fit(model, obs, labels, epochs: int, seed: int):
    torch.manual_seed(seed)
    x, y = torch.as_tensor(np.asarray(obs)), torch.as_tensor(np.asarray(labels))
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(epochs):
        perm = torch.randperm(len(x))
        for i in range(0, len(x), 64):
            idx = perm[i : i + 64]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        acc = float((model(x).argmax(1) == y).float().mean())
    return loss.item(), acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=60, help="expert episodes per task in round 0")
    ap.add_argument("--dagger", type=int, default=2, help="DAgger rounds after behaviour cloning")
    ap.add_argument("--dagger-episodes", type=int, default=30, help="episodes per task per DAgger round")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--out", default=str(WEIGHTS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = WebPolicy()
    obs, labels = [], []
    seed = TRAIN_SEED0
    t0 = time.perf_counter()
    for rnd in range(args.dagger + 1):
        beta = 0.5**rnd
        for task in TASK_DESCRIPTIONS:
            n = args.episodes if rnd == 0 else args.dagger_episodes
            o, lab, wins = rollouts(task, None if rnd == 0 else model, n, beta, seed, rng)
            seed += n
            obs += o
            labels += lab
            print(f"round {rnd} {task:17s} {wins}/{n} solved by the acting policy (beta {beta:.2f}), {len(o)} pages")
        model.train()
        loss, acc = fit(model, obs, labels, args.epochs, rnd)
        model.eval()
        took = time.perf_counter() - t0
        print(f"round {rnd}: {len(obs)} pages, loss {loss:.4f}, train accuracy {acc:.3f}, {took:.0f} s")
    torch.save(model.state_dict(), args.out)
    print(f"wrote {args.out} ({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
