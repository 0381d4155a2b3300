"""plan.html: the plan's page as a view-model of the report views' blocks (results/views/blocks.py), drawn by the
same templates as `edgeperf report` (autoescape: nothing here escapes by hand) with the same CSS and no-network
policy. Sections: the decision, the front (chart and table), then one per candidate, each read from a typed Row.
"""

from __future__ import annotations

import json

from edgeperf.planner.decide import Row
from edgeperf.results.views.blocks import KV, Absent, Badge, Card, Cards, Chart, Grid, Heading, Items, Para, markup
from edgeperf.results.views.fmt import ABSENT, num
from edgeperf.results.views.page import Page, Section, render_page
from edgeperf.results.views.svg import Plot

_CARD_CLASS = {"recommended": "good", "dropped": "bad"}
_DOTS = {"c1": "recommended", "c0": "on the Pareto front", "c2": "eligible", "bad": "dropped"}


def _dot(r: Row) -> str:
    if r.status == "recommended":
        return "c1"
    return "c0" if r.on_front else "bad" if r.status == "dropped" else "c2"


def front_chart(rows: list[Row]) -> Chart | Absent:
    """Each profiled candidate as a dot: energy per inference against p99, coloured by what became of it."""
    pts = [r for r in rows if r.p99_us is not None]
    if not pts:
        return Absent("the front", "no candidate was profiled", "front")
    use_e = all(r.mj_per_inference is not None for r in pts)
    xs = [r.p99_us / 1e3 for r in pts]
    ys = [r.mj_per_inference if use_e else 0.0 for r in pts]
    x1, y1 = max(xs) * 1.15, (max(ys) * 1.15 if use_e and max(ys) > 0 else 1.0)
    p = Plot((0, x1), (0, y1), xlabel="p99 latency (ms)", ylabel="energy per inference (mJ)")
    groups: dict[str, list] = {cls: [] for cls in _DOTS}
    for r, x, y in zip(pts, xs, ys, strict=True):
        groups[_dot(r)].append((x, y, f"{r.label}: {r.status} — {r.reason}"))
    for cls, items in groups.items():
        if items:
            p.dots([i[0] for i in items], [i[1] for i in items], cls, _DOTS[cls], titles=[i[2] for i in items])
    note = "each dot a candidate; hover for why it won or lost" + (
        "" if use_e else "; energy not measured for every candidate: drawn at 0"
    )
    return Chart("front", "Energy per inference against p99", p.svg("the front"), "plan", note)


def overview(rows: list[Row]) -> Grid:
    head = ["candidate", "status", "p99 (us)", "mJ/inf", "verdict", "why"]
    cells = [
        [
            markup('<a href="#cand-{}">{}</a>', r.id, r.label),
            r.status + (" (front)" if r.on_front else ""),
            num(r.p99_us),
            num(r.mj_per_inference),
            r.verdict or ABSENT,
            r.reason,
        ]
        for r in rows
    ]
    return Grid(head, [(None, c) for c in cells], corner=None, cls="grid overview")


def candidate(r: Row) -> Section:
    """A candidate's section: its key figures as cards, then why it won or lost and the rest of its figures."""
    e = r.mj_per_inference
    energy = ABSENT if e is None else f"{num(e)} mJ" + (" (estimate)" if r.energy_estimate else "")
    items = [
        Card("status", r.status, f"{r.id}.status", cls=_CARD_CLASS.get(r.status, "")),
        Card("p99", ABSENT if r.p99_us is None else f"{num(r.p99_us / 1e3)} ms", f"{r.id}.p99_us"),
        Card("energy / inference", energy, f"{r.id}.mj_per_inference"),
        Card("deadline misses", ABSENT if r.miss_rate is None else f"{100 * r.miss_rate:.3g}%", f"{r.id}.miss_rate"),
        Card("task", Badge(r.verdict or "not validated", f"{r.id}.verdict"), f"{r.id}.task"),
    ]
    par = r.parity
    kv = [
        ("why", r.reason),
        ("parity", f"{'passed' if par.passed else 'FAILED'} (max error {par.max_abs_error})"),
        ("p50 / p99.9", f"{num(r.p50_us)} us / {num(r.p99_9_us)} us"),
        ("jitter (std)", f"{num(r.jitter_us)} us"),
        ("peak RSS", f"{num(r.peak_rss_mb)} MiB"),
        ("success (original)", f"{num(r.success)} ({num(r.reference_success)})"),
        ("return difference", num(r.return_diff)),
        ("energy source", r.energy_source or r.energy_unmeasured or ABSENT),
    ]
    return Section(f"cand-{r.id}", "", r.label, blocks=[Cards(items), KV(kv)], data={"candidate": r.id})


def decision(doc: dict, rows: list[Row]) -> Section:
    """What was chosen and why (or what binds), the plan's inputs, and the budget CI holds the choice to."""
    d = doc["decision"]
    chosen = next((r for r in rows if r.status == "recommended"), None)
    if chosen is not None:
        said = [Para(markup("<b>Recommended: {}</b> — {}.", chosen.label, chosen.reason), figure_id="recommendation")]
        runner = next((r for r in rows if r.status == "runner-up"), None)
        if runner is not None:
            said.append(Para(f"Runner-up: {runner.label} — {runner.reason}."))
    else:
        why = d["no_recommendation"]["message"] if "no_recommendation" in d else ""
        said = [Para(f"No recommendation: {why}", cls="error", figure_id="recommendation")]
    meta = KV(
        [
            ("source", markup("<code>{}</code>", doc["source"])),
            ("domain", doc["domain"]),
            ("target", json.dumps(doc["target"])),
            ("control rate", f"{num(doc['rate_hz'])} Hz"),
            ("episodes per candidate", num(doc["episodes"])),
            ("rule", d["rule"]),
        ]
    )
    budget = Items([markup("<code>{}</code>", x["text"]) for x in doc["budget"]])
    return Section("decision", "", "Decision", blocks=[*said, meta, Heading("Budget"), budget])


def view(doc: dict) -> Page:
    """plan.json's document as the page's view-model."""
    rows = [Row.from_dict(r) for r in doc["decision"]["candidates"]]
    tgt = doc["target"]
    title = f"edgeperf plan: {doc['source']} on {tgt['name'] or tgt['device']}"
    front = Section("front", "", "Front", blocks=[front_chart(rows), overview(rows)])
    sections = [decision(doc, rows), front, *(candidate(r) for r in rows)]
    return Page(title, [], sections, from_what="plan's step reports (steps/)")


def render(doc: dict) -> str:
    """plan.html's text."""
    return render_page(view(doc))
