"""A chunk policy in the loop: the chunk reference (`reference:pendulum/chunks`, H=16) exported to ONNX, served by
`edgeperf serve` on loopback and driven by `edgeperf hil` in real time at 20 Hz through `edgeperf link` with a
one-way delay of 0 to 100 ms, each chunk execution against the same artifact in pure simulation (SIL). Prints a
markdown table: the control steps a reply took, the stale actions skipped and the stall steps per episode, misses,
and the HIL-against-SIL verdict.

    .venv/bin/python scripts/bench_hil_chunks.py [--episodes 3] [--delays 0,25,60,100]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import numpy as np

from edgeperf import pipeline
from edgeperf.exporter.onnx import export
from edgeperf.validation.chunks import ChunkExecution

DOCS_PAGE = "benchmarks/hil.md"

DOMAIN = "pendulum/chunks"
EXECUTIONS = (ChunkExecution("open-loop", 8), ChunkExecution("open-loop"), ChunkExecution("ensemble"))


def line(delay_ms: float, ex: ChunkExecution, rep) -> str:
    r, c, lk = rep.results, rep.results["chunks"], rep.results["link"]
    per = c["per_episode"]
    took = c.get("reply_steps", {})
    p = r["paired"]
    return (
        f"| {delay_ms:g} | {ex.mode} k={c['steps']} | {lk['round_trip_us']['p50'] / 1e3:.1f} "
        f"| {took.get('mean', float('nan')):.2f} / {took.get('max', '-')} "
        f"| {np.mean(per['chunk_queries']):.0f} | {np.mean(per['chunk_skipped_actions']):.1f} "
        f"| {np.mean(per['chunk_stall_steps']):.1f} | {lk['misses']} of {lk['queries']} "
        f"| {p['verdict']} ({p['mean_return_difference']:+.2f}) |"
    )


def delayed_link(forward: str, delay_ms: float) -> tuple[subprocess.Popen, str]:
    """`edgeperf link` in its own process (in this one its thread would wait for the GIL behind the loop's spin)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "link", "--listen", "127.0.0.1:0", "--forward", forward,
         "--delay", str(delay_ms)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    found = re.search(r"link (\S+) ->", proc.stdout.readline())
    if not found:
        proc.kill()
        raise SystemExit("edgeperf link did not start")
    return proc, found.group(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--delays", default="0,25,60,100", help="one-way delays of the link, ms")
    a = ap.parse_args()
    delays = [float(d) for d in a.delays.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "chunks.onnx"
        export(f"reference:{DOMAIN}", model)
        rows = []
        with pipeline.LocalServer(model) as server:
            for delay in delays:
                proc, address = delayed_link(server.address, delay)
                try:
                    for ex in EXECUTIONS:
                        rep = pipeline.hil(address, DOMAIN, model=model, episodes=a.episodes, chunking=ex)
                        rows.append(line(delay, ex, rep))
                        print(rows[-1], flush=True)
                finally:
                    proc.terminate()
                    proc.wait(10)
    print()
    print(
        "| one-way delay (ms) | execution | round trip p50 (ms) | reply steps mean / max | queries / episode "
        "| skipped / episode | stalls / episode | misses | HIL vs SIL (return difference) |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
