"""The wire bars of issue 11, on loopback with the bundled trot network (exported to ONNX first).

  overhead  edgeperf's round trip minus the server's inference time (RemoteSession -> `edgeperf serve`) vs a bare
            pyzmq REQ/REP echo of the same request and reply sizes, interleaved in blocks: p50 ratio (bar <= 1.5)
  1 kHz     a loop paced at 1 kHz with absolute release times: round trip p50 / p99 / p99.9 (bar: p99 < 1 ms)

Both servers run in their own processes. Run: .venv/bin/python scripts/bench_wire.py [--calls 5000] [--seconds 10]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import zmq

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _docs  # scripts/ is on sys.path when this runs as a script

from edgeperf.exporter.onnx import export
from edgeperf.runtime.remote import RemoteSession

DOCS_PAGE = "benchmarks/wire.md"

ECHO = """
import sys, zmq
s = zmq.Context().socket(zmq.REP); port = s.bind_to_random_port("tcp://127.0.0.1")
reply = b"r" * int(sys.argv[1]); print(port, flush=True)
while True:
    s.recv(); s.send(reply)
"""


def pct(ns, q) -> float:
    return float(np.percentile(ns, q)) / 1e3


def main() -> None:  # noqa: PLR0915 - one linear script
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=10.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    model = tmp / "trot.onnx"
    export("reference:quadruped/trot", model)
    srv = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "serve", str(model), "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    address = re.search(r" at tcp://(\S+),", srv.stdout.readline()).group(1)
    r = RemoteSession.connect(address, timeout_s=5)
    obs = np.random.default_rng(0).standard_normal(r.io.inputs[0].shape[-1]).astype(np.float32)
    prepared = r.prepare(obs)
    # The bare echo moves the same bytes as edgeperf's request and reply (header, array block, no HMAC).
    from edgeperf.runtime import wire

    req = wire.encode(wire.Frame(wire.INFER, body=wire.encode_arrays(prepared)))
    rep_len = len(req) - 4 * obs.size + 4 * r.io.outputs[0].shape[-1]
    echo = subprocess.Popen([sys.executable, "-c", ECHO, str(rep_len)], stdout=subprocess.PIPE, text=True)
    port = int(echo.stdout.readline())
    bare = zmq.Context.instance().socket(zmq.REQ)
    bare.connect(f"tcp://127.0.0.1:{port}")
    try:
        for _ in range(500):  # warm-up, both
            r.infer(prepared)
            bare.send(req)
            bare.recv()
        ours, theirs = [], []
        for _ in range(args.calls // 100):  # interleaved blocks: both see the same machine state
            for _ in range(100):
                r.infer(prepared)
                ours.append(r.last.rtt_ns - r.last.infer_ns)
            for _ in range(100):
                t0 = time.perf_counter_ns()
                bare.send(req)
                bare.recv()
                theirs.append(time.perf_counter_ns() - t0)
        ratio = np.median(ours) / np.median(theirs)
        print(f"request {len(req)} B, reply {rep_len} B, {len(ours)} calls each")
        print(
            f"edgeperf rtt - inference: p50 {pct(ours, 50):.1f} us, p99 {pct(ours, 99):.1f} us | bare REQ/REP echo: "
            f"p50 {pct(theirs, 50):.1f} us, p99 {pct(theirs, 99):.1f} us | p50 ratio {ratio:.2f} (bar <= 1.5: "
            f"{'pass' if ratio <= 1.5 else 'FAIL'})"
        )
        rtt, infer, late = [], [], 0
        period = 1_000_000
        release = time.perf_counter_ns() + period
        for _ in range(int(args.seconds * 1000)):
            while time.perf_counter_ns() < release:
                pass
            r.infer(prepared)
            rtt.append(r.last.rtt_ns)
            infer.append(r.last.infer_ns)
            release += period
            if time.perf_counter_ns() > release:
                late += 1
        p99 = pct(rtt, 99)
        print(
            f"1 kHz loop, {len(rtt)} calls: rtt p50 {pct(rtt, 50):.1f} us, p99 {p99:.1f} us, "
            f"p99.9 {pct(rtt, 99.9):.1f} us, max {max(rtt) / 1e3:.1f} us; "
            f"inference p50 {pct(infer, 50):.1f} us; periods overrun {late} "
            f"(bar p99 < 1 ms: {'pass' if p99 < 1000 else 'FAIL'})"
        )
    finally:
        r.close()
        bare.close(0)
        srv.terminate()
        echo.terminate()
        srv.wait(10)
        echo.wait(10)


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
