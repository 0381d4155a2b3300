"""The runtime/profiler bars of issue 4, measured side by side in one run on the example policy. Each
backend against its vendor's own measurement (edgeperf's overhead) is scripts/bench_backends.py.

  backends  p50 of every backend on the example MLP, and auto vs torch eager (bar >= 3x)
  lean      `edgeperf profile policy.onnx` in a fresh process: peak RSS (bar <= 150 MB) and whether torch loaded
  truth     a 500 us injected busy-wait measured by the stream scenario (bar: within 2% at p50), and a 200 Hz
            periodic run of a model that overruns every 10th period (bar: exactly that miss pattern)
  periodic  the same model in a 50 Hz control loop vs back-to-back: what a sleeping loop does to latency

Run: .venv/bin/python scripts/bench_runtime.py [--rounds 7] [--iterations 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.injected: the ground-truth session

import _docs  # scripts/ is on sys.path when this runs as a script

from edgeperf.exporter.onnx import export
from edgeperf.pipeline import open_policy
from edgeperf.profilers import latency
from edgeperf.profilers.observations import random_pool
from edgeperf.profilers.run import profile, run_profile
from edgeperf.runtime.session import Session
from tests.injected import InjectedLatency

DOCS_PAGE = "benchmarks/runtime.md"


def p50_us(samples_ns) -> float:
    return float(np.median(samples_ns)) / 1e3


def backends(model: Path, xml: Path, rounds: int, n: int) -> dict:
    import torch

    from edgeperf.exporter import examples

    module, info = examples.build("mlp")
    scripted = torch.jit.trace(module, torch.zeros(1, info["obs_dim"]))
    cases = {
        "auto (onnxruntime cpu)": lambda: Session.open(model, threads=1),
        "openvino cpu fp32": lambda: Session.open(xml, threads=1),
        "torch eager": lambda: open_policy("example:mlp", backend="torch", threads=1),
        "torchscript": lambda: _torch_session(scripted, info),
    }
    sessions = {name: make() for name, make in cases.items()}
    per = {name: [] for name in sessions}
    for _ in range(rounds):
        for name, s in sessions.items():
            feeds, _ = random_pool(s, size=256)
            per[name].append(
                p50_us(latency.stream(s.infer, feeds, warmup=200, min_iterations=n, min_duration_s=0).samples_ns)
            )
    out = {name: statistics.median(v) for name, v in per.items()}
    out["auto_vs_torch_eager_speedup"] = out["torch eager"] / out["auto (onnxruntime cpu)"]
    return out


def _torch_session(module, info):
    from edgeperf.runtime.torch import TorchSession

    return TorchSession.from_module(module, (info["obs_dim"],), name="example:mlp (scripted)", threads=1)


def lean(model: Path) -> dict:
    code = (
        "import json, sys\nfrom edgeperf.profilers.run import profile\n"
        f"r = profile({str(model)!r}, iterations=5000, duration=2)\n"
        "print(json.dumps({'peak_rss_MiB': r.results['memory']['peak_rss_bytes'] / 2**20, "
        "'torch_imported': 'torch' in sys.modules, 'p50_us': r.results['latency_us']['p50']}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def truth() -> dict:
    stream = run_profile(InjectedLatency(500), iterations=2000, duration=0, warmup=50).report
    p50 = stream.results["latency_us"]["p50"]
    periodic = run_profile(
        InjectedLatency(50, overrun_us=7000, every=10), rate=200, iterations=400, duration=0, warmup=0
    ).report.results["deadline"]
    expected = list(range(9, 400, 10))
    return {
        "injected_500us_p50_us": p50,
        "p50_error_percent": 100 * (p50 - 500) / 500,
        "periodic_200hz_misses": periodic["misses"],
        "expected_misses": len(expected),
        "miss_pattern_exact": periodic["miss_indices"] == expected,
    }


def periodic_vs_stream(model: Path) -> dict:
    s = profile(model, iterations=3000, duration=0, warmup=200).results["latency_us"]
    p = profile(model, rate=50, iterations=500, duration=0, warmup=200).results
    return {
        "stream_p50_us": s["p50"],
        "stream_p99_us": s["p99"],
        "periodic_50hz_p50_us": p["latency_us"]["p50"],
        "periodic_50hz_p99_us": p["latency_us"]["p99"],
        "periodic_misses": p["deadline"]["misses"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(tmp) / "policy.onnx"
        export("example:mlp", model)
        import openvino as ov

        xml = Path(tmp) / "policy.xml"
        ov.save_model(ov.convert_model(str(model)), str(xml), compress_to_fp16=False)
        results = {
            "backends": backends(model, xml, args.rounds, args.iterations),
            "lean": lean(model),
            "truth": truth(),
            "periodic_vs_stream": periodic_vs_stream(model),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
