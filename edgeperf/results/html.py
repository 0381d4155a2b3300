"""`edgeperf report`: one self-contained HTML page of one or more runs.

Charts are inline SVG drawn here (no JavaScript, no library, nothing fetched: a Content-Security-Policy that allows
no network is part of the page). Every string that comes from a report is escaped: reports carry model paths,
warnings and host names that a user or an attacker chose. A figure the report does not hold is shown with the
reason it gives (report.unmeasured), never as 0; a chart drawn from summary figures instead of raw samples says so.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.results.report import PERCENTILES, pct_key

# Above this many samples the timeline is drawn as per-bin max and mean lines, not one dot per inference.
MAX_DOTS = 20_000
TIMELINE_BINS = 1_500
HIST_BINS = 80


@dataclass
class Run:
    """One run to render: its report (the JSON document as a dict) and, when known, the raw per-inference
    latencies of a profile in nanoseconds, in the order they ran (from the store, or `profile --csv`)."""

    report: dict
    samples_ns: np.ndarray | None = None
    source: str = ""  # where it came from (a file, a run id), for the page
    # From a `profile --csv` file, beside samples_ns: each inference's start (ns from the first) and, in a
    # control loop, its response (release to action, ns: what the deadline applies to).
    start_ns: np.ndarray | None = None
    response_ns: np.ndarray | None = None


def esc(value) -> str:
    return html.escape(str(value), quote=True)


def num(v, digits: int = 4) -> str:
    """A figure for people: 4 significant digits, thousands kept whole; None is not a number and never 0."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return "—" if v is None else esc(v)
    if isinstance(v, int):
        return f"{v:,}"
    if not math.isfinite(v):
        return "—"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e7):
        return f"{v:.{digits - 1}e}"
    if abs(v) >= 10 ** (digits - 1):
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def mib(n) -> str:
    """Bytes as MiB; an absent figure stays absent."""
    return f"{num(n / 2**20)} MiB" if isinstance(n, (int, float)) and not isinstance(n, bool) else "—"


def _pct_label(key: str) -> str:
    return key.replace("_", ".")


# -- SVG charts ---------------------------------------------------------------------------------------------------

W, H = 760, 280
ML, MR, MT, MB = 70, 16, 14, 44  # margins: left, right, top, bottom


def _ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step + 1e-9) + 1)]


def _log_ticks(lo: float, hi: float) -> list[float]:
    out = []
    for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5) if math.log10(hi / lo) < 3 else (1,):
            v = m * 10.0**e
            if lo <= v <= hi:
                out.append(v)
    return out or [lo, hi]


def _tick_label(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e7 or abs(v) < 1e-2:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:,.0f}" if abs(v) >= 1e4 else f"{v:g}"


class Plot:
    """One x/y chart in SVG: linear or log axes, lines, dots, bars, bands and labelled reference lines."""

    def __init__(
        self,
        x: tuple[float, float],
        y: tuple[float, float],
        *,
        xlabel: str,
        ylabel: str,
        logy: bool = False,
        xticks: list[tuple[float, str]] | None = None,
    ) -> None:
        self.x0, self.x1 = x
        if self.x1 <= self.x0:
            self.x1 = self.x0 + 1
        self.logy = logy
        y0, y1 = y
        if logy:
            y0 = max(y0, 1e-12)
            y1 = max(y1, y0 * 10)
        elif y1 <= y0:
            y1 = y0 + (abs(y0) or 1)
        self.y0, self.y1 = y0, y1
        self.xlabel, self.ylabel, self.xticks = xlabel, ylabel, xticks
        self.body: list[str] = []
        self.legend: list[tuple[str, str]] = []

    def X(self, v: float) -> float:
        return ML + (v - self.x0) / (self.x1 - self.x0) * (W - ML - MR)

    def Y(self, v: float) -> float:
        if self.logy:
            v = max(v, self.y0)
            f = (math.log10(v) - math.log10(self.y0)) / (math.log10(self.y1) - math.log10(self.y0))
        else:
            f = (v - self.y0) / (self.y1 - self.y0)
        return H - MB - f * (H - MT - MB)

    def _xy(self, xs, ys) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        px = ML + (xs - self.x0) / (self.x1 - self.x0) * (W - ML - MR)
        if self.logy:
            ly = np.log10(np.maximum(ys, self.y0))
            f = (ly - math.log10(self.y0)) / (math.log10(self.y1) - math.log10(self.y0))
        else:
            f = (ys - self.y0) / (self.y1 - self.y0)
        py = H - MB - np.clip(f, -0.02, 1.02) * (H - MT - MB)
        return px, py

    def line(self, xs, ys, cls: str, label: str | None = None) -> None:
        px, py = self._xy(xs, ys)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
        self.body.append(f'<polyline class="ln {cls}" points="{pts}"/>')
        if label:
            self.legend.append((cls, label))

    def dots(self, xs, ys, cls: str, label: str | None = None, titles: list[str] | None = None) -> None:
        px, py = self._xy(xs, ys)
        if titles is not None:  # a few points, each with a hover text
            for a, b, t in zip(px, py, titles, strict=True):
                self.body.append(
                    f'<circle class="pt {cls}" cx="{a:.1f}" cy="{b:.1f}" r="3.5"><title>{esc(t)}</title></circle>'
                )
        else:  # many points: one path of zero-length round-capped segments, ~14 bytes a point
            d = "".join(f"M{a:.1f} {b:.1f}h0" for a, b in zip(px, py, strict=True))
            self.body.append(f'<path class="dots {cls}" d="{d}"/>')
        if label:
            self.legend.append((cls, label))

    def bars(self, lefts, rights, heights, cls: str, label: str | None = None, titles=None) -> None:
        base = self.y0 if self.logy else max(self.y0, 0)
        for i, (a, b, h) in enumerate(zip(lefts, rights, heights, strict=True)):
            if not h or h <= 0:
                continue
            x, x2, top, bottom = self.X(a), self.X(b), self.Y(h), self.Y(base)
            t = f"<title>{esc(titles[i])}</title>" if titles else ""
            self.body.append(
                f'<rect class="bar {cls}" x="{x:.1f}" y="{top:.1f}" width="{max(x2 - x - 0.6, 0.6):.1f}" '
                f'height="{max(bottom - top, 0.5):.1f}">{t}</rect>'
            )
        if label:
            self.legend.append((cls, label))

    def band(self, xs, lo, hi, cls: str, label: str | None = None) -> None:
        px, plo = self._xy(xs, lo)
        _, phi = self._xy(xs, hi)
        pts = [f"{a:.1f},{b:.1f}" for a, b in zip(px, phi, strict=True)]
        pts += [f"{a:.1f},{b:.1f}" for a, b in zip(px[::-1], plo[::-1], strict=True)]
        self.body.append(f'<polygon class="band {cls}" points="{" ".join(pts)}"/>')
        if label:
            self.legend.append((cls + " band", label))

    def span(self, x0: float, x1: float, cls: str, label: str) -> None:
        a, b = self.X(max(x0, self.x0)), self.X(min(x1, self.x1))
        if b > a:
            self.body.append(
                f'<rect class="band {cls}" x="{a:.1f}" y="{MT}" width="{b - a:.1f}" height="{H - MT - MB}"/>'
            )
            self.legend.append((cls + " band", label))

    def hline(self, y: float, cls: str, label: str) -> None:
        py = self.Y(y)
        self.body.append(f'<line class="ref {cls}" x1="{ML}" x2="{W - MR}" y1="{py:.1f}" y2="{py:.1f}"/>')
        self.legend.append((cls, label))

    def vline(self, x: float, cls: str, label: str) -> None:
        px = self.X(x)
        self.body.append(f'<line class="ref {cls}" x1="{px:.1f}" x2="{px:.1f}" y1="{MT}" y2="{H - MB}"/>')
        self.legend.append((cls, label))

    def svg(self, name: str) -> str:
        out = [f'<svg viewBox="0 0 {W} {H}" role="img" aria-label="{esc(name)}" xmlns="http://www.w3.org/2000/svg">']
        out.append(f'<rect class="frame" x="{ML}" y="{MT}" width="{W - ML - MR}" height="{H - MT - MB}"/>')
        yt = _log_ticks(self.y0, self.y1) if self.logy else _ticks(self.y0, self.y1)
        for v in yt:
            py = self.Y(v)
            out.append(f'<line class="grid" x1="{ML}" x2="{W - MR}" y1="{py:.1f}" y2="{py:.1f}"/>')
            out.append(f'<text class="tick" x="{ML - 6}" y="{py + 4:.1f}" text-anchor="end">{_tick_label(v)}</text>')
        xt = self.xticks if self.xticks is not None else [(v, _tick_label(v)) for v in _ticks(self.x0, self.x1, 8)]
        for v, label in xt:
            px = self.X(v)
            out.append(f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{MT}" y2="{H - MB}"/>')
            out.append(f'<text class="tick" x="{px:.1f}" y="{H - MB + 16}" text-anchor="middle">{esc(label)}</text>')
        out.append(f"<g>{''.join(self.body)}</g>")
        out.append(
            f'<text class="axis" x="{(ML + W - MR) / 2}" y="{H - 6}" text-anchor="middle">{esc(self.xlabel)}</text>'
        )
        out.append(
            f'<text class="axis" transform="translate(14 {(MT + H - MB) / 2}) rotate(-90)" text-anchor="middle">'
            f"{esc(self.ylabel)}</text>"
        )
        out.append("</svg>")
        legend = "".join(f'<span class="key"><i class="sw {c}"></i>{esc(t)}</span>' for c, t in self.legend)
        return "".join(out) + (f'<div class="legend">{legend}</div>' if legend else "")


def figure(name: str, title: str, body: str, *, source: str, note: str = "") -> str:
    """A chart with its title and a line that says what it is drawn from."""
    return (
        f'<figure class="chart" data-chart="{esc(name)}" data-source="{esc(source)}"><figcaption>{esc(title)}'
        f"</figcaption>{body}" + (f'<p class="note">{esc(note)}</p>' if note else "") + "</figure>"
    )


def absent(what: str, why: str, name: str = "") -> str:
    """A figure or chart that is not in the report: what it is and why, never a 0 in its place."""
    attr = f' data-absent="{esc(name)}"' if name else ""
    return f'<p class="absent"{attr}><b>{esc(what)}</b>: not measured — {esc(why)}</p>'


# -- pieces -------------------------------------------------------------------------------------------------------


def _d(obj, *keys, default=None):
    """obj[k1][k2]... or `default` where a level is missing or not a dict."""
    for k in keys:
        if not isinstance(obj, dict) or k not in obj:
            return default
        obj = obj[k]
    return obj


def card(label: str, value: str, figure_id: str, sub: str = "", cls: str = "") -> str:
    sub_html = f'<div class="sub">{sub}</div>' if sub else ""
    return (
        f'<div class="card {cls}"><div class="label">{esc(label)}</div>'
        f'<div class="value" data-figure="{esc(figure_id)}">{value}</div>{sub_html}</div>'
    )


def cards(items: list[str]) -> str:
    return f'<div class="cards">{"".join(items)}</div>'


def kv_table(rows: list[tuple[str, str]], cls: str = "kv") -> str:
    body = "".join(f"<tr><th>{esc(k)}</th><td>{v}</td></tr>" for k, v in rows)
    return f'<table class="{cls}">{body}</table>'


def _flat(d, prefix: str = "") -> list[tuple[str, str]]:
    """A nested dict as (dotted key, escaped value) rows."""
    rows: list[tuple[str, str]] = []
    if not isinstance(d, dict):
        return [(prefix or "value", esc(json.dumps(d)))]
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            rows += _flat(v, key)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            rows.append((key, num(v)))
        elif isinstance(v, str):
            rows.append((key, esc(v)))
        elif isinstance(v, list) and v and len(v) <= 500 and all(isinstance(x, dict) for x in v):
            rows.append((key, _records(v)))  # e.g. each training run of a reliability report
        else:
            rows.append((key, esc(json.dumps(v))))
    return rows


def _records(items: list[dict]) -> str:
    """A list of records as a table, one row each (escaped HTML)."""
    cols = list(dict.fromkeys(k for x in items for k in x))

    def cell(v) -> str:
        if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
            return num(v)
        return esc(v) if isinstance(v, str) else esc(json.dumps(v, default=str))

    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(f"<td>{cell(x.get(c))}</td>" for c in cols) + "</tr>" for x in items)
    return f'<table class="grid records"><tr>{head}</tr>{body}</table>'


