"""SVG charts drawn in Python: one `Plot` per chart (axes, lines, dots, bars, bands, reference lines), no
JavaScript, nothing fetched. Every label is escaped here, so a caller passes plain text; `svg()` returns Markup.
"""

from __future__ import annotations

import math

import numpy as np
from markupsafe import Markup

from edgeperf.results.views.fmt import esc


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
    """One x/y chart in SVG: linear or log axes, lines, dots, bars, bands and labelled reference lines.

    The chart's size and margins are class attributes: a subclass (or an instance) may draw another size.
    """

    W, H = 760, 280
    ML, MR, MT, MB = 70, 16, 14, 44  # margins: left, right, top, bottom

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

    @property
    def inner_w(self) -> int:
        return self.W - self.ML - self.MR

    @property
    def inner_h(self) -> int:
        return self.H - self.MT - self.MB

    def X(self, v: float) -> float:
        return self.ML + (v - self.x0) / (self.x1 - self.x0) * (self.W - self.ML - self.MR)

    def Y(self, v: float) -> float:
        if self.logy:
            v = max(v, self.y0)
            f = (math.log10(v) - math.log10(self.y0)) / (math.log10(self.y1) - math.log10(self.y0))
        else:
            f = (v - self.y0) / (self.y1 - self.y0)
        return self.H - self.MB - f * (self.H - self.MT - self.MB)

    def _xy(self, xs, ys) -> tuple[np.ndarray, np.ndarray]:
        xs, ys = np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)
        px = self.ML + (xs - self.x0) / (self.x1 - self.x0) * (self.W - self.ML - self.MR)
        if self.logy:
            ly = np.log10(np.maximum(ys, self.y0))
            f = (ly - math.log10(self.y0)) / (math.log10(self.y1) - math.log10(self.y0))
        else:
            f = (ys - self.y0) / (self.y1 - self.y0)
        py = self.H - self.MB - np.clip(f, -0.02, 1.02) * (self.H - self.MT - self.MB)
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
                f'<rect class="band {cls}" x="{a:.1f}" y="{self.MT}" width="{b - a:.1f}" height="{self.inner_h}"/>'
            )
            self.legend.append((cls + " band", label))

    def hline(self, y: float, cls: str, label: str) -> None:
        py = self.Y(y)
        self.body.append(
            f'<line class="ref {cls}" x1="{self.ML}" x2="{self.W - self.MR}" y1="{py:.1f}" y2="{py:.1f}"/>'
        )
        self.legend.append((cls, label))

    def vline(self, x: float, cls: str, label: str) -> None:
        px = self.X(x)
        self.body.append(
            f'<line class="ref {cls}" x1="{px:.1f}" x2="{px:.1f}" y1="{self.MT}" y2="{self.H - self.MB}"/>'
        )
        self.legend.append((cls, label))

    def svg(self, name: str) -> Markup:
        out = [
            f'<svg viewBox="0 0 {self.W} {self.H}" role="img" aria-label="{esc(name)}" xmlns="http://www.w3.org/2000/svg">'
        ]
        out.append(f'<rect class="frame" x="{self.ML}" y="{self.MT}" width="{self.inner_w}" height="{self.inner_h}"/>')
        yt = _log_ticks(self.y0, self.y1) if self.logy else _ticks(self.y0, self.y1)
        for v in yt:
            py = self.Y(v)
            out.append(f'<line class="grid" x1="{self.ML}" x2="{self.W - self.MR}" y1="{py:.1f}" y2="{py:.1f}"/>')
            out.append(
                f'<text class="tick" x="{self.ML - 6}" y="{py + 4:.1f}" text-anchor="end">{_tick_label(v)}</text>'
            )
        xt = self.xticks if self.xticks is not None else [(v, _tick_label(v)) for v in _ticks(self.x0, self.x1, 8)]
        for v, label in xt:
            px = self.X(v)
            out.append(f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{self.MT}" y2="{self.H - self.MB}"/>')
            out.append(
                f'<text class="tick" x="{px:.1f}" y="{self.H - self.MB + 16}" text-anchor="middle">{esc(label)}</text>'
            )
        out.append(f"<g>{''.join(self.body)}</g>")
        out.append(
            f'<text class="axis" x="{(self.ML + self.W - self.MR) / 2}" y="{self.H - 6}" text-anchor="middle">'
            f"{esc(self.xlabel)}</text>"
        )
        out.append(
            f'<text class="axis" transform="translate(14 {(self.MT + self.H - self.MB) / 2}) rotate(-90)" '
            'text-anchor="middle">'
            f"{esc(self.ylabel)}</text>"
        )
        out.append("</svg>")
        legend = "".join(f'<span class="key"><i class="sw {c}"></i>{esc(t)}</span>' for c, t in self.legend)
        return Markup("".join(out) + (f'<div class="legend">{legend}</div>' if legend else ""))
