"""Each backend against its vendor's own measurement, side by side in one interleaved run (issue 9).

On the bundled reference:quadruped/trot network (a 47 -> 12 MLP), one thread everywhere:

  openvino     `edgeperf profile trot.xml` (the profiler's p50) and `Session.run(obs)` vs OpenVINO's own
               benchmark_app on the same IR and settings (-api sync -nireq 1 -nstreams 1 -nthreads 1 -hint none
               -infer_precision f32 -data_shape [1,47]); bar <= 1.10x
  onnxruntime  `Session.run(obs)` (one observation, preparation and checks included) vs a bare
               InferenceSession.run with the same session and options; bar <= 1.10x
  torch        `TorchSession.run(obs)` vs the bare eager module on a tensor under torch.inference_mode;
               bar <= 1.10x
  tensorrt     `edgeperf profile trot.engine` vs trtexec on the same engine (its median host latency, copies
               included); bar <= 1.05x. Runs only with tensorrt, an NVIDIA GPU and trtexec on PATH.

Each round runs every measurement once (3000 inferences each, after a warm-up), alternating edgeperf and the
vendor side, so a drift of the machine hits both alike; the figures are medians of the per-round p50s.

Run: .venv/bin/python scripts/bench_backends.py [--rounds 7] [--iterations 3000] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import numpy as np

from edgeperf.pipeline import open_policy
from edgeperf.profilers.run import profile
from edgeperf.runtime.session import Session

DOCS_PAGE = "benchmarks/runtime.md"

SOURCE = "reference:quadruped/trot"
WARMUP = 300
BARS = {"openvino": 1.10, "onnxruntime": 1.10, "torch": 1.10, "tensorrt": 1.05}


def p50_loop(call, feeds, n: int) -> float:
    """p50 in us of `call(feed)` over n calls after a warm-up, timed like the profiler's stream scenario."""
    now, k = time.perf_counter_ns, len(feeds)
    for i in range(WARMUP):
        call(feeds[i % k])
    out = np.empty(n, np.int64)
    for i in range(n):
        feed = feeds[i % k]
        t0 = now()
        call(feed)
        out[i] = now() - t0
    return float(np.median(out)) / 1e3


def profile_p50(model: Path, n: int, **kw) -> float:
    return profile(model, iterations=n, duration=0, warmup=WARMUP, **kw).results["latency_us"]["p50"]


def _us(value: str, unit: str) -> float:
    return float(value) * {"ms": 1e3, "us": 1.0, "s": 1e6}[unit]