def verdict_badge(verdict: str | None, figure_id: str = "verdict") -> str:
    good, bad = ("equivalent", "passed", "transfers"), ("different", "FAILED", "fails")
    cls = "good" if verdict in good else "bad" if verdict in bad else "warn"
    return f'<span class="badge {cls}" data-figure="{esc(figure_id)}">{esc(verdict)}</span>'


def _why(report: dict, *keys: str, default: str) -> str:
    un = report.get("unmeasured") or {}
    for k in keys:
        if isinstance(un, dict) and un.get(k):
            return str(un[k])
    return default


# -- profile ------------------------------------------------------------------------------------------------------


LATENCY_KEYS = ["min", *(pct_key(p) for p in PERCENTILES), "max"]


def histogram_from_samples(us: np.ndarray, lat: dict, deadline_us: float | None) -> str:
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
        if lat.get(k) is not None and lo <= lat[k] <= hi:
            plot.vline(lat[k], cls, f"{_pct_label(k)} {num(lat[k])} us")
    if deadline_us and deadline_us <= hi:
        plot.vline(deadline_us, "dl", f"deadline {num(deadline_us / 1e3)} ms")
    note = f"{clipped} slowest inferences (above {num(hi)} us) counted in the last bar" if clipped else ""
    if deadline_us and deadline_us > hi:
        note += ("; " if note else "") + f"the deadline ({num(deadline_us / 1e3)} ms) is beyond the right edge"
    return figure("latency-histogram", "Latency histogram", plot.svg("latency histogram"), source="samples", note=note)


def quantiles_from_percentiles(lat: dict, deadline_us: float | None) -> str:
    """Without raw samples: the latency at each percentile the report holds, on a 'nines' axis."""
    pos = NINES
    keys = [k for k in LATENCY_KEYS if isinstance(lat.get(k), (int, float))]
    if len(keys) < 2:
        return absent(
            "latency distribution", "the report holds fewer than two latency percentiles", "latency-histogram"
        )
    xs, ys = [pos[k] for k in keys], [lat[k] for k in keys]
    top = max(ys + ([deadline_us] if deadline_us else []))
    logy = top / max(min(ys), 1e-9) > 30
    plot = Plot(
        (-0.1, pos["max"] + 0.15),
        (min(ys) * (0.7 if logy else 0), top * 1.15),
        xlabel="percentile",
        ylabel="latency (us)" + (" (log)" if logy else ""),
        logy=logy,
        xticks=[(pos[k], _pct_label(k)) for k in keys],
    )
    plot.line(xs, ys, "c0", "latency at each percentile of the report")
    plot.dots(xs, ys, "c0", titles=[f"{_pct_label(k)}: {num(lat[k])} us" for k in keys])
    if deadline_us:
        plot.hline(deadline_us, "dl", f"deadline {num(deadline_us / 1e3)} ms")
    return figure(
        "latency-histogram",
        "Latency distribution (from the report's percentiles)",
        plot.svg("latency percentiles"),
        source="percentiles",
        note="No raw per-inference samples were given, so this is drawn from the report's percentiles, not a "
        "histogram. A stored run, or the run's `profile --csv` timings, gives the histogram and the timeline.",
    )


NINES = {"min": 0.0, **{pct_key(p): -math.log10(1 - p / 100) for p in PERCENTILES}}
NINES["max"] = NINES[pct_key(PERCENTILES[-1])] + 0.6


