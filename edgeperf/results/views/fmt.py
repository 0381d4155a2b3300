"""Numbers for people, the same in the terminal and on the page: an absent figure is never a 0."""

from __future__ import annotations

import math

from markupsafe import Markup, escape

ABSENT = "—"


def esc(value) -> Markup:
    """`value` as HTML text (for the few pieces built in Python: the SVG, and callers of the string API)."""
    return escape(str(value)) if not isinstance(value, Markup) else value


def num(v, digits: int = 4) -> str:
    """A figure for people: 4 significant digits, thousands kept whole; None is not a number and never 0."""
    if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
        return ABSENT if v is None else str(v)
    if isinstance(v, int):
        return f"{v:,}"
    if not math.isfinite(v):
        return ABSENT
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e7):
        return f"{v:.{digits - 1}e}"
    if abs(v) >= 10 ** (digits - 1):
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def mib(n) -> str:
    """Bytes as MiB; an absent figure stays absent."""
    return f"{num(n / 2**20)} MiB" if is_number(n) else ABSENT


def pct(v) -> str:
    """A rate as percent points (0.25 -> '25'); absent stays absent."""
    return num(100 * v) if is_number(v) else ABSENT


def pct_label(key: str) -> str:
    """'p99_9' -> 'p99.9'."""
    return key.replace("_", ".")


def interval(ci, scale: float = 1.0) -> str:
    """'[lo, hi]' of a confidence interval; a missing bound shows as absent."""
    lo, hi = [*ci, None, None][:2] if isinstance(ci, (list, tuple)) else (None, None)
    return f"[{num(lo * scale if is_number(lo) else lo)}, {num(hi * scale if is_number(hi) else hi)}]"
