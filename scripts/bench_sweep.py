"""Sweep overhead: the same 40 validation jobs on the local process pool and on a local Ray cluster (started
here, before the clock: a cluster is standing infrastructure), side by side, alternating, with the same number
of workers. Checks that the two give the same report for every job (pair for pair) and prints the ratio of wall
times (the README's bar: Ray at most 1.3x the pool).

    PYTHONPATH=$PWD python scripts/bench_sweep.py [--jobs 40] [--workers 2] [--rounds 2] [--episodes 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script

from edgeperf.sweep import config as cfg
from edgeperf.sweep import run
from edgeperf.sweep.local import LocalPool
from edgeperf.sweep.ray_cluster import LocalCluster, RayCluster

DOCS_PAGE = "benchmarks/sweeps.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--episodes", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    config = tmp / "bench.toml"
    config.write_text(
        '[validate]\nmodels = ["reference:gym:Pendulum-v1"]\ndomains = ["gym:Pendulum-v1"]\n'
        f"seeds = {[1000 * k for k in range(args.jobs)]}\nepisodes = {args.episodes}\n"
    )
    times = {"pool": [], "ray": []}
    outputs = {}
    with LocalCluster(head_cpus=args.workers) as cluster:
        for r in range(args.rounds):
            for name in ("pool", "ray"):
                sweep = cfg.load(config)
                sweep.output = tmp / f"{name}-{r}"
                t0 = time.perf_counter()
                ex = LocalPool(args.workers) if name == "pool" else RayCluster(cluster.address)
                try:
                    index = run.run(sweep, ex)
                finally:
                    ex.close()
                times[name].append(time.perf_counter() - t0)
                assert index["done"] == args.jobs, index
                outputs.setdefault(name, sweep.output)
                print(f"round {r + 1} {name}: {times[name][-1]:.1f} s for {args.jobs} jobs", flush=True)
    same = 0
    for job in cfg.load(config).jobs:
        a, b = (json.loads(run.report_path(outputs[n], job).read_text())["results"] for n in ("pool", "ray"))
        keys = ("paired", "reference", "deployed")
        same += all(a[k] == b[k] for k in keys)
    pool, ray = statistics.median(times["pool"]), statistics.median(times["ray"])
    print(f"same results pair for pair: {same}/{args.jobs} jobs")
    rounds = ", ".join(f"{r / p:.2f}x" for p, r in zip(times["pool"], times["ray"], strict=True))
    print(f"ray / pool per round: {rounds}")
    print(
        f"pool {pool:.1f} s, ray {ray:.1f} s (medians of {args.rounds}): ray / pool = {ray / pool:.2f}x "
        f"({args.workers} workers each; bar: <= 1.3x)"
    )


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
