"""Floorplan figures for the README: the time of one episode (every placement step and the proxy cost) on a
domain, per placer, and each placer's proxy cost; the bundled networks through onnxruntime, as deployed.

Run: python scripts/bench_floorplan.py [--domain floorplan/ariane-like] [--repeats 5] [--seeds 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from edgeperf.domains import base
from edgeperf.domains.floorplan import expert, policy


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--domain", default="floorplan/ariane-like")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=20)
    args = ap.parse_args()
    from edgeperf.exporter.onnx import export
    from edgeperf.runtime.session import Session

    env = base.make(args.domain).env(0)
    placers = {"greedy": expert.greedy_action}
    rng = np.random.default_rng(0)
    placers["random"] = lambda e: expert.random_action(e, rng)
    sessions = []
    with tempfile.TemporaryDirectory() as tmp:
        for method in ("imitation", "ppo"):
            if not policy.weights_path(args.domain, method).is_file():
                continue
            spec = f"reference:{args.domain}" + ("" if method == "imitation" else f"+{method}")
            path = Path(tmp) / f"{method}.onnx"
            export(spec, path)
            s = Session.open(path, threads=1)
            sessions.append(s)
            placers[f"{method} (onnx)"] = lambda e, s=s: int(s.run(e.unwrapped._obs())[0])
        out = {}
        for name, choose in placers.items():
            times, costs = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                ret, info = expert.play(env, choose)
                times.append(time.perf_counter() - t0)
                costs.append(-ret)
            out[name] = {"episode_s_median": statistics.median(times), "proxy": costs[0], "success": info["success"]}
        randoms = []
        for seed in range(args.seeds):
            r = np.random.default_rng(seed)
            randoms.append(-expert.play(env, lambda e, r=r: expert.random_action(e, r))[0])
        out["random_over_seeds"] = {"mean": float(np.mean(randoms)), "min": float(np.min(randoms)), "seeds": args.seeds}
        for name in list(out):
            if name.endswith("(onnx)"):
                out[name]["beats_random_seeds"] = int(sum(out[name]["proxy"] < r for r in randoms))
        for s in sessions:
            s.close()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
