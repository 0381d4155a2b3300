"""`edgeperf profile --plot`: latency histogram with percentile marks, and latency over time with the
deadline line. matplotlib (the `plot` extra) is imported only here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, require
from edgeperf.profilers.stats import PERCENTILES, pct_key
from edgeperf.results.io import atomic_open


def latency_plot(path: str | Path, run, report) -> None:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise BadInput(f"--plot {path}: give a .png file name")
    if not path.parent.exists():
        raise BadInput(f"cannot write {path}: directory {path.parent} does not exist")
    mpl = require("matplotlib", "plot", "to draw plots")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    lat = report.results["latency_us"]
    us = run.samples_ns / 1e3
    deadline = report.results.get("deadline", {}).get("deadline_us")
    fig, (hist, series) = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    hi = np.percentile(us, 99.9) * 1.5 if len(us) else 1
    hist.hist(np.clip(us, None, hi), bins=200, color="#4c72b0")
    for p, color in zip(PERCENTILES, ("k", "#55a868", "#c44e52", "#8172b2", "#ccb974"), strict=True):
        v = lat[pct_key(p)]
        hist.axvline(v, color=color, linestyle="--", linewidth=1, label=f"{pct_key(p).replace('_', '.')} {v:.1f} us")
    hist.set_xlabel("latency (us), values above the axis clipped to its end")
    hist.set_ylabel("inferences")
    hist.set_yscale("log")
    hist.legend()
    hist.set_title(
        f"{Path(report.model.path).name} — {report.results['backend']['name']}, "
        f"{report.results['scenario']}, {lat['count']} inferences"
    )
    t = (run.start_ns - run.start_ns[0]) / 1e9
    marker = "," if len(us) > 20_000 else "."
    series.plot(t, us, marker, markersize=2, color="#4c72b0", label="inference latency")
    if deadline:
        response = (run.end_ns - run.release_ns) / 1e3
        series.plot(t, response, marker, markersize=2, color="#dd8452", label="response (release to action)")
        series.axhline(deadline, color="#c44e52", label=f"deadline {deadline / 1e3:.2f} ms")
    series.set_xlabel("time (s)")
    series.set_ylabel("us")
    series.set_yscale("log")
    series.legend(loc="upper right", markerscale=20)
    try:
        with atomic_open(path) as f:
            fig.savefig(f, format="png", dpi=110)
    finally:
        plt.close(fig)
