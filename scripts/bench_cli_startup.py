"""How long `edgeperf --help`, `edgeperf --version` and `import edgeperf` take to start, beside a bare
interpreter, each in a fresh process (median of N runs). Run: .venv/bin/python scripts/bench_cli_startup.py"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script

DOCS_PAGE = "benchmarks/cli-startup.md"

BIN = Path(sys.executable).parent


def median_s(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    cases = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "python -c 'import edgeperf'": [sys.executable, "-c", "import edgeperf"],
        "edgeperf --version": [str(BIN / "edgeperf"), "--version"],
        "edgeperf --help": [str(BIN / "edgeperf"), "--help"],
        "edgeperf profile --help": [str(BIN / "edgeperf"), "profile", "--help"],
    }
    print(f"| command | median of {args.runs} (ms) |\n|---|---|")
    for name, cmd in cases.items():
        median_s(cmd, 2)  # warm the page cache
        print(f"| `{name}` | {median_s(cmd, args.runs) * 1000:.0f} |")


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE, markdown=True)
