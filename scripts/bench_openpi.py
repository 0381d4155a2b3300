"""The openpi bar of issue 26, on loopback with the bundled trot network (exported to ONNX first).

  overhead  the round trip to `edgeperf serve --protocol openpi` minus the model's own inference time
            (policy_timing.infer_ms), against a bare websocket echo server (websockets' own, no compression) that
            answers a message of the reply's size to the same request bytes; both driven by the same bare
            websockets client, interleaved in blocks of 100: p50 ratio (bar <= 1.5)

Both servers run in their own processes. Run: .venv/bin/python scripts/bench_openpi.py [--calls 5000]
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
from websockets.sync import client

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import _docs  # scripts/ is on sys.path when this runs as a script

from edgeperf.exporter.onnx import export
from edgeperf.runtime import openpi

DOCS_PAGE = "benchmarks/wire.md"

# Two bare echoes, websockets' threaded and asyncio servers (edgeperf's is asyncio, as openpi's is): the bar is
# taken against the faster of the two.
ECHO_SYNC = """
import sys
from websockets.sync.server import serve
reply = b"r" * int(sys.argv[1])
def handler(ws):
    ws.send(b"metadata")
    for _ in ws:
        ws.send(reply)
with serve(handler, "127.0.0.1", 0, compression=None, max_size=None, ping_interval=None) as s:
    print(s.socket.getsockname()[1], flush=True)
    s.serve_forever()
"""
ECHO_ASYNC = """
import asyncio, sys
from websockets.asyncio.server import serve
reply = b"r" * int(sys.argv[1])
async def handler(ws):
    await ws.send(b"metadata")
    async for _ in ws:
        await ws.send(reply)
async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_size=None, ping_interval=None) as s:
        print(s.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


def pct(ns, q) -> float:
    return float(np.percentile(ns, q)) / 1e3


def connect(uri: str):
    """A bare websockets client, and the server's first message (its metadata)."""
    c = client.connect(uri, compression=None, max_size=None, ping_interval=None).__enter__()
    return c, c.recv()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=5000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    model = tmp / "trot.onnx"
    export("reference:quadruped/trot", model)
    srv = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "serve", str(model), "--protocol", "openpi", "--bind", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    uri = re.search(r" at (ws://\S+),", srv.stdout.readline()).group(1)
    ours_ws, meta = connect(uri)
    width = openpi.unpack(meta)["io"]["inputs"][0]["shape"][-1]
    # The request is what an openpi client sends: one observation under openpi's key, without a batch axis.
    request = openpi.pack({"observation/state": np.zeros(width, np.float32)})
    ours_ws.send(request)
    reply_len = len(ours_ws.recv())
    echoes = {
        name: subprocess.Popen([sys.executable, "-c", code, str(reply_len)], stdout=subprocess.PIPE, text=True)
        for name, code in (("threaded", ECHO_SYNC), ("asyncio", ECHO_ASYNC))
    }
    bare = {name: connect(f"ws://127.0.0.1:{int(p.stdout.readline())}")[0] for name, p in echoes.items()}

    def rtt(ws) -> int:
        t0 = time.perf_counter_ns()
        ws.send(request)
        answer = ws.recv()
        return time.perf_counter_ns() - t0, answer

    try:
        for _ in range(500):  # warm-up, all
            for ws in (ours_ws, *bare.values()):
                rtt(ws)
        ours, infer = [], []
        theirs = {name: [] for name in bare}
        for _ in range(args.calls // 100):  # interleaved blocks: all see the same machine state
            for _ in range(100):
                t, answer = rtt(ours_ws)
                model_ns = int(openpi.unpack(answer)["policy_timing"]["infer_ms"] * 1e6)
                ours.append(t - model_ns)
                infer.append(model_ns)
            for name, ws in bare.items():
                theirs[name] += [rtt(ws)[0] for _ in range(100)]
        best = min(theirs, key=lambda k: np.median(theirs[k]))
        ratio = np.median(ours) / np.median(theirs[best])
        print(f"observation of {width} float32, request {len(request)} B, reply {reply_len} B, {len(ours)} calls each")
        echo = ", ".join(f"{k} p50 {pct(v, 50):.1f} / p99 {pct(v, 99):.1f} us" for k, v in theirs.items())
        print(
            f"edgeperf openpi rtt - inference: p50 {pct(ours, 50):.1f} us, p99 {pct(ours, 99):.1f} us (inference "
            f"p50 {pct(infer, 50):.1f} us) | bare websocket echo: {echo} | p50 ratio to the {best} echo "
            f"{ratio:.2f} (bar <= 1.5: {'pass' if ratio <= 1.5 else 'FAIL'})"
        )
    finally:
        for ws in (ours_ws, *bare.values()):
            ws.close()
        for p in (srv, *echoes.values()):
            p.terminate()
            p.wait(10)


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
