"""Per-task success of the scripted DOM expert and of the bundled network on the evaluation seeds (the README's
table): 50 seeded episodes per task (seeds 0-49, never used in training), one browser, headless Chromium.

Run: PYTHONPATH=. .venv/bin/python scripts/eval_web.py [--episodes 50] [--tasks click-button,...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from edgeperf.domains import base
from edgeperf.domains.web import TASK_DESCRIPTIONS, expert, load_reference


def success(domain, act, seeds) -> tuple[int, list]:
    wins, failed = 0, []
    for s in seeds:
        env = domain.env(s)
        obs, _ = env.reset(seed=s)
        while True:
            obs, _, term, trunc, info = env.step(act(env, obs))
            if term or trunc:
                break
        wins += bool(info["success"])
        if not info["success"]:
            failed.append((s, info["failure_reason"]))
        env.close()
    return wins, failed


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--tasks", default=",".join(TASK_DESCRIPTIONS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    seeds = list(range(args.episodes))
    net = load_reference("web/click-button")
    rows = []
    t0 = time.perf_counter()
    for task in args.tasks.split(","):
        d, ex = base.make(f"web/{task}"), expert(f"web/{task}")
        e_wins, e_failed = success(d, lambda env, obs, ex=ex: ex(env), seeds)

        def act(env, obs):
            with torch.no_grad():
                return net(torch.as_tensor(np.asarray(obs)[None])).numpy()[0]

        n_wins, n_failed = success(d, act, seeds)
        rows.append((task, e_wins, n_wins))
        print(f"{task:17s} expert {e_wins}/{len(seeds)}  network {n_wins}/{len(seeds)}", flush=True)
        for s, why in (e_failed + n_failed)[:4]:
            print(f"    seed {s}: {why}")
    print("\n| task | expert | network |\n|---|---|---|")
    for task, e, n in rows:
        print(f"| web/{task} | {e}/{len(seeds)} ({e / len(seeds):.0%}) | {n}/{len(seeds)} ({n / len(seeds):.0%}) |")
    print(f"\n{time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
