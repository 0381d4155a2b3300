"""`edgeperf report` of a profile of 5,000 inferences (issue 12): bar under 2 s and under 2 MB.

A real profile is measured first: the example policy exported to ONNX, `edgeperf profile -n 5000 --csv` in a
control loop at 1 kHz (so the page has a deadline, a histogram and a timeline from every inference). Then,
side by side and interleaved round by round:

  cli       `edgeperf report profile.json --timings timings.csv -o report.html` in a fresh process, the whole
            command as a user runs it (interpreter start, imports, reading, drawing, the atomic write)
  startup   `edgeperf --version` in a fresh process: the part of `cli` that is Python and edgeperf starting
  render    html.render() in this process, timings already loaded (the drawing alone)

and the page's size. With --long S, the same for a free-running profile of S seconds (hundreds of thousands of
inferences), to show the page stays bounded when the run is long.

Run: .venv/bin/python scripts/bench_report.py [--rounds 7] [--iterations 5000] [--long 3] [--json out.json]
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

from edgeperf.results import html
from edgeperf.results.timings import read_timings

DOCS_PAGE = "benchmarks/report.md"

EDGEPERF = [sys.executable, "-m", "edgeperf"]


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([*EDGEPERF, *args], check=True, capture_output=True)
    return time.perf_counter() - t0


def bench(d: Path, prof: Path, csv: Path, rounds: int) -> dict:
    out = d / f"{prof.stem}.html"
    report = json.loads(prof.read_text())
    t = read_timings(csv)
    samples = t.latency_ns
    cli, startup, render = [], [], []
    for _ in range(rounds):
        cli.append(_run(["report", str(prof), "--timings", str(csv), "-o", str(out)]))
        startup.append(_run(["--version"]))
        t0 = time.perf_counter()
        html.render([html.Run(report, samples, start_ns=t.start_ns, response_ns=t.response_ns)])
        render.append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in (("cli_s", cli), ("startup_s", startup), ("render_s", render))}
    return {
        "inferences": len(samples),
        **med,
        "cli_minus_startup_s": med["cli_s"] - med["startup_s"],
        "bytes": out.stat().st_size,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--iterations", type=int, default=5000)
    ap.add_argument("--long", type=float, default=0.0, metavar="S", help="also a free-running profile of S s")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from edgeperf.exporter.onnx import export

    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        d = Path(tmp)
        export("example:mlp", d / "policy.onnx")
        profiles = {"periodic": ["-n", str(args.iterations), "--rate", "1000", "--duration", "0"]}
        if args.long:
            profiles["long stream"] = ["--duration", str(args.long), "-n", "1"]
        for name, opts in profiles.items():
            prof, csv = d / f"{name.replace(' ', '_')}.json", d / f"{name.replace(' ', '_')}.csv"
            cmd = ["profile", str(d / "policy.onnx"), *opts, "--no-power", "--json", str(prof), "--csv", str(csv)]
            subprocess.run([*EDGEPERF, *cmd], check=True, capture_output=True)
            results[name] = bench(d, prof, csv, args.rounds)
    for name, r in results.items():
        ok = r["cli_s"] < 2 and r["bytes"] < 2e6
        print(
            f"{name}: {r['inferences']:,} inferences: `edgeperf report` {r['cli_s']:.2f} s in a fresh process "
            f"(of which startup {r['startup_s']:.2f} s; drawing alone {r['render_s'] * 1e3:.0f} ms), page "
            f"{r['bytes'] / 1e6:.3f} MB; bar < 2 s and < 2 MB: {'met' if ok else 'NOT met'}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
