"""View-models shared by the terminal (results/render.py) and the HTML page: the summary table of policies side
by side (validate's reference/deployed, hil's SIL/HIL, sim2sim's A/B) and the paired verdict. Each says which rows
and figures there are, once; the terminal and the page only format them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from edgeperf.results.kinds import Episodes, Paired


@dataclass(frozen=True)
class SummaryRow:
    label: str
    what: str  # how a cell is formatted: count, success, return, number
    cells: list  # one per column: a number, a (rate, ci95) pair, a (mean, ci95) pair, or None


def episodes(block) -> Episodes:
    """A side of the summary, from its typed block or its dict."""
    return block if isinstance(block, Episodes) else Episodes.from_dict(block or {})


def summary(columns: dict[str, Episodes | dict]) -> list[SummaryRow]:
    """The rows of the summary table: task figures of each policy, and the metrics every column has."""
    cols = [episodes(c) for c in columns.values()]

    def row(label: str, what: str, get: Callable[[Episodes], object]) -> SummaryRow:
        return SummaryRow(label, what, [get(s) for s in cols])

    rel = [s.reliability for s in cols]
    rows = [
        row("episodes", "count", lambda s: s.episodes),
        row(
            "success (95% CI)", "success", lambda s: (s.success_rate, s.success_ci95) if s.has("success_rate") else None
        ),
        row("falls", "count", lambda s: s.falls),
        row("return (95% CI)", "return", lambda s: (s.return_.mean, s.return_.ci95) if s.return_ else (None, None)),
        SummaryRow("dispersion (IQR)", "number", [r.dispersion_iqr if r else None for r in rel]),
        SummaryRow("risk (CVaR 5%)", "number", [r.risk_cvar5 if r else None for r in rel]),
    ]
    common = set.intersection(*(set(s.metrics or {}) for s in cols)) - {"return"} if cols else set()
    rows += [row(k.replace("_", " "), "metric", lambda s, k=k: s.metrics[k]) for k in sorted(common)]
    return rows


@dataclass(frozen=True)
class Verdict:
    """The paired verdict in the figures both views show."""

    verdict: str | None
    difference: float | None
    ci90: list | None
    margin: float | None
    margin_source: str | None
    basis: str | None
    success_pairs: int | None  # pairs where exactly one policy succeeded (None: the domain has no criterion)
    mcnemar_p: float | None
    episodes_needed: int | None


def verdict(p: Paired | dict) -> Verdict:
    p = p if isinstance(p, Paired) else Paired.from_dict(p or {})
    judged = p.success_mcnemar_p is not None or p.has("success_mcnemar_p")
    pairs = (p.success_only_reference or 0) + (p.success_only_deployed or 0) if judged else None
    return Verdict(
        p.verdict,
        p.mean_return_difference,
        p.ci90,
        p.margin,
        p.margin_source,
        p.basis,
        pairs,
        p.success_mcnemar_p,
        p.episodes_needed,
    )
