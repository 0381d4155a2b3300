"""The views of measure, sim2sim and doctor reports, and of a kind without its own (every figure as a table)."""

from __future__ import annotations

from edgeperf.results.kinds import DoctorResults, Document, Episodes, MeasureResults, Sim2SimResults, Transfer, Trial
from edgeperf.results.record import Record
from edgeperf.results.views import power
from edgeperf.results.views.blocks import KV, Absent, Badge, Card, Cards, Grid, Heading, Items, Para, flat, markup
from edgeperf.results.views.fmt import ABSENT, interval, mib, num, pct
from edgeperf.results.views.run import Run
from edgeperf.results.views.tasks import summary_table

ENVELOPE = ("schema", "run_id", "created_at", "edgeperf_version", "host", "model", "config", "unmeasured", "warnings")


def measure(doc: Document, run: Run) -> list:
    r: MeasureResults = doc.results
    items = [
        Card("exit code", num(r.exit_code), "exit_code"),
        Card("wall", f"{num(r.wall_s)} s", "wall_s"),
        Card("peak tree RSS", mib(r.memory.peak_tree_rss_bytes if r.memory else None), "peak_tree_rss_mib"),
    ]
    out = [Cards(items), Para(markup("command: <code>{}</code>", " ".join(map(str, r.command or []))))]
    if r.power is not None:
        out.append(power.section(r.power))
    else:
        out.append(Absent("power", doc.why("power", "energy", default="not in the report"), "power"))
    return out


def generic(doc: Document, run: Run) -> list:
    """A kind without its own page (devices): every figure it holds, as a table."""
    results = doc.results.to_dict() if isinstance(doc.results, Record) else doc.results
    body = results if isinstance(results, dict) else {k: v for k, v in run.report.items() if k not in ENVELOPE}
    return [KV(flat(body))]


def _shifts(t: Transfer) -> list:
    if not t.metric_shifts:
        return []
    rows = [(k, [num(v.a), num(v.b), num(v.standardized)]) for k, v in t.metric_shifts.items()]
    return [Heading("Metric shifts"), Grid(["A", "B", "pooled SD"], rows)]


def sim2sim(doc: Document, run: Run) -> list:
    """The same policy in two simulators: the verdict, each side's summary, the metric shifts, robustness."""
    r: Sim2SimResults = doc.results
    t = r.transfer or Transfer()
    doms = r.domains
    a, b = ((getattr(doms, side) and getattr(doms, side).id if doms else None) or side.upper() for side in ("a", "b"))
    items = [
        Card("verdict (B against A)", Badge(t.verdict, "sim2sim_verdict"), "sim2sim_verdict_card"),
        Card(
            "return B - A",
            num(t.return_difference),
            "return_difference",
            f"90% CI {interval(t.return_difference_ci90)}",
        ),
    ]
    if t.has("success_rate_difference"):
        sub = f"90% CI {interval(t.success_difference_ci90, 100)}"
        items.append(Card("success B - A", f"{pct(t.success_rate_difference)} points", "success_difference", sub))
    if t.moved_most:
        m = (t.metric_shifts or {}).get(t.moved_most)
        sub = (
            f"{num(m.a)} -> {num(m.b)} ({num(m.standardized)} pooled SD)"
            if m
            else f"{ABSENT} -> {ABSENT} ({ABSENT} pooled SD)"
        )
        items.append(Card("moved most", t.moved_most, "moved_most", sub))
    out = [Cards(items), Para(markup("A: <code>{}</code> · B: <code>{}</code>", a, b))]
    out.append(summary_table({"A": r.a or Episodes(), "B": r.b or Episodes()}))
    out += _shifts(t)
    rob = r.robustness
    if rob is not None and rob.levels:
        cells = [
            [num(x.level), f"{pct(x.success_rate)}%", interval(x.success_ci95, 100) + "%", num(x.falls)]
            for x in rob.levels
        ]
        rows = [(None, c) for c in cells]
        out += [
            Heading(f"Robustness in {rob.domain}: success against {rob.what}"),
            Grid(["level", "success", "95% CI", "falls"], rows, corner=None),
        ]
    if r.failures:
        lines = [f"{f.domain} seed {num(f.seed)}: {f.reason}" for f in r.failures[:10]]
        out += [Heading("Failed episodes"), Items(lines)]
    return out


def _tally(t: Trial | None) -> str:
    return f"{num(t.successes)}/{num(t.episodes)}" if t is not None else ABSENT


def doctor(doc: Document, run: Run) -> list:
    """Why the policy fails: the verdict in words, what was tried best first, the recording's term checks."""
    r: DoctorResults = doc.results
    b = r.baseline or Trial()
    s = r.search
    items = [
        Card("doctor", Badge(r.verdict, "doctor_verdict"), "doctor_verdict_card"),
        Card(
            "success as given", f"{num(b.successes)} / {num(b.episodes)}", "baseline_success", f"{num(b.falls)} falls"
        ),
    ]
    if s is not None and s.has("candidates"):
        items.append(
            Card("searched", f"{pct(s.coverage)}%", "coverage", f"{num(s.tried)} of {num(s.candidates)} candidates")
        )
    out = [Cards(items), Para(str(r.summary))]
    rows = []
    for i, f in enumerate((r.findings or ())[:10], 1):
        best = f.confirm or f.screen
        rows.append(
            (
                None,
                [
                    str(i),
                    str(f.family),
                    str(f.fix),
                    _tally(f.screen),
                    _tally(f.confirm),
                    num(best.mean_return if best else None),
                ],
            )
        )
    if rows:
        head = ["#", "family", "fix", "screen", "all seeds", "return"]
        out += [Heading("What was tried, best first"), Grid(head, rows, corner=None)]
    terms = r.recording.terms if r.recording is not None else None
    if terms:
        said = [
            (t.term, [num(t.max_error), str(t.skipped or ("matches" if t.matches else t.explanation))]) for t in terms
        ]
        out += [Heading("The recording, term by term"), Grid([], said, corner=None)]
    return out
