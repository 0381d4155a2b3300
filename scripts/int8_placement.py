"""Where static int8 puts its Q/DQ, measured: onnxruntime's default (every op's output quantized), then with the
Gemm/MatMul outputs left in float (quantize.UNQUANTIZED_OUTPUTS), then also the ops after the last weighted layer
(quantize.float_tail: tanh, action scaling, clip), edgeperf's default. On the bundled references in their
domains: parity on 200 steps of the policy's own episodes, calibrated on others (4 episodes each; vision also 2
and 3), seeds 0. Prints the README's table.  Run: .venv/bin/python scripts/int8_placement.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgeperf.exporter import quantize
from edgeperf.exporter.onnx import export

POLICIES = [
    ("reference:gym:Pendulum-v1", "gym:Pendulum-v1", 4),
    ("reference:quadruped/trot", "quadruped/trot", 4),
    ("reference:quadruped/pace", "quadruped/pace", 4),
    ("reference:quadruped/spin", "quadruped/spin", 4),
    ("reference:vision/pendulum", "vision/pendulum", 2),
    ("reference:vision/pendulum", "vision/pendulum", 3),
    ("reference:vision/pendulum", "vision/pendulum", 4),
]


def main() -> None:
    outputs, tail = quantize.UNQUANTIZED_OUTPUTS, quantize.float_tail
    configs = [
        ("ORT default", [], lambda graph: []),
        ("+ float Gemm outputs", outputs, lambda graph: []),
        ("+ float tail (edgeperf)", outputs, tail),
    ]
    print("policy                       calib  placement                passed  max     p99     mean")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for spec, domain, episodes in POLICIES:
                for label, quantize.UNQUANTIZED_OUTPUTS, quantize.float_tail in configs:
                    par = export(
                        spec,
                        Path(tmp) / "p.onnx",
                        precision="int8",
                        quantization="static",
                        domain=domain,
                        parity_samples=200,
                        calibration_episodes=episodes,
                    ).results["parity"]
                    print(
                        f"{spec:28s} {episodes:<6d} {label:24s} {par['passed']!s:6s}  {par['max_abs_error']:.3f}   "
                        f"{par['p99_abs_error']:.3f}   {par['mean_abs_error']:.4f}"
                    )
    finally:
        quantize.UNQUANTIZED_OUTPUTS, quantize.float_tail = outputs, tail


if __name__ == "__main__":
    main()
