"""The views of task reports on the page: validate and hil (the summary table and the verdict from shared.py),
the paired returns and the latency sweep."""

from __future__ import annotations

from edgeperf.results.kinds import Document, Episodes, HilResults, LatencySweep, Link, PerEpisode, ValidateResults
from edgeperf.results.views import shared
from edgeperf.results.views.blocks import KV, Absent, Badge, Card, Cards, Chart, Grid, Heading, Para, flat
from edgeperf.results.views.fmt import ABSENT, interval, is_number, num, pct_label
from edgeperf.results.views.latency import LATENCY_KEYS
from edgeperf.results.views.run import Run
from edgeperf.results.views.svg import Plot


def _cell(what: str, v) -> str:
    if what == "success":
        return "no criterion" if v is None else f"{num(100 * v[0] if is_number(v[0]) else v[0])}% {interval(v[1], 100)}"
    if what == "return":
        return f"{num(v[0])} {interval(v[1])}"
    return num(v)


def summary_table(columns: dict) -> Grid:
    """The summary table (shared.summary) on the page."""
    return Grid(list(columns), [(r.label, [_cell(r.what, c) for c in r.cells]) for r in shared.summary(columns)])


def verdict_block(p) -> KV:
    """The paired verdict (shared.verdict) on the page."""
    v = shared.verdict(p)
    rows = [
        ("mean return difference", num(v.difference)),
        ("90% CI", interval(v.ci90)),
        ("equivalence margin", f"±{num(v.margin)}" + (f" ({v.margin_source})" if v.margin_source else "")),
        ("basis", v.basis or ""),
    ]
    if v.success_pairs is not None:
        rows.append(("success differs in", f"{num(v.success_pairs)} pairs (McNemar p {num(v.mcnemar_p)})"))
    if v.episodes_needed:
        rows.append(("episodes needed for a verdict", num(v.episodes_needed)))
    return KV(rows)


def paired_returns(per: PerEpisode | None, sides: dict[str, Episodes | None]) -> Chart | Absent:
    """Each episode's return under policy a against policy b on the same seed; on the diagonal, the same."""
    (a, sa), (b, sb) = sides.items()
    ra, rb = (per.at(a), per.at(b)) if per is not None else (None, None)
    if isinstance(ra, list) and isinstance(rb, list) and ra and len(ra) == len(rb):
        vals = [float(v) for v in ra + rb if is_number(v)]
        lo, hi = min(vals), max(vals)
        pad = (hi - lo) * 0.08 or 1
        plot = Plot((lo - pad, hi + pad), (lo - pad, hi + pad), xlabel=f"{a} return", ylabel=f"{b} return")
        plot.line([lo - pad, hi + pad], [lo - pad, hi + pad], "muted", "same return (diagonal)")
        seeds = per.seeds or list(range(len(ra)))
        titles = [f"seed {s}: {a} {num(x)}, {b} {num(y)}" for s, x, y in zip(seeds, ra, rb, strict=False)]
        plot.dots(ra, rb, "c0", "one seed", titles=titles)
        title = f"Paired returns: {a} against {b}, episode by episode"
        return Chart("paired-returns", title, plot.svg("paired returns"), "episodes")
    rets = [s.return_ if s is not None else None for s in (sa, sb)]
    means = [r.mean if r is not None else None for r in rets]
    cis = [(r.ci95 if r is not None else None) or [None, None] for r in rets]
    if None in means:
        return Absent("paired returns", "the report holds no returns", "paired-returns")
    vals = [v for v in [*means, *(c for ci in cis for c in ci)] if is_number(v)]
    lo, hi = min(vals), max(vals)
    pad = (hi - lo) * 0.1 or 1
    plot = Plot((0, 2), (lo - pad, hi + pad), xlabel="policy", ylabel="mean return", xticks=[(0.5, a), (1.5, b)])
    for i, (m, ci) in enumerate(zip(means, cis, strict=True)):
        if None not in ci:
            plot.line([i + 0.5, i + 0.5], ci, "c0")
        plot.dots([i + 0.5], [m], "c0", titles=[f"{(a, b)[i]}: mean {num(m)}, 95% CI {interval(ci)}"])
    plot.legend.append(("c0", "mean return and its 95% CI"))
    note = (
        "This report holds each policy's mean return, not the return of every episode (reports from edgeperf "
        "versions before per-episode returns were recorded)."
    )
    return Chart("paired-returns", f"Returns: {a} and {b}", plot.svg("returns"), "summary", note)


