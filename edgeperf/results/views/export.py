"""The view of an export report: parity (per action dimension, and per step for a recurrent policy), size, time."""

from __future__ import annotations

from edgeperf.results.kinds import Document, ExportResults, Parity, RecurrentParity, Tolerance
from edgeperf.results.views.blocks import KV, Absent, Badge, Card, Cards, Chart, Heading, flat
from edgeperf.results.views.fmt import ABSENT, is_number, num
from edgeperf.results.views.run import Run
from edgeperf.results.views.svg import Plot


def view(doc: Document, run: Run) -> list:
    r: ExportResults = doc.results
    par = r.parity
    items = [
        Card("size", f"{num(r.size_bytes / 1024)} KiB" if r.size_bytes else ABSENT, "size_kib"),
        Card("export time", f"{num(r.export_s)} s", "export_s"),
    ]
    out: list = []
    if par is not None:
        verdict = Badge("passed" if par.passed else "FAILED", "parity")
        items.insert(0, Card("parity", verdict, "parity_verdict", f"on {num(par.observations)} observations"))
        items.append(Card("max |error|", num(par.max_abs_error), "max_abs_error", par.units or ""))
        items.append(Card("p99 |error|", num(par.p99_abs_error), "p99_abs_error"))
        out.append(Cards(items))
        out.append(per_dim(par))
        if par.recurrent is not None:
            out.append(per_step(par.recurrent, par.tolerance or Tolerance()))
        out.append(KV([(k, v) for k, v in flat(par.to_dict()) if not k.endswith(("_per_dim", "_per_step"))]))
    else:
        out.append(Cards(items))
        out.append(Absent("parity", doc.why("parity", default="not checked (export --no-check)"), "parity"))
    if r.spaces:
        out += [Heading("Spaces"), KV(flat(r.spaces))]
    return out


def per_dim(par: Parity) -> Chart | Absent:
    """The parity error of each action dimension against the absolute part of the tolerance."""
    mx, p99 = par.max_abs_error_per_dim or [], par.p99_abs_error_per_dim or []
    if not mx:
        return Absent("parity per dimension", "the report holds no per-dimension errors", "parity-per-dim")
    tol = par.tolerance or Tolerance()
    scale = tol.scale_per_dim or []
    n = len(mx)
    allowed = [(tol.atol or 0) * (scale[i] if i < len(scale) else 1) for i in range(n)]
    vals = [v for v in [*mx, *p99, *allowed] if is_number(v) and v > 0]
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
    lefts = [i + 0.1 for i in range(n)]
    plot.bars(
        lefts,
        [i + 0.5 for i in range(n)],
        mx,
        "c3",
        "max |error|",
        [f"dim {i}: max {num(v)}" for i, v in enumerate(mx)],
    )
    if p99:
        titles = [f"dim {i}: p99 {num(v)}" for i, v in enumerate(p99)]
        plot.bars([i + 0.5 for i in range(n)], [i + 0.9 for i in range(n)], p99, "c0", "p99 |error|", titles)
    if any(allowed):
        label = f"absolute part of the tolerance (atol {num(tol.atol)} x scale)"
        plot.line([x for i in range(n) for x in (i, i + 1)], [a for a in allowed for _ in (0, 1)], "dl", label)
    return Chart(
        "parity-per-dim",
        "Parity error per action dimension",
        plot.svg("parity per dimension"),
        "report",
        str(tol.rule or ""),
    )


def per_step(rec: RecurrentParity, tol: Tolerance) -> Chart | Absent:
    """A recurrent policy's parity over sequences: the error at each step, so that drift shows."""
    per = [v for v in rec.max_abs_error_per_step or [] if is_number(v)]
    if not per:
        return Absent("parity per step", "the report holds no per-step errors", "parity-per-step")
    positive = [v for v in per if v > 0]
    logy = bool(positive) and max(positive) / min(positive) > 30
    lo = min(positive) / 3 if logy else 0
    hi = max([*per, tol.atol or 0]) * (3 if logy else 1.2) or 1e-9
    plot = Plot(
        (0, max(len(per) - 1, 1)),
        (lo, hi),
        xlabel="step of the sequence",
        ylabel="max |artifact - original|" + (" (log)" if logy else ""),
        logy=logy,
    )
    plot.line(range(len(per)), per, "c3", f"max |error| over {num(rec.sequences)} sequences")
    if tol.atol:
        plot.hline(tol.atol, "dl", f"atol {num(tol.atol)}")
    return Chart(
        "parity-per-step",
        f"Recurrent parity ({rec.kind or '?'}): error at each step",
        plot.svg("parity per step"),
        "report",
        f"drift ratio {num(rec.drift_ratio)} ({rec.drift_rule or ''})",
    )