def benchmark_app(xml: Path, shape: str, n: int) -> float:
    exe = shutil.which("benchmark_app") or str(Path(sys.executable).parent / "benchmark_app")
    cmd = [exe, "-m", str(xml), "-d", "CPU", "-api", "sync", "-nireq", "1", "-nstreams", "1", "-nthreads", "1"]
    cmd += ["-hint", "none", "-infer_precision", "f32", "-data_shape", f"[{shape}]", "-niter", str(n)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    value, unit = re.search(r"Median:\s+([\d.]+)\s+(ms|us|s)\b", out).groups()
    return _us(value, unit)


def trtexec(engine: Path, shape: str, n: int) -> float:
    cmd = ["trtexec", f"--loadEngine={engine}", f"--shapes=obs:{shape.replace(',', 'x')}", f"--iterations={n}"]
    cmd += ["--warmUp=200", "--duration=0", "--avgRuns=1"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    # "Latency: min = ..., max = ..., mean = ..., median = 0.0412 ms" (host latency: copies included)
    value, unit = re.search(r"\] Latency: .*?median = ([\d.]+) (ms|us|s)\b", out).groups()
    return _us(value, unit)


def tensorrt_reason() -> str | None:
    """Why the TensorRT part cannot run here (None: it can)."""
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return "tensorrt is not installed"
    if not Path("/proc/driver/nvidia").exists() and not shutil.which("nvidia-smi"):
        return "no GPU"
    if not shutil.which("trtexec"):
        return "trtexec is not on PATH"
    return None


def export(tmp: Path, name: str) -> Path:
    out = tmp / name
    subprocess.run(
        [sys.executable, "-m", "edgeperf", "export", SOURCE, "-o", str(out)], check=True, capture_output=True
    )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    n = args.iterations
    import torch

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        onnx, xml = export(tmp, "trot.onnx"), export(tmp, "trot.xml")
        trt_skip = tensorrt_reason()
        engine = None if trt_skip else export(tmp, "trot.engine")

        ort_session = Session.open(onnx, threads=1)
        bare_ort = ort_session._sess  # the very same InferenceSession and options: only edgeperf's layer differs
        ort_out = [o.name for o in ort_session.io.outputs]
        ov_session = Session.open(xml, threads=1)
        torch_session = open_policy(SOURCE, backend="torch", device="cpu", threads=1)  # "auto" is CUDA on a GPU
        module = torch_session._module  # the same eager module edgeperf runs
        obs_dim = ort_session.io.inputs[0].shape[1]
        shape = f"1,{obs_dim}"
        rng = np.random.default_rng(0)
        obs = [rng.standard_normal(obs_dim).astype(np.float32) for _ in range(256)]  # what a user passes
        batches = [{ort_session.io.inputs[0].name: o[None]} for o in obs]  # what the bare runtime is fed
        tensors = [torch.from_numpy(o[None]) for o in obs]

        def bare_eager(t):
            with torch.inference_mode():
                return module(t)

        sides: dict[str, dict[str, list[float]]] = {
            "openvino": {"profile": [], "run": [], "vendor": []},
            "onnxruntime": {"run": [], "vendor": []},
            "torch": {"run": [], "vendor": []},
        }
        if engine is not None:
            sides["tensorrt"] = {"profile": [], "vendor": []}
        load = [os.getloadavg()[0]]
        for _ in range(args.rounds):
            ov = sides["openvino"]
            ov["profile"].append(profile_p50(xml, n))
            ov["vendor"].append(benchmark_app(xml, shape, n))
            ov["run"].append(p50_loop(ov_session.run, obs, n))
            ort = sides["onnxruntime"]
            ort["run"].append(p50_loop(ort_session.run, obs, n))
            ort["vendor"].append(p50_loop(lambda f: bare_ort.run(ort_out, f), batches, n))
            th = sides["torch"]
            th["run"].append(p50_loop(torch_session.run, obs, n))
            th["vendor"].append(p50_loop(bare_eager, tensors, n))
            if engine is not None:
                sides["tensorrt"]["profile"].append(profile_p50(engine, n))
                sides["tensorrt"]["vendor"].append(trtexec(engine, shape, n))
            load.append(os.getloadavg()[0])

    medians = {b: {k: statistics.median(v) for k, v in s.items()} for b, s in sides.items()}
    results = {
        "rounds": args.rounds,
        "iterations": n,
        "load_1min": [round(x, 2) for x in load],
        "versions": _versions(),
        "p50_us": medians,
        "tensorrt": trt_skip and f"skipped: {trt_skip}",
    }
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(table(medians, trt_skip))


def _versions() -> dict:
    import onnxruntime
    import openvino
    import torch

    return {"onnxruntime": onnxruntime.__version__, "openvino": openvino.__version__, "torch": torch.__version__}


VENDOR = {
    "openvino": "`benchmark_app` (sync, 1 request, 1 stream, 1 thread, f32)",
    "onnxruntime": "bare `InferenceSession.run`, same session",
    "torch": "bare eager module under `inference_mode`",
    "tensorrt": "`trtexec --loadEngine` (host latency)",
}
OURS = {"profile": "`edgeperf profile` p50", "run": "`Session.run(obs)`"}


def table(medians: dict, trt_skip: str | None) -> str:
    rows = ["| backend | edgeperf | vendor's measurement | ratio | bar |", "|---|---|---|---|---|"]
    for backend, m in medians.items():
        for side in ("profile", "run"):
            if side in m:
                ratio = m[side] / m["vendor"]
                rows.append(
                    f"| {backend} | {OURS[side]} {m[side]:.1f} us | {VENDOR[backend]} {m['vendor']:.1f} us "
                    f"| **{ratio:.3f}x** | <= {BARS[backend]:.2f}x |"
                )
    if trt_skip:
        rows.append(f"| tensorrt | skipped: {trt_skip} | {VENDOR['tensorrt']} | | <= {BARS['tensorrt']:.2f}x |")
    return "\n".join(rows)


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
