"""Validation overhead and parallel speed-up, measured side by side (issue 6's bars).

  bare      the same simulation and inference work as a validation, in plain loops: per seed, the reference
            episode (torch reference acting, onnxruntime queried on the same observations) then the deployed
            episode (onnxruntime acting); raw gymnasium env, raw InferenceSession, no edgeperf machinery,
            no statistics
  validate  edgeperf's paired validation of the same seeds with 1 worker (bar: <= 1.2x bare)
  parallel  the same with 2 workers (bar: >= 1.6x faster than 1 worker on 2 cores)
  broken    verdicts on deliberately broken deployments (bar: `different`): the artifact with its largest
            weight matrix scaled by 1.5, and the right artifact with its actions delayed by 80 ms

Run: .venv/bin/python scripts/bench_validate.py --domain quadruped/trot --episodes 20
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import numpy as np
import onnxruntime as ort
import torch

from edgeperf.domains import base, references
from edgeperf.exporter.onnx import export
from edgeperf.pipeline import validate
from edgeperf.validation.latency import LatencyModel

DOCS_PAGE = "benchmarks/validation.md"


def bare(domain_id: str, model: Path, seeds: list[int]) -> float:
    domain = base.make(domain_id)
    module, _ = references.load(f"reference:{domain_id}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
    torch.set_num_threads(1)

    def dep(obs):
        return sess.run(None, {"obs": obs[None].astype(np.float32)})[0][0]

    def ref(obs):
        with torch.inference_mode():
            return module(torch.from_numpy(np.asarray(obs, np.float32)[None]))[0].numpy()

    t0 = time.perf_counter()
    for seed in seeds:
        for actor, shadow in ((ref, dep), (dep, None)):
            env = domain.env(seed)
            obs, _ = env.reset(seed=seed)
            done = False
            while not done:
                action = actor(obs)
                if shadow is not None:
                    shadow(obs)
                obs, _, term, trunc, _ = env.step(action)
                done = term or trunc
            env.close()
    return time.perf_counter() - t0


def scaled_copy(model: Path, out: Path, factor: float) -> Path:
    """The artifact with its largest weight matrix scaled: a deployment bug parity would catch."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(model))
    init = max(m.graph.initializer, key=lambda t: int(np.prod(t.dims)))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(factor), init.name))
    onnx.save(m, str(out))
    return out


def _broken(results: dict) -> dict:
    return {
        "verdict": results["paired"]["verdict"],
        "success": results["deployed"]["success_rate"],
        "falls": results["deployed"]["falls"],
        "mean_return_difference": results["paired"]["mean_return_difference"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--domain", default="quadruped/trot")
    parser.add_argument("--episodes", type=int, default=20)
    args = parser.parse_args()
    seeds = list(range(args.episodes))
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "policy.onnx"
        export(f"reference:{args.domain}", model, check=False)
        bare(args.domain, model, seeds[:1])  # warm imports and caches
        t_bare = bare(args.domain, model, seeds)
        t0 = time.perf_counter()
        one = validate(model, args.domain, episodes=args.episodes, workers=1)
        t_one = time.perf_counter() - t0
        t0 = time.perf_counter()
        two = validate(model, args.domain, episodes=args.episodes, workers=2)
        t_two = time.perf_counter() - t0
        broken = scaled_copy(model, Path(tmp) / "scaled.onnx", 1.5)
        scaled = validate(broken, args.domain, episodes=args.episodes, workers=2).results
        late = validate(model, args.domain, episodes=args.episodes, workers=2, latency=LatencyModel.constant(80))
        late = late.results
    same = one.results["paired"] == two.results["paired"]
    print(
        json.dumps(
            {
                "domain": args.domain,
                "episodes": args.episodes,
                "bare_loop_s": t_bare,
                "validate_1_worker_s": t_one,
                "validate_2_workers_s": t_two,
                "overhead_ratio": t_one / t_bare,
                "speedup_2_workers": t_one / t_two,
                "verdict": one.results["paired"]["verdict"],
                "same_results_1_and_2_workers": same,
                "success_reference": one.results["reference"]["success_rate"],
                "success_deployed": one.results["deployed"]["success_rate"],
                "weight_scaled_1.5": _broken(scaled),
                "latency_80ms": _broken(late),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
