"""The bounded-memory bars of issue 10, on the example policy.

  rss        `python -m edgeperf profile policy.onnx --duration S --csv ... --json ...` as fresh processes, a
             short and a long run: peak RSS of each (VmHWM, the kernel's high-water mark, from the report; the
             child's rusage would count the pages it shared with this torch-laden parent before exec);
             bar: the long run within 10 MB of the short one
  precision  the long run's p50/p99/p99.9 against numpy's exact percentiles of the same samples, read back from
             its streamed CSV; bar: within the relative precision the report states
  overhead   the profiler's stream p50 (scripts/bench_backends.py's profile_p50) against a bare
             InferenceSession.run loop on the same session options (its p50_loop), interleaved rounds, with the
             exact buffer cut to 1024 samples so every round runs on the histogram; bar <= 1.10

Run: nice -n 10 .venv/bin/python scripts/bench_soak.py [--short 10] [--long 600] [--rounds 9] [--iterations 5000]
     [--only rss|overhead]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import numpy as np
from bench_backends import p50_loop, profile_p50  # scripts/ is on sys.path when this runs as a script

from edgeperf.exporter.onnx import export
from edgeperf.profilers import latency
from edgeperf.profilers.observations import random_pool
from edgeperf.runtime.session import Session

DOCS_PAGE = "benchmarks/memory.md"


def profile_process(model: Path, duration: float, out: Path) -> dict:
    """One fresh `edgeperf profile` process; its peak RSS from its own report and from the kernel."""
    csv, report = out / f"t{duration:g}.csv", out / f"p{duration:g}.json"
    cmd = [sys.executable, "-m", "edgeperf", "profile", str(model), "--duration", str(duration)]
    cmd += ["--csv", str(csv), "--json", str(report)]
    t0 = time.monotonic()
    proc = subprocess.run(cmd, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr}")
    res = json.loads(report.read_text())["results"]
    return {
        "command": " ".join(["python", *cmd[1:]]),
        "wall_s": time.monotonic() - t0,
        "inferences": res["latency_us"]["count"],
        "method": res["latency_us"]["method"],
        "peak_rss_MiB": res["memory"]["peak_rss_bytes"] / 2**20,
        "csv_MiB": csv.stat().st_size / 2**20,
        "latency_us": {k: res["latency_us"][k] for k in ("p50", "p99", "p99_9")},
        "relative_precision": res["latency_us"].get("relative_precision"),
        "_csv": csv,
    }


def precision(run: dict) -> dict:
    """The report's percentiles against numpy's over the CSV's latency column (ns resolution: 3 decimals of us)."""
    us = np.loadtxt(run.pop("_csv"), delimiter=",", skiprows=1, usecols=2)
    out = {"csv_rows": len(us), "rows_match_count": len(us) == run["inferences"]}
    worst = 0.0
    for key, q in (("p50", 50), ("p99", 99), ("p99_9", 99.9)):
        exact = float(np.percentile(us, q))
        err = abs(run["latency_us"][key] - exact) / exact
        out[key] = {"report_us": run["latency_us"][key], "exact_us": exact, "relative_error": err}
        worst = max(worst, err)
    stated = run["relative_precision"]  # absent when every sample was kept exactly
    out["stated_precision"] = stated
    out["within_stated"] = worst <= (stated or 1e-12)  # exact: equal but for float rounding
    return out


def overhead(model: Path, rounds: int, n: int) -> dict:
    """Interleaved rounds so drifts of the machine hit both sides alike; the medians of the per-round p50s of
    the profiler (bounded statistics on), the same Session.infer timed with no statistics at all, and the bare
    InferenceSession.run under it."""
    latency.EXACT_CAPACITY = 1024  # every round past the exact buffer: the histogram path
    session = Session.open(model, threads=1)
    names = [o.name for o in session.io.outputs]
    feeds, _ = random_pool(session)  # prepared: the very feeds the profiler's loop passes to the same run
    sides = {"profile": [], "infer_no_stats": [], "bare_run": []}
    for _ in range(rounds):
        sides["profile"].append(profile_p50(model, n, power="off"))
        sides["infer_no_stats"].append(p50_loop(session.infer, feeds, n))
        sides["bare_run"].append(p50_loop(lambda f: session._sess.run(names, f), feeds, n))
    p50 = {k: statistics.median(v) for k, v in sides.items()}
    return {
        "p50_us": p50,
        "ratio": p50["profile"] / p50["bare_run"],
        "ratio_vs_no_stats": p50["profile"] / p50["infer_no_stats"],
        "exact_capacity": latency.EXACT_CAPACITY,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--short", type=float, default=10)
    parser.add_argument("--long", type=float, default=600)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--only", choices=("rss", "overhead"))
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        model = tmp / "policy.onnx"
        export("example:mlp", model)
        if args.only != "overhead":
            short = profile_process(model, args.short, tmp)
            short.pop("_csv")
            long = profile_process(model, args.long, tmp)
            results["precision"] = precision(long)
            growth = long["peak_rss_MiB"] - short["peak_rss_MiB"]
            results["rss"] = {
                "short": short,
                "long": long,
                "growth_MB": growth * 2**20 / 1e6,
                "within_10MB": growth * 2**20 <= 10e6,
            }
        if args.only != "rss":
            over = overhead(model, args.rounds, args.iterations)
            results["overhead"] = {**over, "within_1_10": over["ratio"] <= 1.10}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
