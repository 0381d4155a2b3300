"""`edgeperf profile --plot`: latency histogram with percentile marks, and latency over time with the
deadline line, both drawn from the run's bounded statistics. matplotlib (the `plot` extra) is imported only
here."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput, require
from edgeperf.results.io import atomic_open
from edgeperf.results.kinds import KINDS
from edgeperf.results.report import PERCENTILES, pct_key


def check_plot(path: str | Path) -> None:
    """Before any measuring: a .png name in an existing directory, and matplotlib installed."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise BadInput(f"--plot {path}: give a .png file name")
    if not path.parent.exists():
        raise BadInput(f"cannot write {path}: directory {path.parent} does not exist")
    require("matplotlib", "plot", "to draw plots")


def latency_plot(path: str | Path, run, report) -> None:
    path = Path(path)
    check_plot(path)
    mpl = require("matplotlib", "plot", "to draw plots")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    r = KINDS["profile"].from_dict(report.results)
    lat = r.latency_us
    values, weights = run.latency.weighted()
    us = values / 1e3
    deadline = r.deadline.deadline_us if r.deadline else None
    fig, (hist, series) = plt.subplots(2, 1, figsize=(10, 7), constrained_layout=True)
    hi = lat.p99_9 * 1.5 if len(us) else 1
    hist.hist(np.clip(us, None, hi), bins=200, weights=weights, color="#4c72b0")
    for p, color in zip(PERCENTILES, ("k", "#55a868", "#c44e52", "#8172b2", "#ccb974"), strict=True):
        v = lat.at(pct_key(p))
        hist.axvline(v, color=color, linestyle="--", linewidth=1, label=f"{pct_key(p).replace('_', '.')} {v:.1f} us")
    binned = "" if run.latency.exact else " (from the log-linear histogram)"
    hist.set_xlabel(f"latency (us){binned}, values above the axis clipped to its end")
    hist.set_ylabel("inferences")
    hist.set_yscale("log")
    hist.legend()
    hist.set_title(f"{Path(report.model.path).name} — {r.backend.name}, {r.scenario}, {lat.count} inferences")
    tl = run.record.timeline
    s = tl.series()
    t = (s["t_ns"] - s["t_ns"][0]) / 1e9 if len(s["t_ns"]) else s["t_ns"]
    marker = "," if len(t) > 20_000 else "."
    if tl.width == 1:
        series.plot(t, s["max_ns"] / 1e3, marker, markersize=2, color="#4c72b0", label="inference latency")
    else:  # each point is a bin of consecutive inferences
        series.plot(t, s["max_ns"] / 1e3, marker, markersize=2, color="#4c72b0", label=f"max of {tl.width}")
        series.plot(t, s["mean_ns"] / 1e3, marker, markersize=2, color="#55a868", label=f"mean of {tl.width}")
    if deadline:
        what = "response (release to action)" + ("" if tl.width == 1 else f", max of {tl.width}")
        series.plot(t, s["max_response_ns"] / 1e3, marker, markersize=2, color="#dd8452", label=what)
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
