"""Issue 13's recurrent bar: the Session's per-step cost for a recurrent policy (state in and out, carried by
edgeperf) against a bare onnxruntime loop that feeds the state back by hand, side by side (bar <= 1.15x).

Both run the same ONNX artifact (exported by edgeperf from an LSTM policy in rsl_rl's form) on one thread,
interleaved: each round times N steps of every loop, in alternating order; the figure is the median over
rounds of each loop's mean per-step time. Two sizes: a small memory (obs 4, LSTM 2x16: the overhead shows
most) and a legged-robot one (obs 48, LSTM 1x256, actor 512-256-128 -> 12, as rsl_rl's anymal/go2 configs).

  bare      sess.run(None, {"obs": x, "h_in": h, "c_in": c}); h, c = out[1], out[2]   (onnxruntime's public API)
  run       session.run(x)          edgeperf's public path a control loop calls (checks, state fed back)
  infer     session.infer(feed)     what `edgeperf profile` times (the observation prepared beforehand)

Run: .venv/bin/python scripts/bench_recurrent.py [--rounds 41] [--steps 500]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _docs  # scripts/ is on sys.path when this runs as a script

from edgeperf.exporter.onnx import export
from edgeperf.runtime.session import Session

DOCS_PAGE = "benchmarks/recurrent.md"

SIZES = {
    "small (obs 4, LSTM 2x16)": (4, 16, 2, [32], 2),
    "legged (obs 48, LSTM 1x256)": (48, 256, 1, [512, 256, 128], 12),
}


def policy(obs_dim, hidden, layers, actor, act_dim):
    import torch

    class RslRlForm(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(obs_dim, hidden, num_layers=layers)
            dims = [hidden, *actor, act_dim]
            mods = []
            for i in range(len(dims) - 1):
                mods.append(torch.nn.Linear(dims[i], dims[i + 1]))
                if i < len(dims) - 2:
                    mods.append(torch.nn.ELU())
            self.actor = torch.nn.Sequential(*mods)
            self.register_buffer("hidden_state", torch.zeros(layers, 1, hidden))
            self.register_buffer("cell_state", torch.zeros(layers, 1, hidden))

        def forward(self, x):
            y, (h, c) = self.rnn(x.unsqueeze(0), (self.hidden_state, self.cell_state))
            self.hidden_state[:] = h
            self.cell_state[:] = c
            return self.actor(y.squeeze(0))

        @torch.jit.export
        def reset_memory(self):
            self.hidden_state[:] = 0.0
            self.cell_state[:] = 0.0

    torch.manual_seed(0)
    return torch.jit.script(RslRlForm())


def bench(model: Path, obs_dim: int, rounds: int, steps: int) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.add_session_config_entry("session.intra_op.allow_spinning", "1")
    bare = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    session = Session.open(model, threads=1)
    shape = tuple(session.io.state[0].shape)
    obs = np.random.default_rng(0).uniform(-1, 1, (steps, 1, obs_dim)).astype(np.float32)

    def run_bare():
        h = np.zeros((1, *shape), np.float32)
        c = np.zeros((1, *shape), np.float32)
        t0 = time.perf_counter_ns()
        for x in obs:
            out = bare.run(None, {"obs": x, "h_in": h, "c_in": c})
            h, c = out[1], out[2]
        return (time.perf_counter_ns() - t0) / steps / 1e3

    def run_session():
        session.reset()
        t0 = time.perf_counter_ns()
        for x in obs:
            session.run(x)
        return (time.perf_counter_ns() - t0) / steps / 1e3

    feeds = [session.prepare(x) for x in obs]

    def run_infer():
        session.reset()
        t0 = time.perf_counter_ns()
        for f in feeds:
            session.infer(f)
        return (time.perf_counter_ns() - t0) / steps / 1e3

    loops = {"bare": run_bare, "run": run_session, "infer": run_infer}
    for fn in loops.values():  # warm-up
        fn()
    per = {k: [] for k in loops}
    for r in range(rounds):
        order = list(loops) if r % 2 == 0 else list(reversed(loops))
        for k in order:
            per[k].append(loops[k]())
    med = {k: statistics.median(v) for k, v in per.items()}
    # the same actions both ways: the bar compares equal work
    session.reset()
    h = np.zeros((1, *shape), np.float32)
    c = h.copy()
    worst = 0.0
    for x in obs[:50]:
        a, h, c = bare.run(None, {"obs": x, "h_in": h, "c_in": c})
        worst = max(worst, float(np.abs(session.run(x) - a[0]).max()))
    session.close()
    return {
        "per_step_us": med,
        "ratio_run_vs_bare": med["run"] / med["bare"],
        "ratio_infer_vs_bare": med["infer"] / med["bare"],
        "max_action_difference": worst,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--steps", type=int, default=500)
    args = parser.parse_args()
    import torch

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (obs_dim, hidden, layers, actor, act_dim) in SIZES.items():
            pt = Path(tmp) / "policy.pt"
            policy(obs_dim, hidden, layers, actor, act_dim).save(str(pt))
            model = Path(tmp) / "policy.onnx"
            export(str(pt), model, check=False)
            torch.set_num_threads(1)
            results[name] = bench(model, obs_dim, args.rounds, args.steps)
    print(json.dumps(results, indent=2))
    for name, r in results.items():
        us = r["per_step_us"]
        print(
            f"{name}: bare {us['bare']:.1f} us, Session.run {us['run']:.1f} us ({r['ratio_run_vs_bare']:.3f}x), "
            f"Session.infer {us['infer']:.1f} us ({r['ratio_infer_vs_bare']:.3f}x); bar <= 1.15x"
        )


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
