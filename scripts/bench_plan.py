"""The plan's measured bars: a plan over >= 6 candidates on a domain completes here (wall time), its recommendation
re-validated independently with 20 episodes (its own profile's latency in the loop, other seeds) is equivalent, and
its energy and p99 are the lowest among the equivalent candidates that meet the budget.

    .venv/bin/python scripts/bench_plan.py --domain quadruped/trot -o out/bench-plan-quadruped
    .venv/bin/python scripts/bench_plan.py --domain mujoco/a1-trot -o out/bench-plan-mujoco
"""

from __future__ import annotations

import argparse
import json
import time

import _docs  # scripts/ is on sys.path when this runs as a script

DOCS_PAGE = "benchmarks/plan.md"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--source", default="reference:quadruped/trot")
    ap.add_argument("--domain", default="quadruped/trot")
    ap.add_argument("--candidates", default="precisions=fp32,fp16,int8 backends=onnxruntime,openvino threads=1")
    ap.add_argument("--episodes", type=int, default=8)
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--budget", default="p99<=10ms")
    ap.add_argument("-o", "--out", default="out/bench-plan")
    a = ap.parse_args()

    from edgeperf.pipeline import validate
    from edgeperf.planner import plan
    from edgeperf.validation.latency import LatencyModel

    t0 = time.perf_counter()
    done = plan(a.source, a.out, domain=a.domain, candidates=a.candidates, episodes=a.episodes,
                duration=a.duration, budget=a.budget)  # fmt: skip
    wall = time.perf_counter() - t0
    rows = done.doc["decision"]["candidates"]
    chosen = done.recommendation
    out = {"domain": a.domain, "candidates": len(rows), "plan_wall_s": round(wall, 1),
           "recommendation": chosen and chosen["id"]}  # fmt: skip
    if chosen:
        eligible = [r for r in rows if r["status"] != "dropped"]
        out["lowest_energy_among_eligible"] = all(chosen["mj_per_inference"] <= r["mj_per_inference"] for r in eligible)
        out["chosen_mj"], out["chosen_p99_us"] = chosen["mj_per_inference"], chosen["p99_us"]
        out["eligible"] = {r["id"]: [r["mj_per_inference"], r["p99_us"]] for r in eligible}
        prof = done.folder / "steps" / next(
            p.name for p in (done.folder / "steps").glob("*.json")
            if json.loads(p.read_text())["run_id"] == done.doc["steps"][chosen["id"]]["profile"]
        )  # fmt: skip
        t1 = time.perf_counter()
        again = validate(done.folder / f"policy{done.files['artifact'].suffix}", a.domain, reference=a.source,
                         episodes=20, seed=1000, latency=LatencyModel.from_profile(prof))  # fmt: skip
        out["revalidated_20"] = again.results["paired"]["verdict"]
        out["revalidate_wall_s"] = round(time.perf_counter() - t1, 1)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
