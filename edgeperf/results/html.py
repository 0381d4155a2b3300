"""`edgeperf report`: one self-contained HTML page of one or more runs (the page: edgeperf/results/views/).

This module is the page's public face: `render`, `Run`, and the pieces a page assembled elsewhere uses (the plan's:
`Plot`, `figure`, `absent`, `card`, `cards`, `kv_table`, `verdict_badge`, `esc`, `num`, `CSS`, `CSP`).
The string pieces take HTML (what a caller built with `esc`); the report's own views hold plain text in blocks and
the templates escape it.
"""

from __future__ import annotations

from markupsafe import Markup

from edgeperf.results.views.blocks import KV, Absent, Badge, Card, Chart
from edgeperf.results.views.fmt import esc, mib, num
from edgeperf.results.views.latency import TIMELINE_BINS
from edgeperf.results.views.page import CSP, css, draw, environment, kind_of, render
from edgeperf.results.views.run import Run
from edgeperf.results.views.svg import Plot

__all__ = ["CSP", "TIMELINE_BINS", "Plot", "Run", "absent", "card", "cards", "esc", "figure", "kind_of", "kv_table",
           "mib", "num", "render", "verdict_badge"]  # fmt: skip


def __getattr__(name: str):
    if name == "CSS":  # the stylesheet file, read when asked for
        return css()
    raise AttributeError(name)


def figure(name: str, title: str, body: str, *, source: str, note: str = "") -> Markup:
    """A chart (`body`: the SVG of Plot.svg) with its title and a line that says what it is drawn from."""
    return draw(Chart(name, title, Markup(body), source, note))


def absent(what: str, why: str, name: str = "") -> Markup:
    """A figure or chart that is not there: what it is and why, never a 0 in its place."""
    return draw(Absent(what, why, name))


def card(label: str, value: str, figure_id: str, sub: str = "", cls: str = "") -> Markup:
    """A key figure; `value` and `sub` are HTML (escape what came from outside with `esc`)."""
    macro = environment().get_template("blocks.html.j2").module.card
    return macro(Card(label, Markup(value), figure_id, Markup(sub), cls))


def cards(items: list[str]) -> Markup:
    return Markup('<div class="cards">{}</div>').format(Markup("".join(items)))


def kv_table(rows: list[tuple[str, str]], cls: str = "kv") -> Markup:
    """(name, HTML value) rows as a table."""
    return draw(KV([(k, Markup(v)) for k, v in rows], cls))


def verdict_badge(verdict: str | None, figure_id: str = "verdict") -> Markup:
    return draw(Badge(verdict, figure_id))
