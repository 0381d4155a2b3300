"""Parity of the pendulum/chunks reference (a chunk of 16 torques per observation) exported to ONNX fp32, fp16,
int8 static and int8 dynamic, on 200 on-policy steps of pendulum/chunks (its chunks executed open loop). Prints
the README's table.  Run: .venv/bin/python scripts/parity_chunks.py [SOURCE]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from edgeperf.exporter.onnx import export

RUNS = [("fp32", "auto"), ("fp16", "auto"), ("int8", "static"), ("int8", "dynamic")]


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else "reference:pendulum/chunks"
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{source}: precision  passed  max |error|  p99 |error|  bound (atol x scale + rtol |a|)")
        for precision, quantization in RUNS:
            out = Path(tmp) / f"{precision}-{quantization}.onnx"
            par = export(
                source,
                out,
                precision=precision,
                quantization=quantization,
                domain="pendulum/chunks",
                parity_samples=200,
                calibration_episodes=16,  # 13 chunk queries an episode (H = 16): 208 distinct states
            ).results["parity"]
            label = precision + (f" {quantization}" if precision == "int8" else "")
            tol = par["tolerance"]
            scale = max(tol.get("scale_per_dim", [1.0]))
            print(
                f"  {label:12s} {par['passed']!s:6s}  {par['max_abs_error']:.2e}     {par['p99_abs_error']:.2e}"
                f"     {tol['atol']:g} x {scale:g} + {tol['rtol']:g} |a|"
            )


if __name__ == "__main__":
    main()