def profiles_side_by_side(runs: list[tuple[int, Run]]) -> str:
    """Two or more profiles: each one's latency at every percentile its report holds, on one chart."""
    curves = []
    for i, run in runs:
        lat = _d(run.report, "results", "latency_us") or {}
        keys = [k for k in LATENCY_KEYS if isinstance(lat.get(k), (int, float)) and lat[k] > 0]
        if len(keys) >= 2:
            curves.append((i, run, keys, lat))
    if len(curves) < 2:
        return ""
    ys = [lat[k] for _, _, keys, lat in curves for k in keys]
    plot = Plot(
        (-0.1, NINES["max"] + 0.15),
        (min(ys) * 0.7, max(ys) * 1.5),
        xlabel="percentile",
        ylabel="latency (us, log)",
        logy=True,
        xticks=[(v, _pct_label(k)) for k, v in NINES.items()],
    )
    for j, (i, run, keys, lat) in enumerate(curves):
        cls = ("c0", "c3", "c1", "c4", "c5", "c2")[j % 6]
        name = (
            f"#{i + 1} {Path(str(_d(run.report, 'model', 'path') or '?')).name} on {_d(run.report, 'host', 'device')}"
        )
        plot.line([NINES[k] for k in keys], [lat[k] for k in keys], cls, name)
        plot.dots(
            [NINES[k] for k in keys],
            [lat[k] for k in keys],
            cls,
            titles=[f"#{i + 1} {_pct_label(k)}: {num(lat[k])} us" for k in keys],
        )
    return figure(
        "profiles-side-by-side",
        "Profiles side by side: latency at each percentile",
        plot.svg("profiles side by side"),
        source="percentiles",
        note="From each report's percentiles; a percentile with too few samples beyond it is drawn all the same "
        "(each run's section says which).",
    )


def timeline_from_samples(
    us: np.ndarray,
    deadline_us: float | None,
    period_us: float | None,
    start_s: np.ndarray | None = None,
    response_us: np.ndarray | None = None,
) -> str:
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
    return figure("latency-timeline", "Latency over the run", plot.svg("latency timeline"), source="samples", note=note)


def power_section(p: dict) -> str:
    est = bool(p.get("estimate"))
    title = f"Power per rail: {p.get('source', '?')}" + (" — ESTIMATE, not a measurement" if est else "")
    parts = []
    trace = p.get("trace") if isinstance(p.get("trace"), dict) else {}
    lines = {
        rail: (np.asarray(v["t_s"], dtype=float), np.asarray(v["W"], dtype=float))
        for rail, v in (trace.get("rails") or {}).items()
        if isinstance(v, dict) and v.get("t_s") and len(v["t_s"]) == len(v.get("W") or [])
    }
    if lines:
        t_lo = min(float(t[0]) for t, _ in lines.values())
        t_hi = max(float(t[-1]) for t, _ in lines.values())
        top = max(float(np.nanmax(w)) for _, w in lines.values())
        plot = Plot((t_lo, t_hi), (0, (top or 1) * 1.15), xlabel="time since sampling started (s)", ylabel="W")
        for name, cls in (("idle_s", "c2"), ("window_s", "c1")):
            span = trace.get(name)
            if isinstance(span, list) and len(span) == 2:
                plot.span(span[0], span[1], cls, "idle baseline" if name == "idle_s" else "measured window")
        for i, (rail, (t, w)) in enumerate(lines.items()):
            plot.line(t, w, ("c0", "c3", "c4", "c5", "c1")[i % 5], rail)
        parts.append(
            figure("power-trace", title, plot.svg("power trace"), source="trace", note=str(trace.get("how", "")))
        )
    rails = {k: v for k, v in (p.get("rails") or {}).items() if isinstance(v, dict)}
    if rails:
        names = list(rails)
        top = max([(r.get("active_W") or 0) for r in rails.values()] + [(r.get("idle_W") or 0) for r in rails.values()])
        plot = Plot(
            (0, len(names)),
            (0, (top or 1) * 1.2),
            xlabel="rail",
            ylabel="W",
            xticks=[(i + 0.5, n) for i, n in enumerate(names)],
        )
        idle = [r.get("idle_W") for r in rails.values()]
        active = [r.get("active_W") for r in rails.values()]
        plot.bars(
            [i + 0.1 for i in range(len(names))],
            [i + 0.5 for i in range(len(names))],
            [v or 0 for v in idle],
            "c2",
            "idle W",
            [f"{n}: idle {num(v)} W" for n, v in zip(names, idle, strict=True)],
        )
        plot.bars(
            [i + 0.5 for i in range(len(names))],
            [i + 0.9 for i in range(len(names))],
            [v or 0 for v in active],
            "c0",
            "active W",
            [f"{n}: active {num(v)} W" for n, v in zip(names, active, strict=True)],
        )
        if not parts:
            parts.append(
                figure(
                    "power-rails",
                    title,
                    plot.svg("power per rail"),
                    source="summary",
                    note="The report holds each rail's mean power while idle and while inferring, not a trace "
                    "over time.",
                )
            )
        else:
            parts.append(figure("power-rails", "Mean power per rail", plot.svg("power per rail"), source="summary"))
    head = ["rail", "idle W", "active W", "above idle W", "mJ/inference above idle", "mJ/inference gross"]
    rows = []
    all_rails = list(rails.items()) + (
        [("total (" + "+".join(p.get("total_rails", [])) + ")", p["total"])] if isinstance(p.get("total"), dict) else []
    )
    for name, r in all_rails:
        vals = [
            r.get("idle_W"),
            r.get("active_W"),
            r.get("above_idle_W"),
            r.get("per_inference_above_idle_mJ"),
            r.get("per_inference_mJ"),
        ]
        rows.append(f"<tr><th>{esc(name)}</th>" + "".join(f"<td>{num(v)}</td>" for v in vals) + "</tr>")
    if rows:
        parts.append(
            '<table class="grid"><tr>'
            + "".join(f"<th>{esc(h)}</th>" for h in head)
            + "</tr>"
            + "".join(rows)
            + "</table>"
        )
    how = [str(x) for x in (p.get("method"), p.get("total_how")) if x]
    if how:
        parts.append(f'<p class="note">{esc("; ".join(how))}</p>')
    un = p.get("unavailable_sources") or {}
    if un:
        parts.append(
            "<details><summary>power sources not available here</summary>"
            + kv_table([(k, esc(v)) for k, v in un.items()])
            + "</details>"
        )
    return f'<section class="sub"><h3>Power</h3>{"".join(parts)}</section>'


def profile(run: Run) -> str:
    return _profile_cards(run) + _profile_latency(run) + _profile_run(run)


def _profile_cards(run: Run) -> str:
    rep, r = run.report, run.report.get("results") or {}
    lat = r.get("latency_us") or {}
    dl = r.get("deadline") or {}
    deadline_us = dl.get("deadline_us")
    short = lat.get("tail_unsupported") or {}
    mem = r.get("memory") or {}
    p99_sub = ""
    if lat.get("p99_ci95"):
        lo, hi = lat["p99_ci95"]
        p99_sub = f"95% CI [{num(lo)}, {num(hi)}] us"
    if "p99" in short:
        p99_sub += (" · " if p99_sub else "") + f"too few samples in the tail: {esc(short['p99'])}"
    items = [
        card("p50 latency", f"{num(lat.get('p50'))} us", "p50_us"),
        card("p99 latency", f"{num(lat.get('p99'))} us", "p99_us", p99_sub),
        card(
            "p99.9 latency", f"{num(lat.get('p99_9'))} us", "p99_9_us", esc(short["p99_9"]) if "p99_9" in short else ""
        ),
        card("max", f"{num(lat.get('max'))} us", "max_us"),
        card("inferences", num(lat.get("count")), "count", f"{num(r.get('throughput_per_s'))}/s"),
    ]
    if dl:
        missed = dl.get("misses") or 0
        items.append(
            card(
                "deadline misses",
                f"{num(dl.get('misses'))} / {num(dl.get('periods'))}",
                "misses",
                f"deadline {num(deadline_us / 1e3 if deadline_us else None)} ms · miss rate "
                f"{num(100 * dl['miss_rate'] if dl.get('miss_rate') is not None else None)}%",
                "bad" if missed else "good",
            )
        )
    else:
        items.append(card("deadline", "none", "misses", "a free-running (stream) run: no control-loop deadline"))
    items.append(
        card(
            "peak RSS",
            mib(mem.get("peak_rss_bytes")),
            "peak_rss_mib",
            esc(mem.get("peak_source", "")),
        )
    )
    energy = _d(r, "power", "total", "per_inference_above_idle_mJ")
    if energy is not None:
        est = " (ESTIMATE)" if _d(r, "power", "estimate") else ""
        items.append(card("energy / inference", f"{num(energy)} mJ{est}", "mj_per_inference", "above idle"))
    else:
        why = _why(rep, "energy_per_inference", "power", default="the report holds no power figures")
        items.append(card("energy / inference", "not measured", "mj_per_inference", esc(why), "absent"))
    return cards(items)


