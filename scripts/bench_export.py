"""Export benchmark: time, artifact size and parity error per format and precision for the bundled example
policy (example:mlp, 48 -> 256 -> 256 -> 12).

Each configuration is exported --runs times in one process after one discarded warm-up export (torch's first
export pays for its own imports and tracing caches); the table gives the median export time (the report's
`export_s`: torch -> ONNX and the conversion, without loading the policy or the parity check), the artifact's
size on disk (OpenVINO: .xml + .bin) and the parity error of the last run against the torch original on 512
observations.

    .venv/bin/python scripts/bench_export.py --runs 5 [--json out/bench_export.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script

DOCS_PAGE = "benchmarks/export.md"

CONFIGS = [
    ("onnx", "fp32", "auto", "policy.onnx"),
    ("onnx", "fp16", "auto", "policy.onnx"),
    ("onnx", "int8", "dynamic", "policy.onnx"),
    ("onnx", "int8", "static", "policy.onnx"),
    ("openvino", "fp32", "auto", "policy.xml"),
    ("openvino", "fp16", "auto", "policy.xml"),
    ("openvino", "int8", "static", "policy.xml"),
]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--source", default="example:mlp")
    ap.add_argument("--json", type=Path, help="also write the rows as JSON")
    args = ap.parse_args(argv)

    from edgeperf.exporter.onnx import export

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        export(args.source, Path(tmp) / "warmup.onnx", check=False)
        for fmt, precision, mode, name in CONFIGS:
            times, report = [], None
            for i in range(args.runs):
                out = Path(tmp) / f"{fmt}-{precision}-{mode}-{i}" / name
                out.parent.mkdir()
                report = export(args.source, out, format=fmt, precision=precision, quantization=mode, check=i == 0)
                times.append(report.results["export_s"])
                if i == 0:
                    par = report.results["parity"]
            rows.append(
                {
                    "format": fmt,
                    "precision": precision,
                    "quantization": report.config["quantization"],
                    "export_s_median": statistics.median(times),
                    "size_bytes": report.results["size_bytes"],
                    "parity_max_abs_error": par["max_abs_error"],
                    "parity_p99_abs_error": par["p99_abs_error"],
                    "parity_mean_abs_error": par["mean_abs_error"],
                    "parity_passed": par["passed"],
                    "tolerance": [par["tolerance"]["atol"], par["tolerance"]["rtol"]],
                }
            )
    import onnxruntime
    import openvino
    import torch

    env = {
        "cpu": _cpu(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
        "openvino": openvino.get_version(),
        "runs": args.runs,
        "source": args.source,
    }
    print(
        f"{args.source}, {args.runs} runs each, {env['cpu']}, Python {env['python']}, torch {env['torch']}, "
        f"onnxruntime {env['onnxruntime']}, OpenVINO {env['openvino']}\n"
    )
    print(
        "| format | precision | export (s, median) | size (KiB) | parity max abs error | p99 | mean "
        "| passed (atol, rtol) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        prec = r["precision"] + (f" {r['quantization']}" if r["quantization"] else "")
        print(
            f"| {r['format']} | {prec} | {r['export_s_median']:.2f} | {r['size_bytes'] / 1024:.1f} | "
            f"{r['parity_max_abs_error']:.1e} | {r['parity_p99_abs_error']:.1e} | {r['parity_mean_abs_error']:.1e} | "
            f"{'yes' if r['parity_passed'] else 'NO'} ({r['tolerance'][0]:g}, {r['tolerance'][1]:g}) |"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"env": env, "rows": rows}, indent=2) + "\n")
    return 0 if all(r["parity_passed"] for r in rows) else 1


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                import os

                return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} logical cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    sys.exit(_docs.run(main, DOCS_PAGE))
