"""The README's "From Python" snippet, measured: export then profile in one process (torch loaded there) against
the same profile with isolate=True (a fresh process, as on a robot). Prints the peak RSS of each."""

import tempfile
from pathlib import Path

import edgeperf

with tempfile.TemporaryDirectory() as tmp:
    model = Path(tmp) / "policy.onnx"
    edgeperf.export("example:mlp", model)
    kw = {"iterations": 5000, "duration": 2.0, "power": "off"}
    for name, isolate in (("same process", False), ("isolate=True", True)):
        r = edgeperf.profile(model, isolate=isolate, **kw)
        warned = any("torch is loaded" in w for w in r.warnings)
        print(f"{name}: peak RSS {r.results['memory']['peak_rss_bytes'] / 2**20:.0f} MiB, torch warning: {warned}")
