"""The latency charts of a profile: the histogram and the timeline from raw samples, the percentiles of a report
without them, and several profiles side by side."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from edgeperf.results.kinds import Document, Stats
from edgeperf.results.report import PERCENTILES, pct_key
from edgeperf.results.views.blocks import Absent, Chart
from edgeperf.results.views.fmt import num, pct_label
from edgeperf.results.views.svg import Plot

# Above this many samples the timeline is drawn as per-bin max and mean lines, not one dot per inference.
MAX_DOTS = 20_000
TIMELINE_BINS = 1_500
HIST_BINS = 80

LATENCY_KEYS = ["min", *(pct_key(p) for p in PERCENTILES), "max"]
# Where each percentile sits on a 'nines' axis: p90 at 1, p99 at 2, p99.9 at 3.
NINES = {"min": 0.0, **{pct_key(p): -math.log10(1 - p / 100) for p in PERCENTILES}}
NINES["max"] = NINES[pct_key(PERCENTILES[-1])] + 0.6


def _numbers(lat: Stats, keys: list[str], positive: bool = False) -> list[str]:
    """The keys of `lat` that hold a number (and a positive one, for a log axis)."""
    out = []
    for k in keys:
        v = lat.at(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and (v > 0 or not positive):
            out.append(k)
    return out


def histogram(us: np.ndarray, lat: Stats, deadline_us: float | None) -> Chart:
    lo = float(us.min())
    p999 = float(np.percentile(us, 99.9))
    hi = max(min(float(us.max()), p999 * 1.5), lo * 1.001 + 1e-9)
    clipped = int(np.sum(us > hi))
    counts, edges = np.histogram(np.minimum(us, hi), bins=HIST_BINS, range=(lo, hi))
    plot = Plot(
        (lo, hi),
        (0.8, max(counts.max(), 1) * 1.5),
        xlabel="inference latency (us)",
        ylabel="inferences (log)",
        logy=True,
    )
    titles = [f"{edges[i]:.1f}-{edges[i + 1]:.1f} us: {counts[i]} inferences" for i in range(len(counts))]
    plot.bars(edges[:-1], edges[1:], counts, "c0", f"{len(us):,} inferences", titles)
    for k, cls in (("p50", "c1"), ("p99", "c3"), ("p99_9", "c4")):
        v = lat.at(k)
        if v is not None and lo <= v <= hi:
            plot.vline(v, cls, f"{pct_label(k)} {num(v)} us")
    if deadline_us and deadline_us <= hi:
        plot.vline(deadline_us, "dl", f"deadline {num(deadline_us / 1e3)} ms")
    note = f"{clipped} slowest inferences (above {num(hi)} us) counted in the last bar" if clipped else ""
    if deadline_us and deadline_us > hi:
        note += ("; " if note else "") + f"the deadline ({num(deadline_us / 1e3)} ms) is beyond the right edge"
    return Chart("latency-histogram", "Latency histogram", plot.svg("latency histogram"), "samples", note)


def from_percentiles(lat: Stats, deadline_us: float | None) -> Chart | Absent:
    """Without raw samples: the latency at each percentile the report holds, on a 'nines' axis."""
    keys = _numbers(lat, LATENCY_KEYS)
    if len(keys) < 2:
        return Absent(
            "latency distribution", "the report holds fewer than two latency percentiles", "latency-histogram"
        )
    xs, ys = [NINES[k] for k in keys], [lat.at(k) for k in keys]
    top = max(ys + ([deadline_us] if deadline_us else []))
    logy = top / max(min(ys), 1e-9) > 30
    plot = Plot(
        (-0.1, NINES["max"] + 0.15),
        (min(ys) * (0.7 if logy else 0), top * 1.15),
        xlabel="percentile",
        ylabel="latency (us)" + (" (log)" if logy else ""),
        logy=logy,
        xticks=[(NINES[k], pct_label(k)) for k in keys],
    )
    plot.line(xs, ys, "c0", "latency at each percentile of the report")
    plot.dots(xs, ys, "c0", titles=[f"{pct_label(k)}: {num(lat.at(k))} us" for k in keys])
    if deadline_us:
        plot.hline(deadline_us, "dl", f"deadline {num(deadline_us / 1e3)} ms")
    return Chart(
        "latency-histogram",
        "Latency distribution (from the report's percentiles)",
        plot.svg("latency percentiles"),
        "percentiles",
        "No raw per-inference samples were given, so this is drawn from the report's percentiles, not a "
        "histogram. A stored run, or the run's `profile --csv` timings, gives the histogram and the timeline.",
    )


def side_by_side(docs: list[tuple[int, Document]]) -> Chart | None:
    """Two or more profiles: each one's latency at every percentile its report holds, on one chart."""
    curves = []
    for i, doc in docs:
        lat = doc.results.latency_us
        keys = _numbers(lat, LATENCY_KEYS, positive=True) if lat is not None else []
        if len(keys) >= 2:
            curves.append((i, doc, keys, lat))
    if len(curves) < 2:
        return None
    ys = [lat.at(k) for _, _, keys, lat in curves for k in keys]
    plot = Plot(
        (-0.1, NINES["max"] + 0.15),
        (min(ys) * 0.7, max(ys) * 1.5),
        xlabel="percentile",
        ylabel="latency (us, log)",
        logy=True,
        xticks=[(v, pct_label(k)) for k, v in NINES.items()],
    )
    for j, (i, doc, keys, lat) in enumerate(curves):
        cls = ("c0", "c3", "c1", "c4", "c5", "c2")[j % 6]
        model = doc.model.path if doc.model is not None and doc.model.path else "?"
        device = doc.host.device if doc.host is not None else None
        xs, ys = [NINES[k] for k in keys], [lat.at(k) for k in keys]
        plot.line(xs, ys, cls, f"#{i + 1} {Path(str(model)).name} on {device}")
        plot.dots(xs, ys, cls, titles=[f"#{i + 1} {pct_label(k)}: {num(lat.at(k))} us" for k in keys])
    return Chart(
        "profiles-side-by-side",
        "Profiles side by side: latency at each percentile",
        plot.svg("profiles side by side"),
        "percentiles",
        "From each report's percentiles; a percentile with too few samples beyond it is drawn all the same "
        "(each run's section says which).",
    )


