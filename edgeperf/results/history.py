"""`edgeperf history`: the runs of the store as a table (key figures per kind, a trend against the previous run of
the same series: model, device, kind, backend, precision, domain, variant), as JSON rows, or as a figure over
time. matplotlib is imported only by `plot`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from edgeperf.errors import BadInput, require
from edgeperf.results import figures
from edgeperf.results.io import atomic_open
from edgeperf.results.store import Row

# A trend within this relative change is shown as flat: run-to-run drift, not a change (see compare.py).
FLAT = 0.02


def trend(kind: str, now: dict, before: dict | None) -> tuple[str, str]:
    """The trend cell and its style: the change of the kind's trend figure since the previous run."""
    name = figures.TREND.get(kind)
    if name is None or before is None:
        return ("first" if before is None else "", "dim")
    spec = figures.FIGURES[kind][name]
    a, b = before.get(name), now.get(name)
    if a is None or b is None:
        return ("", "dim")
    if isinstance(a, str) or isinstance(b, str) or isinstance(a, bool) or isinstance(b, bool):
        return ("=" if a == b else f"was {figures.show(kind, name, a)}", "dim" if a == b else "yellow")
    if a == b:
        return (f"{spec.label} =", "dim")
    rel = (b - a) / abs(a) if a else None
    text = f"{spec.label} {'+' if b > a else ''}{100 * rel:.1f}%" if rel is not None else f"{spec.label} {b - a:+.3g}"
    if rel is not None and abs(rel) < FLAT:
        return (text, "dim")
    worse = (b > a) if spec.better == "lower" else (b < a) if spec.better == "higher" else None
    return (text, "red" if worse else "green" if worse is not None else "yellow")


def _when(stamp: str) -> str:
    return stamp.replace("T", " ")[:16]


def table(rows: list[Row], out: Console, db: Path) -> None:
    if not rows:
        out.print(f"no runs in {escape(str(db))} match")
        return
    if not out.is_terminal:
        out.width = max(out.width, 160)  # a file or a pipe: one run a line rather than folded cells
    kinds = {r.kind for r in rows}
    one = next(iter(kinds)) if len(kinds) == 1 else None
    t = Table(title=escape(f"{len(rows)} run(s), newest first — {db}"))
    cols = ("time (UTC)", "run", *(() if one else ("kind",)), "model", "device", "setup")
    for c in cols:
        t.add_column(c, no_wrap=c in ("time (UTC)", "run"))
    heads = figures.HEADLINE[one] if one else ()
    for name in heads:
        spec = figures.FIGURES[one][name]
        t.add_column(spec.label + (f" ({spec.unit})" if spec.unit else ""), justify="right")
    if not one:
        t.add_column("figures")
    t.add_column("trend", justify="right")
    for r in rows:
        setup = " ".join(x for x in (r.backend, r.precision, r.domain, r.variant) if x) or "-"
        cells = [_when(r.created_at), r.run_id[:8], *(() if one else (r.kind,))]
        cells += [escape(r.model_name or "-"), escape(r.device or "-"), escape(setup)]
        if one:
            cells += [_cell(one, n, r.figures) for n in heads]
        else:
            cells.append(
                ", ".join(
                    f"{figures.FIGURES[r.kind][n].label} {_cell(r.kind, n, r.figures, unit=True)}"
                    for n in figures.HEADLINE.get(r.kind, ())
                    if r.figures.get(n) is not None
                )
            )
        text, style = trend(r.kind, r.figures, r.previous)
        cells.append(f"[{style}]{escape(text)}[/{style}]" if text else "")
        t.add_row(*cells)
    out.print(t)


def _cell(kind: str, name: str, figs: dict, unit: bool = False) -> str:
    v = figs.get(name)
    if v is None:
        return "-"
    spec = figures.FIGURES[kind][name]
    if isinstance(v, (bool, str)):
        s = figures.show(kind, name, v)
    else:
        s = format(v, spec.fmt) + (f" {spec.unit}" if unit and spec.unit else "")
    return escape(s) + (" (est.)" if figs.get(f"{name}.estimate") else "")


def plot(rows: list[Row], path: str | Path, figure: str | None = None) -> None:
    """Each series (model, device, kind) of `figure` (default: the kind's trend figure) over time, as PNG."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise BadInput(f"--plot {path}: give a .png file name")
    kinds = sorted({r.kind for r in rows})
    if not rows:
        raise BadInput("--plot: no runs match, nothing to draw")
    if figure is not None:
        bad = [k for k in kinds if figure not in figures.FIGURES.get(k, {})]
        if bad:
            known = sorted({n for k in kinds for n in figures.FIGURES.get(k, {})})
            raise BadInput(f"--figure {figure!r} is not a figure of {', '.join(bad)} runs; known: {', '.join(known)}")
    mpl = require("matplotlib", "plot", "to draw plots")
    mpl.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(kinds), 1, figsize=(10, 3.5 * len(kinds)), constrained_layout=True, squeeze=False)
    for ax, kind in zip(axes[:, 0], kinds, strict=True):
        name = figure or figures.TREND[kind]
        spec = figures.FIGURES[kind][name]
        series: dict[tuple, list] = {}
        for r in rows:
            v = r.figures.get(name) if r.kind == kind else None
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                key = (r.model_name or "?", (r.model_sha256 or "")[:8], r.device or "?")
                series.setdefault(key, []).append((dt.datetime.fromisoformat(r.created_at), v))
        for (model, sha, device), pts in sorted(series.items()):
            pts.sort()
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", markersize=3, label=f"{model} {sha} on {device}")
        ax.set_title(f"{kind}: {spec.label}")
        ax.set_ylabel(spec.unit or spec.label)
        if series:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, f"no run carries {name}", ha="center", transform=ax.transAxes)
    try:
        with atomic_open(path) as f:
            fig.savefig(f, format="png", dpi=100)
    finally:
        plt.close(fig)
