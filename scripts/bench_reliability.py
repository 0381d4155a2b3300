"""How long `edgeperf reliability` takes on long training curves: synthetic runs (seeded random walks; default 2
runs of 10^6 points) written as the files the command reads (step,value CSV, or SB3 monitor.csv with episode
lengths that vary), the command timed in a fresh process (start-up, reading and the metrics), then the library's
reading and reliability() timed in this one; the figures and the command line are printed.
Bar: 2 runs of 10^6 points under 10 s on the 2-core dev machine.
Run: .venv/bin/python scripts/bench_reliability.py [--points N] [--runs R] [--format csv|monitor] [--align STEPS]"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def write_runs(folder: Path, runs: int, points: int, fmt: str, seed: int) -> list[Path]:
    paths = []
    for i in range(runs):
        rng = np.random.default_rng(seed + i)
        values = np.cumsum(rng.normal(0.01, 1.0, points))
        if fmt == "csv":
            path = folder / f"run{i}.csv"
            steps = 10 * np.arange(1, points + 1)  # evenly logged, every 10 steps: the same steps in every run
            np.savetxt(path, np.c_[steps, values], delimiter=",", header="step,value", comments="", fmt="%.17g")
        else:
            path = folder / f"run{i}.monitor.csv"
            lengths = rng.integers(50, 500, points)  # episode lengths: the steps (their cumulative sum) differ
            with path.open("w") as f:
                f.write('#{"t_start": 0, "env_id": "synthetic"}\nr,l,t\n')
                f.writelines(
                    f"{r:.6f},{n},{k * 0.01:.2f}\n" for k, (r, n) in enumerate(zip(values, lengths, strict=True))
                )
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=1_000_000, help="points per run (default 10^6)")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--format", choices=("csv", "monitor"), default="csv")
    parser.add_argument("--align", type=float, default=None, help="passed on (monitor runs share no step without)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="time the command this many times; the best is shown")
    parser.add_argument("--keep", type=Path, default=None, help="write the runs here and keep them")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        paths = write_runs(folder, args.runs, args.points, args.format, args.seed)
        print(
            f"{args.runs} runs x {args.points:,} points ({args.format}, seed {args.seed}) written in "
            f"{time.perf_counter() - t0:.1f} s"
        )

        report = folder / "reliability.json"
        cmd = [sys.executable, "-m", "edgeperf", "reliability", *map(str, paths), "--no-store", "--json", str(report)]
        if args.align is not None:
            cmd += ["--align", repr(args.align)]
        print("command:", shlex.join(cmd))
        walls = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            walls.append(time.perf_counter() - t0)
        print(f"command wall time: {min(walls):.2f} s" + (f" (best of {args.repeat})" if args.repeat > 1 else ""))

        from edgeperf.analysis import curves
        from edgeperf.analysis.reliability import reliability

        t0 = time.perf_counter()
        read = [curves.read(p) for p in paths]
        t_read = time.perf_counter() - t0
        t0 = time.perf_counter()
        results, _, _ = reliability(read, align=args.align)
        t_compute = time.perf_counter() - t0
        print(f"in process: reading {t_read:.2f} s, reliability() {t_compute:.2f} s")

        doc = json.loads(report.read_text())["results"]
        assert doc["within_runs"] == results["within_runs"], "the command and the library disagree"
        within = doc["within_runs"]
        figures = ", ".join(f"{k} {v['median']:.6g}" for k, v in within.items())
        print(f"within runs (median over runs): {figures}")
        across = doc["across_runs"]
        if across:
            print(
                f"across runs ({across['shared_steps']:,} shared steps): dispersion "
                f"{across['dispersion_across_runs']:.6g}, risk {across['risk_across_runs']:.6g}"
            )


if __name__ == "__main__":
    main()
