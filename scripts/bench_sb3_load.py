"""Loading an SB3 zip pickle-free (edgeperf.exporter.sb3_safe) against SB3's own `load`, side by side.

For each agent (made and saved here with SB3's default networks: PPO and SAC on Pendulum, DQN on CartPole, TQC on
Pendulum), rounds alternate pickle-free / SB3 then SB3 / pickle-free; each load is timed whole, from the path to
a module that acts (the pickle-free side builds the export module, SB3 builds its model). Median milliseconds
over the rounds; bar: pickle-free no slower than SB3.

Run: .venv/bin/python scripts/bench_sb3_load.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import sb3_contrib
import stable_baselines3 as sb3
import torch

from edgeperf.exporter import sb3_safe

AGENTS = (("PPO", "Pendulum-v1"), ("SAC", "Pendulum-v1"), ("DQN", "CartPole-v1"), ("TQC", "Pendulum-v1"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{'agent':10s} {'pickle-free ms':>15s} {'SB3 load ms':>12s} {'ratio':>7s}")
        for algo, env in AGENTS:
            cls = getattr(sb3, algo, None) or getattr(sb3_contrib, algo)
            path = Path(tmp) / f"{algo}.zip"
            cls("MlpPolicy", env, seed=0, device="cpu").save(path)
            free, sb = [], []
            for r in range(args.rounds):
                order = ("free", "sb3") if r % 2 == 0 else ("sb3", "free")
                for side in order:
                    t0 = time.perf_counter()
                    if side == "free":
                        sb3_safe.load(path, None, None)
                        free.append(time.perf_counter() - t0)
                    else:
                        cls.load(path, device="cpu")
                        sb.append(time.perf_counter() - t0)
            f, s = statistics.median(free) * 1e3, statistics.median(sb) * 1e3
            print(f"{algo:10s} {f:15.1f} {s:12.1f} {f / s:7.2f}  {'ok' if f <= s else 'SLOWER'}")
    print(f"command: .venv/bin/python scripts/bench_sb3_load.py --rounds {args.rounds}")


if __name__ == "__main__":
    main()
