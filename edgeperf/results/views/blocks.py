"""The building blocks of a report view: what a section shows, as data. The templates (templates/blocks.html.j2)
draw each kind of block; text is escaped there (autoescape), so a view-model holds plain strings and only the
SVG of a chart (drawn by svg.Plot, which escapes its labels) and `markup()` pieces are HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from edgeperf.results.views.fmt import num

Text = str | Markup  # a Markup value is HTML already (a badge, a chart); a str is text, escaped when drawn


@dataclass(frozen=True)
class Card:
    label: str
    value: Text
    figure_id: str
    sub: Text = ""
    cls: str = ""


@dataclass(frozen=True)
class Badge:
    """A verdict in colour: good, bad, or neither."""

    verdict: str | None
    figure_id: str = "verdict"
    kind = "badge"

    @property
    def cls(self) -> str:
        good, bad = ("equivalent", "passed", "transfers"), ("different", "FAILED", "fails")
        return "good" if self.verdict in good else "bad" if self.verdict in bad else "warn"


@dataclass(frozen=True)
class Cards:
    items: list[Card]
    kind = "cards"


@dataclass(frozen=True)
class KV:
    """A table of (name, value) rows; a value is text, Markup, or a block (a Records table)."""

    rows: list[tuple[str, Any]]
    cls: str = "kv"
    kind = "kv"


@dataclass(frozen=True)
class Grid:
    """A table with a header row: each row a header cell and its values."""

    head: list[str]
    rows: list[tuple[str, list[Any]]]
    corner: str = ""
    cls: str = "grid"
    kind = "grid"


@dataclass(frozen=True)
class Records:
    """A list of records, one row each, a column per key."""

    columns: list[str]
    rows: list[list[str]]
    kind = "records"


@dataclass(frozen=True)
class Chart:
    """A chart with its title and a line that says what it is drawn from (samples, percentiles, summary...)."""

    name: str
    title: str
    svg: Markup
    source: str
    note: str = ""
    kind = "chart"


@dataclass(frozen=True)
class Absent:
    """A figure or chart the report does not hold: what and why, never a 0 in its place."""

    what: str
    why: str
    name: str = ""
    kind = "absent"


@dataclass(frozen=True)
class Heading:
    text: str
    kind = "heading"


@dataclass(frozen=True)
class Para:
    text: Text
    cls: str = ""
    figure_id: str = ""
    kind = "para"


@dataclass(frozen=True)
class Pre:
    """Preformatted text (the whole report as JSON)."""

    text: str
    kind = "pre"


@dataclass(frozen=True)
class Items:
    """A list of lines (failed episodes)."""

    items: list[str]
    kind = "items"


@dataclass(frozen=True)
class Details:
    """A block folded under a summary line."""

    summary: str
    body: Any
    kind = "details"


@dataclass(frozen=True)
class Group:
    """Blocks under a heading in their own sub-section (power)."""

    title: str
    blocks: list[Any] = field(default_factory=list)
    kind = "group"


def markup(template: str, *args) -> Markup:
    """A small piece of HTML with its arguments escaped: markup('<code>{}</code>', path)."""
    return Markup(template).format(*args)


def flat(d, prefix: str = "") -> list[tuple[str, Any]]:
    """A nested mapping as (dotted key, value) rows: numbers for people, lists of records as a table."""
    rows: list[tuple[str, Any]] = []
    if not isinstance(d, dict):
        return [(prefix or "value", json.dumps(d))]
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and v:
            rows += flat(v, key)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            rows.append((key, num(v)))
        elif isinstance(v, str):
            rows.append((key, v))
        elif isinstance(v, list) and v and len(v) <= 500 and all(isinstance(x, dict) for x in v):
            rows.append((key, records(v)))  # e.g. each training run of a reliability report
        else:
            rows.append((key, json.dumps(v)))
    return rows


def records(items: list[dict]) -> Records:
    cols = list(dict.fromkeys(k for x in items for k in x))

    def cell(v) -> str:
        if v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)):
            return num(v)
        return v if isinstance(v, str) else json.dumps(v, default=str)

    return Records(cols, [[cell(x[c]) if c in x else num(None) for c in cols] for x in items])