def _profile_latency(run: Run) -> str:
    r = run.report.get("results") or {}
    lat = r.get("latency_us") or {}
    dl = r.get("deadline") or {}
    deadline_us = dl.get("deadline_us")
    short = lat.get("tail_unsupported") or {}
    out = []
    # the percentile table: latency, and the response when there is a deadline
    keys = ["mean", *LATENCY_KEYS]
    head = "".join(f"<th>{esc(_pct_label(k))}</th>" for k in keys)
    rows = [f"<tr><th>latency us</th>{''.join(f'<td>{num(lat.get(k))}</td>' for k in keys)}</tr>"]
    resp = dl.get("response_us") or {}
    if resp:
        rows.append(f"<tr><th>response us</th>{''.join(f'<td>{num(resp.get(k))}</td>' for k in keys)}</tr>")
    out.append(f'<table class="grid"><tr><th></th>{head}</tr>{"".join(rows)}</table>')
    method = lat.get("method")
    if lat.get("relative_precision"):
        method = f"{method}: percentiles from a log-linear histogram, within {num(100 * lat['relative_precision'])}%"
    if short:
        out.append(
            '<p class="note">Percentiles with too few samples beyond them to be supported: '
            + "; ".join(f"{esc(_pct_label(k))}: {esc(v)}" for k, v in short.items())
            + "</p>"
        )
    if method:
        out.append(f'<p class="note">method: {esc(method)}; clock {esc(r.get("clock", "?"))}</p>')

    samples = None if run.samples_ns is None else np.asarray(run.samples_ns, dtype=float).ravel() / 1e3
    if samples is not None and len(samples):
        out.append(histogram_from_samples(samples, lat, deadline_us))
        start = None if run.start_ns is None else np.asarray(run.start_ns, dtype=float) / 1e9
        resp = None if run.response_ns is None else np.asarray(run.response_ns, dtype=float) / 1e3
        out.append(timeline_from_samples(samples, deadline_us, dl.get("period_us"), start, resp))
    else:
        out.append(quantiles_from_percentiles(lat, deadline_us))
        out.append(
            absent(
                "latency timeline",
                "the report holds percentiles, not the per-inference timings in run order; render a stored run, or "
                "give the run's `edgeperf profile --csv` file with --timings",
                "latency-timeline",
            )
        )
    return "".join(out)


def _profile_run(run: Run) -> str:
    rep, r = run.report, run.report.get("results") or {}
    dl = r.get("deadline") or {}
    mem = r.get("memory") or {}
    out = []
    if dl:
        rows = [
            ("period", f"{num(dl.get('period_us'))} us"),
            ("deadline", f"{num(dl.get('deadline_us'))} us"),
            ("longest miss streak", num(dl.get("longest_miss_streak"))),
            ("start delay p99", f"{num(_d(dl, 'start_delay_us', 'p99'))} us"),
            ("period jitter std", f"{num(_d(dl, 'period_jitter_us', 'std'))} us"),
        ]
        if _d(dl, "lateness_us", "count"):
            rows.append(
                ("lateness p50 / max", f"{num(dl['lateness_us'].get('p50'))} / {num(dl['lateness_us'].get('max'))} us")
            )
        out.append("<h3>Control loop</h3>" + kv_table(rows))
    cs = r.get("cold_start") or {}
    be = r.get("backend") or {}
    rows = [
        (
            "backend",
            esc(
                ", ".join(str(be.get(k)) for k in ("name", "device") if be.get(k))
                + (f" ({', '.join(map(str, be['providers']))})" if be.get("providers") else "")
            ),
        ),
        ("scenario", esc(r.get("scenario", "?"))),
        ("observations", esc(_d(r, "observations", "distribution") or _d(r, "observations", "source") or "?")),
        ("cold start", f"open {num(cs.get('open_ms'))} ms, first inference {num(cs.get('first_inference_us'))} us"),
        ("warm-up", f"{num(_d(r, 'warmup', 'iterations'))} inferences"),
        (
            "memory",
            f"after load {mib(mem.get('rss_after_load_bytes'))}, peak {mib(mem.get('peak_rss_bytes'))}",
        ),
        ("CPU", f"{num(_d(r, 'cpu', 'process_utilisation_percent'))}% of one core"),
    ]
    out.append("<h3>Run</h3>" + kv_table(rows))
    if isinstance(r.get("power"), dict):
        out.append(power_section(r["power"]))
    else:
        out.append(absent("power", _why(rep, "power", "energy_per_inference", default="not in the report"), "power"))
    if isinstance(r.get("chunk"), dict):
        c = r["chunk"]
        out.append(
            "<h3>Action chunks</h3>"
            + cards(
                [
                    card("chunk p99", f"{num(c.get('p99_ms'))} ms", "chunk_p99_ms", esc(c.get("latency_is", ""))),
                    card("budget", f"{num(c.get('budget_ms'))} ms", "chunk_budget_ms", esc(c.get("budget_rule", ""))),
                    card(
                        "p99 share of budget",
                        f"{num(100 * c['p99_share_of_budget'])}%"
                        if isinstance(c.get("p99_share_of_budget"), (int, float))
                        else "—",
                        "chunk_share",
                    ),
                ]
            )
            + kv_table(_flat(c))
        )
    if isinstance(r.get("recurrent_state"), dict):
        out.append("<h3>Recurrent state</h3>" + kv_table(_flat(r["recurrent_state"])))
    if isinstance(r.get("thermal"), dict):
        out.append("<h3>Thermal</h3>" + kv_table(_flat(r["thermal"])))
    return "".join(out)


# -- export -------------------------------------------------------------------------------------------------------