def latency_sweep(sw: LatencySweep) -> Chart | Absent:
    pts = [p for p in sw.points or () if p.latency_ms is not None]
    if not pts:
        return Absent("latency sweep", "the sweep holds no points", "latency-sweep")
    x = [p.latency_ms for p in pts]
    hi_x = max(x) or 1
    if all(p.has("success_rate") for p in pts):
        plot = Plot((min(x), hi_x), (0, 105), xlabel="latency in the loop (ms)", ylabel="success rate (%)")
        cis = [p.success_ci95 or [p.success_rate] * 2 for p in pts]
        plot.band(x, [100 * c[0] for c in cis], [100 * c[1] for c in cis], "c0", "95% CI")
        ys = [100 * p.success_rate for p in pts]
        plot.line(x, ys, "c0", "success rate")
        titles = [
            f"{num(p.latency_ms)} ms: success {num(100 * p.success_rate)}%, mean return {num(p.mean_return)}, "
            f"falls {p.falls}"
            for p in pts
        ]
        plot.dots(x, ys, "c0", titles=titles)
        what = "success rate"
    else:
        ys = [p.mean_return or 0 for p in pts]
        pad = (max(ys) - min(ys)) * 0.1 or 1
        plot = Plot(
            (min(x), hi_x), (min(ys) - pad, max(ys) + pad), xlabel="latency in the loop (ms)", ylabel="mean return"
        )
        plot.line(x, ys, "c0", "mean return")
        plot.dots(x, ys, "c0", titles=[f"{num(p.latency_ms)} ms: mean return {num(p.mean_return)}" for p in pts])
        what = "mean return (the domain has no success criterion)"
    fails = sw.fails_from_ms
    if fails is not None:
        plot.vline(fails, "dl", f"the task fails from {num(fails)} ms")
    held = fails is not None or not pts[0].has("success_rate")
    note = f"rule: {sw.rule or ''}" + ("" if held else "; the task did not fail at any latency swept")
    title = f"Latency in the loop: {what} against a constant latency"
    return Chart("latency-sweep", title, plot.svg("latency sweep"), "sweep", note)


def validate(doc: Document, run: Run) -> list:
    r: ValidateResults = doc.results
    p = r.paired
    ref, dep = r.reference or Episodes(), r.deployed or Episodes()
    items = [Card("verdict", Badge(p.verdict if p else None), "verdict_card", (p.basis if p else None) or "")]
    for name, s in (("reference", ref), ("deployed", dep)):
        if s.has("success_rate"):
            items.append(
                Card(
                    f"{name} success",
                    f"{num(100 * s.success_rate)}%",
                    f"{name}_success",
                    f"of {num(s.episodes)} episodes",
                )
            )
        else:
            why = doc.why("success", default="no success criterion")
            items.append(Card(f"{name} success", "not measured", f"{name}_success", why, "absent"))
    diff, margin = (p.mean_return_difference, p.margin) if p else (None, None)
    items.append(Card("return difference", num(diff), "return_difference", f"margin ±{num(margin)}"))
    out = [Cards(items), summary_table({"reference": ref, "deployed": dep}), verdict_block(p)]
    out.append(paired_returns(r.per_episode, {"reference": ref, "deployed": dep}))
    if r.action_divergence is not None and r.action_divergence.keys:
        out += [Heading("Action divergence"), KV(flat(r.action_divergence.to_dict()))]
    out.append(Heading("Latency in the loop"))
    if r.latency is not None:
        out.append(Para(r.latency.source or ""))
    else:
        out.append(Para("none: actions were applied at once (no --latency)", "note"))
    if r.latency_sweep is not None:
        out.append(latency_sweep(r.latency_sweep))
    else:
        out.append(Absent("latency sweep", "this validation ran without --latency-sweep", "latency-sweep"))
    if r.failures:
        rows = [(None, [str(f.seed), str(f.policy), str(f.reason)]) for f in r.failures]
        out += [Heading("Failed episodes"), Grid(["seed", "policy", "why"], rows, corner=None)]
    return out


