"""The compare bars of issue 12, measured on real profiles of a small ONNX model (the example MLP).

For each of N rounds, three profiles, each in a fresh process (as two CLI runs would be), recorded with their
samples in a store: A and B of the model as it is, C of the same model slowed down by 20% (a wrapper Session that
busy-waits 0.2x each inference's own time after it: every latency, so p99 too, x1.2). Then `compare` A-B and A-C
with the default threshold (10%).

  same      A vs B: the share of pairs with no figure regressed or improved (p50 and p99; and over every figure
            of the comparison, which is what `--fail-on-regression` gates). Bar: >= 95% of 20 pairs.
  slowdown  A vs C: the share of pairs where p99 is "regressed". Bar: >= 95% of 20 pairs.

Also printed: the run-to-run shifts of p50 and p99 between A and B, of the whole runs and of their quietest
stretches (which give the verdicts: edgeperf/results/compare.py says why).

Run: .venv/bin/python scripts/bench_compare.py [--pairs 20] [--duration 5] [--threshold 10]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script

DOCS_PAGE = "benchmarks/store-compare.md"

ROOT = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}

PROFILE = """
import sys, time
from edgeperf.profilers.run import run_profile
from edgeperf.results.store import Store
from edgeperf.runtime.session import Session

model, db, factor, duration = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])


class Slowed(Session):
    \"\"\"The model, each inference followed by a busy-wait of (factor - 1) x its own time.\"\"\"

    def __init__(self, inner, factor):
        self.inner, self.factor = inner, factor
        self.backend, self.io, self.path = inner.backend, inner.io, inner.path
        self.options = getattr(inner, "options", {})

    def prepare(self, obs):
        return self.inner.prepare(obs)

    def infer(self, prepared):
        t0 = time.perf_counter_ns()
        out = self.inner.infer(prepared)
        end = time.perf_counter_ns() + int((self.factor - 1) * (time.perf_counter_ns() - t0))
        while time.perf_counter_ns() < end:
            pass
        return out


session = Session.open(model)
if factor != 1:
    session = Slowed(session, factor)
done = run_profile(session, iterations=1000, duration=duration, warmup=200, power="off")
with Store.open(db) as s:
    print(s.record(done.report, done.run.samples_ns))
"""


def profile(model: Path, db: Path, factor: float, duration: float) -> str:
    r = subprocess.run(
        [sys.executable, "-c", PROFILE, str(model), str(db), str(factor), str(duration)],
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
    )
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    return r.stdout.split()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", type=int, default=20)
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per profile (edgeperf profile's default)")
    ap.add_argument("--threshold", type=float, default=10.0, help="percent")
    ap.add_argument("--slowdown", type=float, default=1.2)
    args = ap.parse_args()

    from edgeperf.exporter.onnx import export
    from edgeperf.results import compare as cmp
    from edgeperf.results.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        model, db = Path(tmp) / "policy.onnx", Path(tmp) / "runs.db"
        export("example:mlp", model)
        same_latency = same_all = caught = 0
        shifts = {"p50_us": [], "p99_us": []}
        quietest = {"p50_us": [], "p99_us": []}
        rows = []
        for i in range(args.pairs):
            a = profile(model, db, 1.0, args.duration)
            b = profile(model, db, 1.0, args.duration)
            c = profile(model, db, args.slowdown, args.duration)
            with Store.open(db) as s:
                ra, rb, rc = s.get(a), s.get(b), s.get(c)
            ab = cmp.compare(ra, rb, threshold=args.threshold / 100)
            ac = cmp.compare(ra, rc, threshold=args.threshold / 100)
            lines_ab = {ln.figure: ln for ln in ab.lines}
            lines_ac = {ln.figure: ln for ln in ac.lines}
            quiet = all(lines_ab[f].verdict in (cmp.NOISE, cmp.SAME) for f in shifts)
            quiet_all = all(ln.verdict not in (cmp.REGRESSED, cmp.IMPROVED) for ln in ab.lines)
            hit = lines_ac["p99_us"].verdict == cmp.REGRESSED
            same_latency += quiet
            same_all += quiet_all
            caught += hit
            for f, seen in shifts.items():
                seen.append(lines_ab[f].shift)
                if lines_ab[f].quiet:
                    quietest[f].append(lines_ab[f].quiet["shift"])
            row = {
                "pair": i,
                "same_p50_shift_pct": round(100 * lines_ab["p50_us"].shift, 2),
                "same_p99_shift_pct": round(100 * lines_ab["p99_us"].shift, 2),
                "same_p99_quietest_shift_pct": round(100 * lines_ab["p99_us"].quiet["shift"], 2)
                if lines_ab["p99_us"].quiet
                else None,
                "same_verdicts": {ln.figure: ln.verdict for ln in ab.lines if ln.verdict != cmp.ABSENT},
                "slow_p99_shift_pct": round(100 * lines_ac["p99_us"].shift, 2),
                "slow_p99_quietest_shift_pct": round(100 * lines_ac["p99_us"].quiet["shift"], 2)
                if lines_ac["p99_us"].quiet
                else None,
                "slow_p99_verdict": lines_ac["p99_us"].verdict,
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
        n = args.pairs
        summary = {
            "pairs": n,
            "threshold_pct": args.threshold,
            "slowdown": args.slowdown,
            "same_within_noise_p50_p99": f"{same_latency}/{n} ({100 * same_latency / n:.0f}%)",
            "same_within_noise_every_figure": f"{same_all}/{n} ({100 * same_all / n:.0f}%)",
            "slowdown_p99_regressed": f"{caught}/{n} ({100 * caught / n:.0f}%)",
            "same_abs_shift_pct_median": {f: round(100 * statistics.median(map(abs, v)), 2) for f, v in shifts.items()},
            "same_abs_shift_pct_max": {f: round(100 * max(map(abs, v)), 2) for f, v in shifts.items()},
            "same_quietest_abs_shift_pct_median": {
                f: round(100 * statistics.median(map(abs, v)), 2) for f, v in quietest.items() if v
            },
            "same_quietest_abs_shift_pct_max": {f: round(100 * max(map(abs, v)), 2) for f, v in quietest.items() if v},
        }
        print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
