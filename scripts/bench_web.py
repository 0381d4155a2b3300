"""The web domain's costs and decision latency, measured on this machine (the README's figures).

  env       MiniWoB++'s own gymnasium env (miniwob.make) reset and step, with and without the screenshot, against
            edgeperf's WebEnv (one WebDriver round trip per page read, no screenshot): per-call ms, p50
  decision  paired validation of the bundled network's ONNX export on each task: per step, the decision
            latency (page read + encoding + inference; the action's execution apart), p50..p99, against a
            person's ~250 ms simple visual reaction
  parallel  the same validation with 1 and 2 workers (bar: >= 1.6x on 2 free cores)

Run: PYTHONPATH=. .venv/bin/python scripts/bench_web.py [--episodes 20] [--parallel-episodes 50] [--tasks ...]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import numpy as np

from edgeperf.domains import base
from edgeperf.domains.web import browser, expert
from edgeperf.exporter.onnx import export
from edgeperf.pipeline import validate

DOCS_PAGE = "benchmarks/web.md"


def _p50(xs) -> float:
    return float(np.percentile(np.asarray(xs) * 1e3, 50))


def env_costs(task: str, n: int) -> dict:
    """Reset and step of miniwob's env (screenshot on / off) and of WebEnv, driven by the expert, ms p50."""
    gym = browser.require_miniwob()
    ex = expert(f"web/{task}")
    d = base.make(f"web/{task}")
    out = {}
    env = d.env(0)
    env.reset(seed=0)  # the browser starts here, outside the timings
    resets, steps, acted = [], [], []
    for s in range(n):
        t = time.perf_counter()
        env.reset(seed=s)
        resets.append(time.perf_counter() - t)
        t = time.perf_counter()
        env.step(np.zeros(env.action_space.shape, np.float32))  # no preference: no action, the page re-read
        steps.append(time.perf_counter() - t)
        t = time.perf_counter()
        env.step(ex(env))  # the expert's first action (a click or typing), then the page re-read
        acted.append(time.perf_counter() - t)
    env.close()
    out["edgeperf WebEnv"] = {"reset_ms": _p50(resets), "step_ms": _p50(steps), "step_with_action_ms": _p50(acted)}
    browser.release_all()  # one browser at a time
    raw = gym.make(f"miniwob/{task}-v1", action_space_config="liu18")
    for shots in (True, False):
        resets, steps = [], []
        for s in range(n):
            t = time.perf_counter()
            raw.reset(seed=s, options={"record_screenshots": shots})
            resets.append(time.perf_counter() - t)
            action = raw.unwrapped.create_action("NONE")  # the page stays as it is; the observation is re-read
            t = time.perf_counter()
            raw.step(action)
            steps.append(time.perf_counter() - t)
        out[f"miniwob env, screenshot {'on' if shots else 'off'}"] = {"reset_ms": _p50(resets), "step_ms": _p50(steps)}
    raw.close()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=20)
    ap.add_argument("--tasks", default="login-user,click-button,multi-orderings")
    ap.add_argument("--parallel-episodes", type=int, default=50)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    tasks = args.tasks.split(",")
    result: dict = {"env": env_costs(tasks[0], args.episodes)}
    print(f"env costs on web/{tasks[0]} (p50 over {args.episodes} calls):")
    for k, v in result["env"].items():
        acted = v.get("step_with_action_ms")
        extra = f"   step with the expert's action {acted:6.1f} ms" if acted is not None else ""
        print(f"  {k:32s} reset {v['reset_ms']:6.1f} ms   step (no action) {v['step_ms']:6.1f} ms{extra}")
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "web.onnx"
        export("reference:web/click-button", model)
        result["decision"] = {}
        print("\ndecision latency per step (ms; read + encode + inference; execution apart), 1 worker:")
        for task in tasks:
            r = validate(model, f"web/{task}", episodes=args.episodes, workers=1).results
            d = r["decision_latency"]
            result["decision"][task] = d
            dec, parts = d["decision"], d["parts"]
            print(
                f"  web/{task:17s} {d['steps']:4d} steps  p50 {dec['p50']:6.2f}  p90 {dec['p90']:6.2f}  "
                f"p99 {dec['p99']:6.2f}  (read {parts['dom_read']['p50']:.2f}, encode {parts['encode']['p50']:.2f},"
                f" inference {parts['inference']['p50']:.3f})  execute p50 {d['execute']['p50']:.2f}  "
                f"verdict {r['paired']['verdict']}, success {r['deployed']['success_rate']:.0%}"
            )
            print(f"      {d['summary']}")
        task = tasks[0]
        walls, load = {}, {}
        for workers in (1, 2):
            t = time.perf_counter()
            validate(model, f"web/{task}", episodes=args.parallel_episodes, workers=workers)
            walls[workers] = time.perf_counter() - t
            load[workers] = os.getloadavg()[0]
        result["parallel"] = {"task": task, "wall_s": walls, "speedup": walls[1] / walls[2], "loadavg_1min": load}
        print(
            f"\nparallel: web/{task}, {args.parallel_episodes} pairs: 1 worker {walls[1]:.1f} s, 2 workers "
            f"{walls[2]:.1f} s -> {walls[1] / walls[2]:.2f}x (1-min load average after each: {load[1]:.1f}, "
            f"{load[2]:.1f}, on {os.cpu_count()} cores)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