def timeline(
    us: np.ndarray,
    deadline_us: float | None,
    period_us: float | None,
    start_s: np.ndarray | None = None,
    response_us: np.ndarray | None = None,
) -> Chart:
    n = len(us)
    if start_s is not None and len(start_s) == n:
        x, xlabel = start_s, "time since the first inference started (s)"
    elif period_us:
        x, xlabel = np.arange(n) * period_us / 1e6, "time since the first inference (s, one inference per period)"
    else:
        x, xlabel = np.arange(n), "inference #"
    resp = response_us if response_us is not None and len(response_us) == n else None
    series = [("latency", us, "c0")] + ([("response (release to action)", resp, "c3")] if resp is not None else [])
    top = max([float(v.max()) for _, v, _ in series] + [deadline_us or 0])
    bottom = min(float(v.min()) for _, v, _ in series)
    logy = top / max(bottom, 1e-9) > 30
    plot = Plot(
        (float(x[0]), float(x[-1]) if n > 1 and x[-1] > x[0] else float(x[0]) + 1),
        (bottom * (0.8 if logy else 0), top * 1.1),
        xlabel=xlabel,
        ylabel="us" + (" (log)" if logy else ""),
        logy=logy,
    )
    note = ""
    if n <= MAX_DOTS:
        for name, v, cls in reversed(series):
            plot.dots(x, v, cls, f"{name} of each inference")
    else:
        bins = np.array_split(np.arange(n), TIMELINE_BINS)
        bx = [float(x[b[len(b) // 2]]) for b in bins]
        for name, v, cls in reversed(series):
            plot.line(bx, [float(v[b].max()) for b in bins], cls, f"{name}: max of ~{n // TIMELINE_BINS} consecutive")
        plot.line(bx, [float(us[b].mean()) for b in bins], "c1", f"latency: mean of ~{n // TIMELINE_BINS} consecutive")
        note = f"{n:,} inferences in {TIMELINE_BINS} bins of consecutive inferences"
    if deadline_us:
        judged = resp if resp is not None else us
        late = judged > deadline_us
        if late.any():
            what = "missed the deadline (response)" if resp is not None else "inferences longer than the deadline"
            plot.dots(x[late], judged[late], "bad", f"{int(late.sum())} {what}")
        plot.hline(deadline_us, "dl", f"deadline {num(deadline_us / 1e3)} ms")
        if resp is None:
            note += ("; " if note else "") + (
                "the deadline applies to the response (release to action), which adds the start delay to the "
                "latency drawn here"
            )
    return Chart("latency-timeline", "Latency over the run", plot.svg("latency timeline"), "samples", note)
