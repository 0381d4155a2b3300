"""The HIL bars of issue 11, measured: the bundled trot network served by `edgeperf serve` on loopback and driven by
`edgeperf hil` in real time at 50 Hz (HIL against SIL), the same through `edgeperf link` with WiFi-like faults, and
a server killed with SIGKILL mid-run and restarted. Prints the README's table.

    .venv/bin/python scripts/bench_hil.py [--episodes 10] [--fault-episodes 3]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script

from edgeperf import pipeline
from edgeperf.exporter.onnx import export
from edgeperf.runtime.link import Link

DOCS_PAGE = "benchmarks/hil.md"

DOMAIN = "quadruped/trot"


def line(name: str, rep) -> str:
    r, lk = rep.results, rep.results["link"]
    rtt = lk.get("round_trip_us", {})
    p = r.get("paired")
    verdict = f"{p['verdict']} ({p['mean_return_difference']:+.2f}, 90% CI [{p['ci90'][0]:+.2f}, {p['ci90'][1]:+.2f}])"
    success = f"{100 * r['hil'].get('success_rate', 0):.0f}%" if "success_rate" in r["hil"] else "-"
    return (
        f"| {name} | {verdict} | {success} | {rtt.get('p50', float('nan')):.0f} / {rtt.get('p99', float('nan')):.0f} "
        f"| {lk['misses']} of {lk['steps']} | {lk['stale_replies']} | {lk['reconnects']} / {len(lk['gaps'])} "
        f"| {r['wall_s'] / r['simulated_s']:.3f} |"
    )


def _breakdown(mode: str, rep) -> str:
    lk = rep.results["link"]
    parts = (("round trip", "round_trip_us"), ("server", "server_us"), ("inference", "inference_us"))
    return f"{mode}: " + ", ".join(f"{name} p50 {lk[key]['p50']:.0f} us" for name, key in parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--episodes", type=int, default=10)
    ap.add_argument("--fault-episodes", type=int, default=3)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "trot.onnx"
        export(f"reference:{DOMAIN}", model)
        rows = []
        server = pipeline.LocalServer(model)
        try:
            rep = pipeline.hil(server.address, DOMAIN, model=model, episodes=a.episodes)
            rows.append(line(f"loopback, {a.episodes} episodes", rep))
            breakdown = _breakdown("realtime", rep)
            rep = pipeline.hil(server.address, DOMAIN, model=model, episodes=a.episodes, mode="lockstep")
            rows.append(line(f"loopback, lockstep, {a.episodes} episodes", rep))
            breakdown += "\n" + _breakdown("lockstep", rep)
            link = Link("127.0.0.1:0", server.address, delay_ms=50, jitter_ms=30, loss_pct=10, seed=0)
            link.start()
            try:
                rep = pipeline.hil(link.address, DOMAIN, model=model, episodes=a.fault_episodes)
                rows.append(line(f"link 50 +- 30 ms, 10% loss, {a.fault_episodes} episodes", rep))
            finally:
                link.stop()
            out = {}
            address = server.address
            t = threading.Thread(
                target=lambda: out.setdefault(
                    "rep", pipeline.hil(address, DOMAIN, model=model, episodes=a.fault_episodes)
                )
            )
            t.start()
            time.sleep(25)  # into the second episode
            server.proc.kill()
            server.stop()
            time.sleep(1.0)
            server = pipeline.LocalServer(model, bind=address)
            t.join()
            name = f"SIGKILL of the server in episode 2 and a restart 1 s later, {a.fault_episodes} episodes"
            rows.append(line(name, out["rep"]))
            gaps = out["rep"].results["link"]["gaps"]
        finally:
            server.stop()
    head = ("run", "HIL vs SIL", "HIL success", "round trip p50 / p99 (us)", "misses", "stale", "reconnects / gaps")
    print("| " + " | ".join(head) + " | wall / simulated |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print(f"gaps of the SIGKILL run: {gaps}")
    print(breakdown)


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
