"""Static int8 parity with the Gemm/MatMul outputs left in float (edgeperf's default, quantize.UNQUANTIZED_OUTPUTS)
against onnxruntime's default of quantizing them too, on the bundled references in their domains (parity and
calibration on the policy's own rollouts, 200 parity steps, seeds 0). Prints the README's table.
Run: .venv/bin/python scripts/int8_outputs.py
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
]


def main() -> None:
    print("policy                     Gemm/MatMul outputs  passed  max |error|  p99 |error|  mean |error|")
    default = quantize.UNQUANTIZED_OUTPUTS
    with tempfile.TemporaryDirectory() as tmp:
        for spec, domain, episodes in POLICIES:
            for label, kept in (("quantized (ORT)", []), ("float (edgeperf)", default)):
                quantize.UNQUANTIZED_OUTPUTS = kept
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
                    f"{spec:26s} {label:20s} {par['passed']!s:6s}  {par['max_abs_error']:.3f}        "
                    f"{par['p99_abs_error']:.3f}        {par['mean_abs_error']:.4f}"
                )
    quantize.UNQUANTIZED_OUTPUTS = default


if __name__ == "__main__":
    main()