def export(run: Run) -> str:
    rep, r = run.report, run.report.get("results") or {}
    par = r.get("parity")
    items = [
        card("size", f"{num(r['size_bytes'] / 1024)} KiB" if r.get("size_bytes") else "—", "size_kib"),
        card("export time", f"{num(r.get('export_s'))} s", "export_s"),
    ]
    out = []
    if isinstance(par, dict):
        passed = par.get("passed")
        items.insert(
            0,
            card(
                "parity",
                verdict_badge("passed" if passed else "FAILED", "parity"),
                "parity_verdict",
                f"on {num(par.get('observations'))} observations",
            ),
        )
        items.append(card("max |error|", num(par.get("max_abs_error")), "max_abs_error", esc(par.get("units", ""))))
        items.append(card("p99 |error|", num(par.get("p99_abs_error")), "p99_abs_error"))
        out.append(cards(items))
        mx, p99 = par.get("max_abs_error_per_dim") or [], par.get("p99_abs_error_per_dim") or []
        tol = par.get("tolerance") or {}
        scale = tol.get("scale_per_dim") or []
        if mx:
            n = len(mx)
            allowed = [tol.get("atol", 0) * (scale[i] if i < len(scale) else 1) for i in range(n)]
            vals = [v for v in [*mx, *p99, *allowed] if isinstance(v, (int, float)) and v > 0]
            lo, hi = (min(vals), max(vals)) if vals else (1e-9, 1)
            step = max(1, n // 16)
            plot = Plot(
                (0, n),
                (lo / 3, hi * 3),
                xlabel="action dimension",
                ylabel="|artifact - original| (log)",
                logy=True,
                xticks=[(i + 0.5, str(i)) for i in range(0, n, step)],
            )
            plot.bars(
                [i + 0.1 for i in range(n)],
                [i + 0.5 for i in range(n)],
                mx,
                "c3",
                "max |error|",
                [f"dim {i}: max {num(v)}" for i, v in enumerate(mx)],
            )
            if p99:
                plot.bars(
                    [i + 0.5 for i in range(n)],
                    [i + 0.9 for i in range(n)],
                    p99,
                    "c0",
                    "p99 |error|",
                    [f"dim {i}: p99 {num(v)}" for i, v in enumerate(p99)],
                )
            if any(allowed):
                plot.line(
                    [x for i in range(n) for x in (i, i + 1)],
                    [a for a in allowed for _ in (0, 1)],
                    "dl",
                    f"absolute part of the tolerance (atol {num(tol.get('atol'))} x scale)",
                )
            out.append(
                figure(
                    "parity-per-dim",
                    "Parity error per action dimension",
                    plot.svg("parity per dimension"),
                    source="report",
                    note=str(tol.get("rule", "")),
                )
            )
        else:
            out.append(absent("parity per dimension", "the report holds no per-dimension errors", "parity-per-dim"))
        if isinstance(par.get("recurrent"), dict):
            out.append(recurrent_parity(par["recurrent"], par.get("tolerance") or {}))
        out.append(kv_table([(k, v) for k, v in _flat(par) if not k.endswith(("_per_dim", "_per_step"))]))
    else:
        out.append(cards(items))
        out.append(absent("parity", _why(rep, "parity", default="not checked (export --no-check)"), "parity"))
    if r.get("spaces"):
        out.append("<h3>Spaces</h3>" + kv_table(_flat(r["spaces"])))
    return "".join(out)


def recurrent_parity(rec: dict, tol: dict) -> str:
    """A recurrent policy's parity over sequences: the error at each step, so that drift shows."""
    per = [v for v in rec.get("max_abs_error_per_step") or [] if isinstance(v, (int, float))]
    if not per:
        return absent("parity per step", "the report holds no per-step errors", "parity-per-step")
    positive = [v for v in per if v > 0]
    logy = bool(positive) and max(positive) / min(positive) > 30
    lo = min(positive) / 3 if logy else 0
    hi = max([*per, tol.get("atol") or 0]) * (3 if logy else 1.2) or 1e-9
    plot = Plot(
        (0, max(len(per) - 1, 1)),
        (lo, hi),
        xlabel="step of the sequence",
        ylabel="max |artifact - original|" + (" (log)" if logy else ""),
        logy=logy,
    )
    plot.line(range(len(per)), per, "c3", f"max |error| over {num(rec.get('sequences'))} sequences")
    if tol.get("atol"):
        plot.hline(tol["atol"], "dl", f"atol {num(tol['atol'])}")
    note = f"drift ratio {num(rec.get('drift_ratio'))} ({rec.get('drift_rule', '')})"
    return figure(
        "parity-per-step",
        f"Recurrent parity ({rec.get('kind', '?')}): error at each step",
        plot.svg("parity per step"),
        source="report",
        note=note,
    )


# -- validate and hil ---------------------------------------------------------------------------------------------


def _summary_table(columns: dict[str, dict]) -> str:
    def row(label, fmt):
        return f"<tr><th>{esc(label)}</th>" + "".join(f"<td>{fmt(s)}</td>" for s in columns.values()) + "</tr>"

    def success(s):
        if "success_rate" not in s:
            return "no criterion"
        ci = s.get("success_ci95") or [None, None]
        return f"{num(100 * s['success_rate'])}% [{num(100 * ci[0])}, {num(100 * ci[1])}]"

    rows = [
        row("episodes", lambda s: num(s.get("episodes"))),
        row("success (95% CI)", success),
        row("falls", lambda s: num(s.get("falls"))),
        row(
            "return mean (95% CI)",
            lambda s: (
                f"{num(_d(s, 'return', 'mean'))} "
                f"[{num((_d(s, 'return', 'ci95') or [None])[0])}, {num((_d(s, 'return', 'ci95') or [None, None])[1])}]"
            ),
        ),
        row("dispersion (IQR)", lambda s: num(_d(s, "reliability", "dispersion_iqr"))),
        row("risk (CVaR 5%)", lambda s: num(_d(s, "reliability", "risk_cvar5"))),
    ]
    head = "".join(f"<th>{esc(n)}</th>" for n in columns)
    return f'<table class="grid"><tr><th></th>{head}</tr>{"".join(rows)}</table>'


def paired_returns(r: dict, a: str, b: str) -> str:
    """Each episode's return under policy a against policy b on the same seed; on the diagonal, the same."""
    per = r.get("per_episode") or {}
    ra, rb = per.get(a), per.get(b)
    if isinstance(ra, list) and isinstance(rb, list) and ra and len(ra) == len(rb):
        vals = [float(v) for v in ra + rb if isinstance(v, (int, float))]
        lo, hi = min(vals), max(vals)
        pad = (hi - lo) * 0.08 or 1
        plot = Plot((lo - pad, hi + pad), (lo - pad, hi + pad), xlabel=f"{a} return", ylabel=f"{b} return")
        plot.line([lo - pad, hi + pad], [lo - pad, hi + pad], "muted", "same return (diagonal)")
        seeds = per.get("seeds") or list(range(len(ra)))
        plot.dots(
            ra,
            rb,
            "c0",
            "one seed",
            titles=[f"seed {s}: {a} {num(x)}, {b} {num(y)}" for s, x, y in zip(seeds, ra, rb, strict=False)],
        )
        return figure(
            "paired-returns",
            f"Paired returns: {a} against {b}, episode by episode",
            plot.svg("paired returns"),
            source="episodes",
        )
    sa, sb = r.get(a) or {}, r.get(b) or {}
    means = [_d(sa, "return", "mean"), _d(sb, "return", "mean")]
    cis = [_d(sa, "return", "ci95") or [None, None], _d(sb, "return", "ci95") or [None, None]]
    if None in means:
        return absent("paired returns", "the report holds no returns", "paired-returns")
    vals = [v for v in [*means, *(c for ci in cis for c in ci)] if isinstance(v, (int, float))]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.1 or 1
    plot = Plot((0, 2), (lo - pad, hi + pad), xlabel="policy", ylabel="mean return", xticks=[(0.5, a), (1.5, b)])
    for i, (m, ci) in enumerate(zip(means, cis, strict=True)):
        if None not in ci:
            plot.line([i + 0.5, i + 0.5], ci, "c0")
        plot.dots([i + 0.5], [m], "c0", titles=[f"{(a, b)[i]}: mean {num(m)}, 95% CI [{num(ci[0])}, {num(ci[1])}]"])
    plot.legend.append(("c0", "mean return and its 95% CI"))
    return figure(
        "paired-returns",
        f"Returns: {a} and {b}",
        plot.svg("returns"),
        source="summary",
        note="This report holds each policy's mean return, not the return of every episode (reports from "
        "edgeperf versions before per-episode returns were recorded).",
    )


def _verdict_block(p: dict) -> str:
    rows = [
        ("mean return difference", num(p.get("mean_return_difference"))),
        ("90% CI", f"[{num((p.get('ci90') or [None])[0])}, {num((p.get('ci90') or [None, None])[1])}]"),
        (
            "equivalence margin",
            f"±{num(p.get('margin'))}" + (f" ({esc(p['margin_source'])})" if p.get("margin_source") else ""),
        ),
        ("basis", esc(p.get("basis", ""))),
    ]
    if "success_mcnemar_p" in p:
        rows.append(
            (
                "success differs in",
                f"{num((p.get('success_only_reference') or 0) + (p.get('success_only_deployed') or 0))} pairs "
                f"(McNemar p {num(p['success_mcnemar_p'])})",
            )
        )
    if p.get("episodes_needed"):
        rows.append(("episodes needed for a verdict", num(p["episodes_needed"])))
    return kv_table(rows)


def latency_sweep(sw: dict) -> str:
    pts = [p for p in sw.get("points") or [] if isinstance(p, dict) and p.get("latency_ms") is not None]
    if not pts:
        return absent("latency sweep", "the sweep holds no points", "latency-sweep")
    x = [p["latency_ms"] for p in pts]
    hi_x = max(x) or 1
    if all("success_rate" in p for p in pts):
        plot = Plot((min(x), hi_x), (0, 105), xlabel="latency in the loop (ms)", ylabel="success rate (%)")
        lo = [100 * (p.get("success_ci95") or [p["success_rate"]] * 2)[0] for p in pts]
        hi = [100 * (p.get("success_ci95") or [p["success_rate"]] * 2)[1] for p in pts]
        plot.band(x, lo, hi, "c0", "95% CI")
        plot.line(x, [100 * p["success_rate"] for p in pts], "c0", "success rate")
        plot.dots(
            x,
            [100 * p["success_rate"] for p in pts],
            "c0",
            titles=[
                f"{num(p['latency_ms'])} ms: success {num(100 * p['success_rate'])}%, mean return "
                f"{num(p.get('mean_return'))}, falls {p.get('falls')}"
                for p in pts
            ],
        )
        what = "success rate"
    else:
        ys = [p.get("mean_return") or 0 for p in pts]
        pad = (max(ys) - min(ys)) * 0.1 or 1
        plot = Plot(
            (min(x), hi_x), (min(ys) - pad, max(ys) + pad), xlabel="latency in the loop (ms)", ylabel="mean return"
        )
        plot.line(x, ys, "c0", "mean return")
        plot.dots(
            x, ys, "c0", titles=[f"{num(p['latency_ms'])} ms: mean return {num(p.get('mean_return'))}" for p in pts]
        )
        what = "mean return (the domain has no success criterion)"
    fails = sw.get("fails_from_ms")
    if fails is not None:
        plot.vline(fails, "dl", f"the task fails from {num(fails)} ms")
    note = f"rule: {sw.get('rule', '')}" + (
        "" if fails is not None or "success_rate" not in pts[0] else "; the task did not fail at any latency swept"
    )
    return figure(
        "latency-sweep",
        f"Latency in the loop: {what} against a constant latency",
        plot.svg("latency sweep"),
        source="sweep",
        note=note,
    )


def validate(run: Run) -> str:
    rep, r = run.report, run.report.get("results") or {}
    p = r.get("paired") or {}
    ref, dep = r.get("reference") or {}, r.get("deployed") or {}
    items = [card("verdict", verdict_badge(p.get("verdict")), "verdict_card", esc(p.get("basis", "")))]
    for name, s in (("reference", ref), ("deployed", dep)):
        if "success_rate" in s:
            items.append(
                card(
                    f"{name} success",
                    f"{num(100 * s['success_rate'])}%",
                    f"{name}_success",
                    f"of {num(s.get('episodes'))} episodes",
                )
            )
        else:
            items.append(
                card(
                    f"{name} success",
                    "not measured",
                    f"{name}_success",
                    esc(_why(rep, "success", default="no success criterion")),
                    "absent",
                )
            )
    items.append(
        card(
            "return difference",
            num(p.get("mean_return_difference")),
            "return_difference",
            f"margin ±{num(p.get('margin'))}",
        )
    )
    out = [cards(items), _summary_table({"reference": ref, "deployed": dep}), _verdict_block(p)]
    out.append(paired_returns(r, "reference", "deployed"))
    ad = r.get("action_divergence") or {}
    if ad:
        out.append("<h3>Action divergence</h3>" + kv_table(_flat(ad)))
    lat = r.get("latency")
    if isinstance(lat, dict):
        out.append(f"<h3>Latency in the loop</h3><p>{esc(lat.get('source', ''))}</p>")
    else:
        out.append('<h3>Latency in the loop</h3><p class="note">none: actions were applied at once (no --latency)</p>')
    if isinstance(r.get("latency_sweep"), dict):
        out.append(latency_sweep(r["latency_sweep"]))
    else:
        out.append(absent("latency sweep", "this validation ran without --latency-sweep", "latency-sweep"))
    fails = r.get("failures") or []
    if fails:
        rows = "".join(
            f"<tr><td>{esc(f.get('seed'))}</td><td>{esc(f.get('policy'))}</td><td>{esc(f.get('reason'))}</td></tr>"
            for f in fails
        )
        out.append(
            '<h3>Failed episodes</h3><table class="grid"><tr><th>seed</th><th>policy</th><th>why</th></tr>'
            f"{rows}</table>"
        )
    return "".join(out)


def _stats_row(label: str, s: dict) -> str:
    keys = ["mean", *LATENCY_KEYS]
    return f"<tr><th>{esc(label)}</th>" + "".join(f"<td>{num(s.get(k))}</td>" for k in keys) + "</tr>"


def hil(run: Run) -> str:
    rep, r = run.report, run.report.get("results") or {}
    link = r.get("link") or {}
    p = r.get("paired") or {}
    rtt = link.get("round_trip_us") or {}
    items = []
    if p:
        items.append(card("verdict (HIL vs SIL)", verdict_badge(p.get("verdict")), "verdict_card"))
    items += [
        card(
            "round trip p99",
            f"{num(rtt.get('p99'))} us" if rtt else "—",
            "rtt_p99_us",
            f"p50 {num(rtt.get('p50'))} us" if rtt else "no action came back",
        ),
        card(
            "deadline misses" if "queries" not in link else "chunk queries missed",
            f"{num(link.get('misses'))} / {num(link.get('steps', link.get('queries')))}",
            "hil_misses",
            (f"deadline {num(link.get('deadline_ms'))} ms" if "queries" not in link else "no reply within H steps")
            + f" · longest streak {num(link.get('longest_miss_streak'))}",
            "bad" if link.get("misses") else "good",
        ),
        card("stale replies", num(link.get("stale_replies")), "stale_replies"),
        card("reconnects", num(link.get("reconnects")), "reconnects"),
    ]
    out = [cards(items)]
    cols = {k: r[k] for k in ("sil", "hil") if isinstance(r.get(k), dict)}
    if cols:
        out.append(_summary_table({k.upper(): v for k, v in cols.items()}))
    if p:
        out.append(_verdict_block(p))
        out.append(paired_returns(r, "sil", "hil"))
    else:
        out.append(absent("HIL against SIL", _why(rep, "sil", default="no SIL run"), "paired-returns"))
    blocks = [
        (k, link[k])
        for k in ("round_trip_us", "network_us", "server_us", "inference_us")
        if isinstance(link.get(k), dict)
    ]
    if blocks:
        keys = ["mean", *LATENCY_KEYS]
        head = "".join(f"<th>{esc(_pct_label(k))}</th>" for k in keys)
        # and, where the report has them, how late the stale replies came and the loop's own start delay
        extra = [(k, link[k]) for k in ("stale_round_trip_us", "loop_start_delay_us") if isinstance(link.get(k), dict)]
        out.append(
            f'<h3>Link timings</h3><table class="grid"><tr><th>us</th>{head}</tr>'
            + "".join(_stats_row(k.removesuffix("_us").replace("_", " "), s) for k, s in blocks + extra)
            + "</table>"
        )
        # the four percentiles of each part, side by side
        pk = [k for k in ("p50", "p90", "p99", "max") if all(isinstance(s.get(k), (int, float)) for _, s in blocks)]
        vals = [s[k] for _, s in blocks for k in pk]
        if pk and vals:
            n = len(blocks)
            plot = Plot(
                (0, n),
                (max(min(vals) / 2, 1e-3), max([*vals, 1e3 * (link.get("deadline_ms") or 0)]) * 1.5),
                xlabel="",
                ylabel="us (log)",
                logy=True,
                xticks=[(i + 0.5, k.removesuffix("_us").replace("_", " ")) for i, (k, _) in enumerate(blocks)],
            )
            w = 0.8 / len(pk)
            for j, k in enumerate(pk):
                plot.bars(
                    [i + 0.1 + j * w for i in range(n)],
                    [i + 0.1 + (j + 1) * w for i in range(n)],
                    [s[k] for _, s in blocks],
                    f"c{j}",
                    _pct_label(k),
                    [f"{name} {k}: {num(s[k])} us" for name, s in blocks],
                )
            if link.get("deadline_ms"):
                plot.hline(link["deadline_ms"] * 1e3, "dl", f"deadline {num(link['deadline_ms'])} ms")
            out.append(figure("hil-link", "Where the round trip goes", plot.svg("hil link"), source="summary"))
    rows = [(k, v) for k, v in _flat({k: v for k, v in link.items() if not k.endswith("_us")})]
    out.append("<h3>Link</h3>" + kv_table(rows))
    if isinstance(r.get("server"), dict):
        out.append("<h3>Server</h3>" + kv_table(_flat(r["server"])))
    return "".join(out)


def measure(run: Run) -> str:
    r = run.report.get("results") or {}
    mem = r.get("memory") or {}
    items = [
        card("exit code", num(r.get("exit_code")), "exit_code"),
        card("wall", f"{num(r.get('wall_s'))} s", "wall_s"),
        card("peak tree RSS", mib(mem.get("peak_tree_rss_bytes")), "peak_tree_rss_mib"),
    ]
    out = [cards(items), f"<p>command: <code>{esc(' '.join(map(str, r.get('command') or [])))}</code></p>"]
    if isinstance(r.get("power"), dict):
        out.append(power_section(r["power"]))
    else:
        out.append(absent("power", _why(run.report, "power", "energy", default="not in the report"), "power"))
    return "".join(out)


ENVELOPE = ("schema", "run_id", "created_at", "edgeperf_version", "host", "model", "config", "unmeasured", "warnings")


def generic(run: Run) -> str:
    """A kind without its own page (devices): every figure it holds, as a table."""
    rep = run.report
    body = (
        rep["results"] if isinstance(rep.get("results"), dict) else {k: v for k, v in rep.items() if k not in ENVELOPE}
    )
    return kv_table(_flat(body))


def _pct(v) -> str:
    return num(100 * v) if isinstance(v, (int, float)) and not isinstance(v, bool) else "—"


def sim2sim(run: Run) -> str:
    """The same policy in two simulators: the verdict, each side's summary, the metric shifts, robustness."""
    r = run.report.get("results") or {}
    t = r.get("transfer") or {}
    doms = r.get("domains") or {}
    a, b = (_d(doms, side, "id") or side.upper() for side in ("a", "b"))
    ci = t.get("return_difference_ci90") or [None, None]
    items = [
        card("verdict (B against A)", verdict_badge(t.get("verdict"), "sim2sim_verdict"), "sim2sim_verdict_card"),
        card(
            "return B - A", num(t.get("return_difference")), "return_difference", f"90% CI [{num(ci[0])}, {num(ci[1])}]"
        ),
    ]
    if "success_rate_difference" in t:
        sci = t.get("success_difference_ci90") or [None, None]
        sub = f"90% CI [{_pct(sci[0])}, {_pct(sci[1])}]"
        items.append(card("success B - A", f"{_pct(t['success_rate_difference'])} points", "success_difference", sub))
    if t.get("moved_most"):
        m = (t.get("metric_shifts") or {}).get(t["moved_most"]) or {}
        sub = f"{num(m.get('a'))} -> {num(m.get('b'))} ({num(m.get('standardized'))} pooled SD)"
        items.append(card("moved most", esc(t["moved_most"]), "moved_most", sub))
    out = [cards(items), f"<p>A: <code>{esc(a)}</code> · B: <code>{esc(b)}</code></p>"]
    out.append(_summary_table({"A": r.get("a") or {}, "B": r.get("b") or {}}))
    shifts = {k: v for k, v in (t.get("metric_shifts") or {}).items() if isinstance(v, dict)}
    if shifts:
        rows = "".join(
            f"<tr><th>{esc(k)}</th><td>{num(v.get('a'))}</td><td>{num(v.get('b'))}</td>"
            f"<td>{num(v.get('standardized'))}</td></tr>"
            for k, v in shifts.items()
        )
        head = "<tr><th></th><th>A</th><th>B</th><th>pooled SD</th></tr>"
        out.append(f'<h3>Metric shifts</h3><table class="grid">{head}{rows}</table>')
    rob = r.get("robustness") or {}
    if rob.get("levels"):
        rows = []
        for row in rob["levels"]:
            lo, hi = row.get("success_ci95") or [None, None]
            rows.append(
                f"<tr><td>{num(row.get('level'))}</td><td>{_pct(row.get('success_rate'))}%</td>"
                f"<td>[{_pct(lo)}, {_pct(hi)}]%</td><td>{num(row.get('falls'))}</td></tr>"
            )
        head = "<tr><th>level</th><th>success</th><th>95% CI</th><th>falls</th></tr>"
        out.append(
            f"<h3>Robustness in {esc(rob.get('domain'))}: success against {esc(rob.get('what'))}</h3>"
            f'<table class="grid">{head}{"".join(rows)}</table>'
        )
    fails = r.get("failures") or []
    if fails:
        lis = "".join(
            f"<li>{esc(f.get('domain'))} seed {num(f.get('seed'))}: {esc(f.get('reason'))}</li>" for f in fails[:10]
        )
        out.append(f"<h3>Failed episodes</h3><ul>{lis}</ul>")
    return "".join(out)


def doctor(run: Run) -> str:
    """Why the policy fails: the verdict in words, what was tried best first, the recording's term checks."""
    r = run.report.get("results") or {}
    b = r.get("baseline") or {}
    s = r.get("search") or {}
    items = [
        card("doctor", verdict_badge(r.get("verdict"), "doctor_verdict"), "doctor_verdict_card"),
        card(
            "success as given",
            f"{num(b.get('successes'))} / {num(b.get('episodes'))}",
            "baseline_success",
            f"{num(b.get('falls'))} falls",
        ),
    ]
    if "candidates" in s:
        items.append(card("searched", f"{_pct(s.get('coverage'))}%", "coverage",
                          f"{num(s.get('tried'))} of {num(s.get('candidates'))} candidates"))  # fmt: skip
    out = [cards(items), f"<p>{esc(r.get('summary'))}</p>"]
    rows = []
    for i, f in enumerate((r.get("findings") or [])[:10], 1):
        conf = f.get("confirm") or {}
        scr = f.get("screen") or {}
        rows.append(
            f"<tr><td>{i}</td><td>{esc(f.get('family'))}</td><td>{esc(f.get('fix'))}</td>"
            f"<td>{num(scr.get('successes'))}/{num(scr.get('episodes'))}</td>"
            f"<td>{num(conf.get('successes')) + '/' + num(conf.get('episodes')) if conf else '—'}</td>"
            f"<td>{num((conf or scr).get('mean_return'))}</td></tr>"
        )
    if rows:
        head = "<tr><th>#</th><th>family</th><th>fix</th><th>screen</th><th>all seeds</th><th>return</th></tr>"
        out.append(f'<h3>What was tried, best first</h3><table class="grid">{head}{"".join(rows)}</table>')
    terms = (r.get("recording") or {}).get("terms") or []
    if terms:
        trs = "".join(
            f"<tr><th>{esc(t.get('term'))}</th><td>{num(t.get('max_error'))}</td><td>"
            f"{esc(t.get('skipped') or ('matches' if t.get('matches') else t.get('explanation')))}</td></tr>"
            for t in terms
        )
        out.append(f'<h3>The recording, term by term</h3><table class="grid">{trs}</table>')
    return "".join(out)


RENDERERS: dict[str, Callable[[Run], str]] = {
    "doctor": doctor,
    "sim2sim": sim2sim,
    "profile": profile,
    "export": export,
    "validate": validate,
    "hil": hil,
    "measure": measure,
}


# -- the page -----------------------------------------------------------------------------------------------------


def kind_of(report: dict) -> str:
    s = str(report.get("schema", ""))
    return s.split(".", 1)[-1].split("/", 1)[0] if s.startswith("edgeperf.") else "unknown"


def headline(run: Run) -> str:
    """The one figure of each run for the overview table (escaped HTML)."""
    r, k = run.report.get("results") or {}, kind_of(run.report)
    if k == "profile":
        lat, dl = r.get("latency_us") or {}, r.get("deadline") or {}
        miss = f", {num(dl.get('misses'))} of {num(dl.get('periods'))} deadlines missed" if dl else ""
        return f"p50 {num(lat.get('p50'))} us, p99 {num(lat.get('p99'))} us{miss}"
    if k == "export":
        par = r.get("parity")
        if not isinstance(par, dict):
            return "parity not checked"
        return f"parity {'passed' if par.get('passed') else 'FAILED'}, max |error| {num(par.get('max_abs_error'))}"
    if k in ("validate", "hil"):
        return f"verdict {esc(_d(r, 'paired', 'verdict') or '—')}"
    if k == "sim2sim":
        return f"sim-to-sim {esc(_d(r, 'transfer', 'verdict') or '—')}"
    if k == "doctor":
        return f"doctor {esc(r.get('verdict') or '—')}"
    if k == "measure":
        return f"exit {num(r.get('exit_code'))}, {num(r.get('wall_s'))} s"
    return ""


def host_line(h: dict) -> str:
    """The machine in one line: device, CPU, cores, memory, OS, accelerators."""
    cores = h.get("physical_cores") or h.get("logical_cores")
    mem = h.get("memory_bytes")
    gpus = ", ".join(str(g.get("name", g)) if isinstance(g, dict) else str(g) for g in h.get("gpus") or [])
    jetson = h.get("jetson")
    parts = [
        h.get("device"),
        h.get("cpu"),
        f"{cores} cores" if cores else None,
        f"{mem / 2**30:.1f} GiB" if isinstance(mem, (int, float)) else None,
        h.get("os"),
        (jetson.get("model") if isinstance(jetson, dict) else str(jetson)) if jetson else None,
        f"GPUs: {gpus}" if gpus else None,
    ]
    return " · ".join(str(p) for p in parts if p)


def _safe_headline(run: Run) -> str:
    try:
        return headline(run)
    except Exception:
        return "(see the run)"


def _host(report: dict) -> str:
    h = report.get("host") or {}
    if not isinstance(h, dict) or not h:
        return absent("host", "the report does not say which machine it ran on")
    return kv_table(_flat(h))


def _section(i: int, run: Run) -> str:
    rep = run.report
    k = kind_of(rep)
    model = rep.get("model") or {}
    try:
        body = RENDERERS.get(k, generic)(run)
    except Exception as exc:
        body = f'<p class="error">this run could not be drawn: {esc(type(exc).__name__)}: {esc(exc)}</p>'
    un = rep.get("unmeasured") or {}
    warns = rep.get("warnings") or []
    meta = [
        ("schema", esc(rep.get("schema"))),
        ("run id", f'<code data-figure="run_id">{esc(rep.get("run_id"))}</code>'),
        ("created", esc(rep.get("created_at"))),
        ("edgeperf", esc(rep.get("edgeperf_version"))),
    ]
    if isinstance(model, dict) and model:
        meta += [
            ("model", f"<code>{esc(model.get('path'))}</code>"),
            ("format / precision", esc(f"{model.get('format')} / {model.get('precision')}")),
            ("sha256", f"<code>{esc(model.get('sha256'))}</code>"),
        ]
    host = rep.get("host")
    if isinstance(host, dict) and host:
        meta.append(("host", f'<span data-figure="host">{esc(host_line(host))}</span>'))
    if run.source:
        meta.append(("from", f"<code>{esc(run.source)}</code>"))
    parts = [
        f'<section class="run" id="run-{i}" data-kind="{esc(k)}"><h2>{i + 1}. {esc(k)}: '
        f"{esc(model.get('path') if isinstance(model, dict) and model.get('path') else rep.get('run_id', ''))}</h2>",
        kv_table(meta, "kv meta"),
        body,
    ]
    if warns:
        items = "".join(f'<li class="warning">{esc(w)}</li>' for w in warns)
        parts.append(f'<h3>Warnings ({len(warns)})</h3><ul class="warnings">{items}</ul>')
    if un:
        items = "".join(f'<li data-unmeasured="{esc(k)}"><b>{esc(k)}</b>: {esc(v)}</li>' for k, v in un.items())
        parts.append(f'<h3>Not measured ({len(un)})</h3><ul class="unmeasured">{items}</ul>')
    parts.append("<details><summary>Host</summary>" + _host(rep) + "</details>")
    if rep.get("config"):
        parts.append("<details><summary>Configuration</summary>" + kv_table(_flat(rep["config"])) + "</details>")
    raw = json.dumps(rep, indent=1, default=str)
    parts.append(f"<details><summary>The whole report (JSON)</summary><pre>{esc(raw)}</pre></details></section>")
    return "".join(parts)


CSS = """
:root{--fg:#1d2330;--mut:#667085;--bg:#fff;--line:#d0d5dd;--good:#1a7f37;--bad:#c4262e;--warn:#9a6700}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:#f6f7f9;margin:0}
main{max-width:1000px;margin:0 auto;padding:20px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:0 0 10px;word-break:break-all}
h3{font-size:15px;margin:18px 0 6px}
section.run{background:var(--bg);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin:16px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;min-width:130px;flex:1}
.card .label{color:var(--mut);font-size:12px}.card .value{font-size:20px;font-weight:600}
.card .sub{color:var(--mut);font-size:12px}.card.bad .value{color:var(--bad)}.card.good .value{color:var(--good)}
.card.absent .value{color:var(--mut);font-size:15px}
.badge{padding:1px 8px;border-radius:10px;color:#fff;font-size:15px}.badge.good{background:var(--good)}
.badge.bad{background:var(--bad)}.badge.warn{background:var(--warn)}
table{border-collapse:collapse;margin:6px 0}th,td{padding:3px 8px;border-bottom:1px solid #eaecf0;text-align:left;
vertical-align:top}table.grid td{text-align:right;font-variant-numeric:tabular-nums}
table.overview td{text-align:left}table.overview td:nth-child(-n+2),table.overview td:nth-child(4){white-space:nowrap}
table.kv th{color:var(--mut);
font-weight:500;white-space:nowrap}td{word-break:break-word}
figure.chart{margin:14px 0}figcaption{font-weight:600;margin-bottom:4px}svg{width:100%;height:auto;display:block}
.frame{fill:#fbfbfc;stroke:var(--line)}.grid{stroke:#eceef2}.tick{font-size:11px;fill:var(--mut)}
.axis{font-size:12px;fill:var(--fg)}polyline.ln{fill:none;stroke-width:1.8}path.dots{fill:none;stroke-width:2.6;stroke-linecap:round}
.ref{stroke-width:1.5;stroke-dasharray:6 3}.band{stroke:none;opacity:.18}
.c0{stroke:#3b6fb6;fill:#3b6fb6}.c1{stroke:#2e9e5b;fill:#2e9e5b}.c2{stroke:#98a2b3;fill:#98a2b3}
.c3{stroke:#d9822b;fill:#d9822b}.c4{stroke:#8e5bb5;fill:#8e5bb5}.c5{stroke:#b5a23b;fill:#b5a23b}
.dl{stroke:var(--bad);fill:var(--bad)}.bad{stroke:var(--bad);fill:var(--bad)}.muted{stroke:#98a2b3;fill:#98a2b3}
circle.pt{stroke:#fff;stroke-width:1}
.legend{font-size:12px;color:var(--mut);margin-top:2px}.key{margin-right:14px;white-space:nowrap}
.sw{display:inline-block;width:12px;height:4px;margin-right:5px;vertical-align:middle;border-radius:2px}
.sw.c0{background:#3b6fb6}.sw.c1{background:#2e9e5b}.sw.c2{background:#98a2b3}.sw.c3{background:#d9822b}
.sw.c4{background:#8e5bb5}.sw.c5{background:#b5a23b}.sw.dl,.sw.bad{background:var(--bad)}.sw.muted{background:#98a2b3}
.sw.band{opacity:.3;height:10px}
.note,.absent{color:var(--mut);font-size:12.5px}.absent b{color:var(--fg)}.error{color:var(--bad)}
ul.warnings li{color:var(--warn)}pre{font-size:11.5px;overflow:auto;max-height:420px;background:#f6f7f9;padding:8px}
code{font-size:12.5px;word-break:break-all}details{margin:8px 0}summary{cursor:pointer;color:var(--mut)}
"""

# No network, ever: not even a hostile string that slipped past escaping could load or send anything.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render(runs: Sequence[Run | tuple[dict, np.ndarray | None]], *, title: str | None = None) -> str:
    """The HTML page of `runs` (Run, or (report dict, samples_ns or None) pairs), in the order given."""
    runs = [r if isinstance(r, Run) else Run(r[0], r[1]) for r in runs]
    from edgeperf._version import __version__

    rows = "".join(
        f'<tr><td><a href="#run-{i}">{i + 1}</a></td><td>{esc(kind_of(r.report))}</td>'
        f"<td><code>{esc(_d(r.report, 'model', 'path') or '')}</code></td>"
        f"<td>{esc(_d(r.report, 'host', 'device') or '')}</td><td>{esc(r.report.get('created_at', ''))}</td>"
        f"<td>{_safe_headline(r)}</td></tr>"
        for i, r in enumerate(runs)
    )
    overview = (
        '<table class="grid overview"><tr><th>#</th><th>kind</th><th>model</th><th>device</th><th>created</th>'
        f"<th>figures</th></tr>{rows}</table>"
    )
    page_title = title or f"edgeperf report: {len(runs)} run{'s' if len(runs) != 1 else ''}"
    try:
        overview += profiles_side_by_side([(i, r) for i, r in enumerate(runs) if kind_of(r.report) == "profile"])
    except Exception as exc:  # odd reports: their sections say what is wrong
        overview += f'<p class="error">the profiles could not be drawn side by side: {esc(exc)}</p>'
    body = "".join(_section(i, r) for i, r in enumerate(runs))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(page_title)}</title><style>{CSS}</style></head><body><main>"
        f'<h1>{esc(page_title)}</h1><p class="note">written by edgeperf {esc(__version__)}; every figure is from the '
        "reports below, nothing is fetched</p>"
        f"{overview}{body}</main></body></html>\n"
    )
