"""Success and survival of the quadruped expert and of the bundled networks, on N seeded episodes per task.

Episode k of every policy uses seed k (same friction, initial state and pushes). Prints a markdown table.
Run: .venv/bin/python scripts/eval_quadruped.py [--episodes 50] [--tasks trot,spin,trot-push,pace]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from edgeperf.domains.quadruped import load_reference, make_env
from edgeperf.domains.quadruped.expert import GaitExpert
from edgeperf.errors import BadInput


def run(task: str, policy: str, episodes: int, seed0: int) -> dict:
    env = make_env(task)
    if policy == "expert":
        expert = GaitExpert()

        def act(obs):
            return expert(env)
    else:
        import torch

        torch.set_num_threads(1)
        model = load_reference(f"quadruped/{task}")

        def act(obs):
            with torch.no_grad():
                return model(torch.from_numpy(obs)[None])[0].numpy()

    rows, steps, t0 = [], 0, time.perf_counter()
    for k in range(episodes):
        obs, _ = env.reset(seed=seed0 + k)
        while True:
            obs, _, term, trunc, info = env.step(act(obs))
            steps += 1
            if term or trunc:
                m = info["metrics"]
                rows.append(
                    (
                        info["success"],
                        not info["fall"],
                        m["forward_speed"],
                        m["yaw_rate"],
                        m["lateral_drift"],
                        m["energy"] / max(m["duration_s"], 1e-9),
                    )
                )
                break
    env.close()
    r = np.array(rows, float)
    return {
        "success": r[:, 0].mean(),
        "survival": r[:, 1].mean(),
        "speed": r[:, 2].mean(),
        "yaw_rate": r[:, 3].mean(),
        "drift": r[:, 4].mean(),
        "power": r[:, 5].mean(),
        "ms_per_step": (time.perf_counter() - t0) / steps * 1e3,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0, help="first seed (episode k uses seed + k)")
    ap.add_argument("--tasks", default="trot,spin,trot-push,pace")
    ap.add_argument("--policies", default="expert,network")
    args = ap.parse_args()
    print(
        f"{args.episodes} episodes per task and policy, seeds {args.seed}-{args.seed + args.episodes - 1}, 20 s each\n"
    )
    print(
        "| task | policy | success | survival | forward speed (m/s) | yaw rate (rad/s) | lateral drift (m) "
        "| mech. power (W) | ms/step |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for task in args.tasks.split(","):
        for policy in args.policies.split(","):
            try:
                r = run(task, policy, args.episodes, args.seed)
            except BadInput as exc:
                print(f"| quadruped/{task} | {policy} | n/a: {exc} | | | | | | |", flush=True)
                continue
            print(
                f"| quadruped/{task} | {policy} | {r['success']:.0%} | {r['survival']:.0%} | {r['speed']:.3f} | "
                f"{r['yaw_rate']:.3f} | {r['drift']:.3f} | {r['power']:.0f} | {r['ms_per_step']:.2f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
