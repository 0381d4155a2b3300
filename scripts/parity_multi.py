"""Parity of Dict-observation exports on 200 on-policy steps of vision/pendulum, fp32/fp16/int8: the SB3
MultiInputPolicy of the tests (NatureCNN over the uint8 HWC image, VecNormalize on 'state') and the bundled
reference CNN. Prints the README's table.  Run: .venv/bin/python scripts/parity_multi.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from edgeperf.exporter.onnx import export
from tests import dictobs

RUNS = [("fp32", "auto"), ("fp16", "auto"), ("int8", "static"), ("int8", "dynamic")]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        sb3 = dictobs.build_sb3(d)
        print("policy                     precision  passed  max |error|  p99 |error|  atol (x scale)")
        for name, fn in (
            ("SB3 MultiInputPolicy", lambda out, p, q: dictobs.export_sb3(sb3, out, p, quantization=q)),
            (
                "reference:vision/pendulum",
                lambda out, p, q: export(
                    "reference:vision/pendulum",
                    out,
                    precision=p,
                    quantization=q,
                    domain="vision/pendulum",
                    parity_samples=200,
                    calibration_episodes=2,
                ),
            ),
        ):
            for precision, quantization in RUNS:
                par = fn(d / f"{precision}-{quantization}.onnx", precision, quantization).results["parity"]
                label = precision + (f" {quantization}" if precision == "int8" else "")
                print(
                    f"{name:26s} {label:10s} {par['passed']!s:6s}  {par['max_abs_error']:.2e}     "
                    f"{par['p99_abs_error']:.2e}     {par['tolerance']['atol']:g}"
                )


if __name__ == "__main__":
    main()