LINK_BLOCKS = ("round_trip_us", "network_us", "server_us", "inference_us")


def _link_chart(link: Link, blocks: list) -> Chart | None:
    """The four percentiles of each part of the round trip, side by side."""
    pk = [k for k in ("p50", "p90", "p99", "max") if all(is_number(s.at(k)) for _, s in blocks)]
    vals = [s.at(k) for _, s in blocks for k in pk]
    if not (pk and vals):
        return None
    n = len(blocks)
    plot = Plot(
        (0, n),
        (max(min(vals) / 2, 1e-3), max([*vals, 1e3 * (link.deadline_ms or 0)]) * 1.5),
        xlabel="",
        ylabel="us (log)",
        logy=True,
        xticks=[(i + 0.5, k.removesuffix("_us").replace("_", " ")) for i, (k, _) in enumerate(blocks)],
    )
    w = 0.8 / len(pk)
    for j, k in enumerate(pk):
        lefts = [i + 0.1 + j * w for i in range(n)]
        rights = [i + 0.1 + (j + 1) * w for i in range(n)]
        titles = [f"{name} {k}: {num(s.at(k))} us" for name, s in blocks]
        plot.bars(lefts, rights, [s.at(k) for _, s in blocks], f"c{j}", pct_label(k), titles)
    if link.deadline_ms:
        plot.hline(link.deadline_ms * 1e3, "dl", f"deadline {num(link.deadline_ms)} ms")
    return Chart("hil-link", "Where the round trip goes", plot.svg("hil link"), "summary")


def hil(doc: Document, run: Run) -> list:
    r: HilResults = doc.results
    link, p = r.link or Link(), r.paired
    rtt = link.round_trip_us
    chunked = link.has("queries")
    items = [Card("verdict (HIL vs SIL)", Badge(p.verdict), "verdict_card")] if p is not None and p.keys else []
    miss_sub = (f"deadline {num(link.deadline_ms)} ms" if not chunked else "no reply within H steps") + (
        f" · longest streak {num(link.longest_miss_streak)}"
    )
    exchanges = link.steps if link.has("steps") else link.queries
    items += [
        Card(
            "round trip p99",
            f"{num(rtt.p99)} us" if rtt and rtt.keys else ABSENT,
            "rtt_p99_us",
            f"p50 {num(rtt.p50)} us" if rtt and rtt.keys else "no action came back",
        ),
        Card(
            "deadline misses" if not chunked else "chunk queries missed",
            f"{num(link.misses)} / {num(exchanges)}",
            "hil_misses",
            miss_sub,
            "bad" if link.misses else "good",
        ),
        Card("stale replies", num(link.stale_replies), "stale_replies"),
        Card("reconnects", num(link.reconnects), "reconnects"),
    ]
    out: list = [Cards(items)]
    cols = {k.upper(): s for k, s in (("sil", r.sil), ("hil", r.hil)) if s is not None}
    if cols:
        out.append(summary_table(cols))
    if p is not None and p.keys:
        out += [verdict_block(p), paired_returns(r.per_episode, {"sil": r.sil, "hil": r.hil})]
    else:
        out.append(Absent("HIL against SIL", doc.why("sil", default="no SIL run"), "paired-returns"))
    blocks = [(k, link.at(k)) for k in LINK_BLOCKS if link.at(k) is not None]
    if blocks:
        keys = ["mean", *LATENCY_KEYS]
        # and, where the report has them, how late the stale replies came and the loop's own start delay
        extra = [(k, link.at(k)) for k in ("stale_round_trip_us", "loop_start_delay_us") if link.at(k) is not None]
        rows = [(k.removesuffix("_us").replace("_", " "), [num(s.at(c)) for c in keys]) for k, s in blocks + extra]
        out += [Heading("Link timings"), Grid([pct_label(k) for k in keys], rows, corner="us")]
        chart = _link_chart(link, blocks)
        if chart is not None:
            out.append(chart)
    plain = {k: v for k, v in link.to_dict().items() if not k.endswith("_us")}
    out += [Heading("Link"), KV(flat(plain))]
    if r.server is not None:
        out += [Heading("Server"), KV(flat(r.server))]
    return out
