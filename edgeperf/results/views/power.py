"""The power block of a profile or a measure report: the trace per rail, mean power per rail, the table."""

from __future__ import annotations

import numpy as np

from edgeperf.results.kinds import Power
from edgeperf.results.views.blocks import KV, Chart, Details, Grid, Group, Para
from edgeperf.results.views.fmt import num
from edgeperf.results.views.svg import Plot

COLUMNS = ("idle_W", "active_W", "above_idle_W", "per_inference_above_idle_mJ", "per_inference_mJ")


def _trace(p: Power, title: str) -> Chart | None:
    trace = p.trace
    lines = {
        rail: (np.asarray(v.t_s, dtype=float), np.asarray(v.W, dtype=float))
        for rail, v in ((trace.rails or {}) if trace is not None else {}).items()
        if v.t_s and len(v.t_s) == len(v.W or [])
    }
    if not lines:
        return None
    t_lo = min(float(t[0]) for t, _ in lines.values())
    t_hi = max(float(t[-1]) for t, _ in lines.values())
    top = max(float(np.nanmax(w)) for _, w in lines.values())
    plot = Plot((t_lo, t_hi), (0, (top or 1) * 1.15), xlabel="time since sampling started (s)", ylabel="W")
    for span, cls, label in ((trace.idle_s, "c2", "idle baseline"), (trace.window_s, "c1", "measured window")):
        if isinstance(span, list) and len(span) == 2:
            plot.span(span[0], span[1], cls, label)
    for i, (rail, (t, w)) in enumerate(lines.items()):
        plot.line(t, w, ("c0", "c3", "c4", "c5", "c1")[i % 5], rail)
    return Chart("power-trace", title, plot.svg("power trace"), "trace", str(trace.how or ""))


def _rails(p: Power) -> Plot | None:
    rails = p.rails or {}
    if not rails:
        return None
    names = list(rails)
    top = max([r.active_W or 0 for r in rails.values()] + [r.idle_W or 0 for r in rails.values()])
    plot = Plot(
        (0, len(names)),
        (0, (top or 1) * 1.2),
        xlabel="rail",
        ylabel="W",
        xticks=[(i + 0.5, n) for i, n in enumerate(names)],
    )
    for which, cls, offset in (("idle", "c2", 0.1), ("active", "c0", 0.5)):
        values = [getattr(r, f"{which}_W") for r in rails.values()]
        plot.bars(
            [i + offset for i in range(len(names))],
            [i + offset + 0.4 for i in range(len(names))],
            [v or 0 for v in values],
            cls,
            f"{which} W",
            [f"{n}: {which} {num(v)} W" for n, v in zip(names, values, strict=True)],
        )
    return plot


def section(p: Power) -> Group:
    title = f"Power per rail: {p.source or '?'}" + (" — ESTIMATE, not a measurement" if p.estimate else "")
    blocks: list = []
    trace = _trace(p, title)
    if trace is not None:
        blocks.append(trace)
    plot = _rails(p)
    if plot is not None and trace is None:
        note = "The report holds each rail's mean power while idle and while inferring, not a trace over time."
        blocks.append(Chart("power-rails", title, plot.svg("power per rail"), "summary", note))
    elif plot is not None:
        blocks.append(Chart("power-rails", "Mean power per rail", plot.svg("power per rail"), "summary"))
    rows = list((p.rails or {}).items())
    if p.total is not None:
        rows.append(("total (" + "+".join(p.total_rails or []) + ")", p.total))
    if rows:
        head = ["rail", "idle W", "active W", "above idle W", "mJ/inference above idle", "mJ/inference gross"]
        blocks.append(Grid(head, [(name, [num(r.at(c)) for c in COLUMNS]) for name, r in rows], corner=None))
    how = [str(x) for x in (p.method, p.total_how) if x]
    if how:
        blocks.append(Para("; ".join(how), "note"))
    if p.unavailable_sources:
        blocks.append(Details("power sources not available here", KV(list(p.unavailable_sources.items()))))
    return Group("Power", blocks)
