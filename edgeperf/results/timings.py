"""Raw per-inference timings as CSV (`edgeperf profile --csv`), written atomically."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from edgeperf.results.io import atomic_write_text


def write_csv(path: str | Path, run, deadline_ns: int | None = None) -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    t0 = int(run.start_ns[0]) if len(run.start_ns) else 0
    periodic = run.release_ns is not None
    w.writerow(["index", "start_us", "latency_us"] + (["release_us", "response_us", "missed"] if periodic else []))
    for i, (s, e) in enumerate(zip(run.start_ns.tolist(), run.end_ns.tolist(), strict=True)):
        row = [i, f"{(s - t0) / 1e3:.3f}", f"{(e - s) / 1e3:.3f}"]
        if periodic:
            r = int(run.release_ns[i])
            row += [f"{(r - t0) / 1e3:.3f}", f"{(e - r) / 1e3:.3f}", int(e - r > deadline_ns)]
        w.writerow(row)
    atomic_write_text(Path(path), buf.getvalue())
