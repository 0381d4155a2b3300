"""`edgeperf report`: one self-contained HTML page of one or more runs, drawn by Jinja2 templates (autoescape on).

Each report kind has a view (a function: typed report -> blocks) in this package; the page is its sections, an
overview table, and the CSS (style.css) inlined, under a Content-Security-Policy that allows no network. A figure
a report does not hold is shown with the reason it gives (report.unmeasured), never as 0.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
from markupsafe import Markup

from edgeperf._version import __version__
from edgeperf.results.kinds import Document, Host, Named
from edgeperf.results.views import export, latency, others, profile, tasks
from edgeperf.results.views.blocks import KV, Absent, Details, Grid, Pre, flat, markup
from edgeperf.results.views.fmt import num
from edgeperf.results.views.run import Run

# No network, ever: not even a hostile string that slipped past escaping could load or send anything.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# Report kind -> its view. A new kind: a module with a `view(doc, run) -> blocks`, and a line here.
VIEWS: dict[str, Callable[[Document, Run], list]] = {
    "doctor": others.doctor,
    "sim2sim": others.sim2sim,
    "profile": profile.view,
    "export": export.view,
    "validate": tasks.validate,
    "hil": tasks.hil,
    "measure": others.measure,
}


@dataclass
class Section:
    anchor: str
    kind: str
    title: str
    meta: KV | None = None
    blocks: list = field(default_factory=list)
    error: str = ""
    warnings: list = field(default_factory=list)
    unmeasured: dict = field(default_factory=dict)
    details: list = field(default_factory=list)
    data: dict = field(default_factory=dict)  # more data-* attributes of the section (the plan's data-candidate)


@dataclass
class Page:
    title: str
    top: list
    sections: list[Section]
    version: str = __version__
    from_what: str = "reports below"


@functools.cache
def environment():
    """The Jinja2 environment of the templates shipped in this package (imported here: `import edgeperf` stays
    lean, and only a page pays for Jinja2)."""
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("edgeperf.results.views", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def css() -> str:
    return resources.files("edgeperf.results.views").joinpath("style.css").read_text(encoding="utf-8")


def kind_of(report: dict) -> str:
    s = str(report["schema"]) if "schema" in report else ""
    return s.split(".", 1)[-1].split("/", 1)[0] if s.startswith("edgeperf.") else "unknown"


def headline(doc: Document) -> str:
    """The one figure of each run for the overview table."""
    r, k = doc.results, doc.kind
    if k == "profile":
        lat, dl = r.latency_us or profile.EMPTY_STATS, r.deadline
        miss = f", {num(dl.misses)} of {num(dl.periods)} deadlines missed" if dl is not None and dl.keys else ""
        return f"p50 {num(lat.p50)} us, p99 {num(lat.p99)} us{miss}"
    if k == "export":
        par = r.parity
        if par is None:
            return "parity not checked"
        return f"parity {'passed' if par.passed else 'FAILED'}, max |error| {num(par.max_abs_error)}"
    if k in ("validate", "hil"):
        return f"verdict {(r.paired.verdict if r.paired else None) or '—'}"
    if k == "sim2sim":
        return f"sim-to-sim {(r.transfer.verdict if r.transfer else None) or '—'}"
    if k == "doctor":
        return f"doctor {r.verdict or '—'}"
    if k == "measure":
        return f"exit {num(r.exit_code)}, {num(r.wall_s)} s"
    return ""


def host_line(h: Host | dict) -> str:
    """The machine in one line: device, CPU, cores, memory, OS, accelerators."""
    h = h if isinstance(h, Host) else Host.from_dict(h)
    cores = h.physical_cores or h.logical_cores
    gpus = ", ".join(str(Named.from_dict(g).name or g) if isinstance(g, dict) else str(g) for g in h.gpus or [])
    jetson = h.jetson
    parts = [
        h.device,
        h.cpu,
        f"{cores} cores" if cores else None,
        f"{h.memory_bytes / 2**30:.1f} GiB" if isinstance(h.memory_bytes, (int, float)) else None,
        h.os,
        (jetson["model"] if isinstance(jetson, dict) and "model" in jetson else str(jetson)) if jetson else None,
        f"GPUs: {gpus}" if gpus else None,
    ]
    return " · ".join(str(p) for p in parts if p)


def _meta(doc: Document, run: Run) -> KV:
    meta = [
        ("schema", doc.schema),
        ("run id", markup('<code data-figure="run_id">{}</code>', doc.run_id)),
        ("created", doc.created_at),
        ("edgeperf", doc.edgeperf_version),
    ]
    m = doc.model
    if m is not None and m.keys:
        meta += [
            ("model", markup("<code>{}</code>", m.path)),
            ("format / precision", f"{m.format} / {m.precision}"),
            ("sha256", markup("<code>{}</code>", m.sha256)),
        ]
    if doc.host is not None and doc.host.keys:
        meta.append(("host", markup('<span data-figure="host">{}</span>', host_line(doc.host))))
    if run.source:
        meta.append(("from", markup("<code>{}</code>", run.source)))
    return KV(meta, "kv meta")


@dataclass
class Read:
    """A run's report read once for the page: the envelope whatever the results hold (`plain`), and the typed
    document its view draws, or why it could not be read."""

    run: Run
    plain: Document
    doc: Document | None = None
    error: Exception | None = None

    @classmethod
    def of(cls, run: Run) -> Read:
        plain = Document.from_dict(run.report)
        if kind_of(run.report) not in VIEWS:
            return cls(run, plain, plain)
        try:
            return cls(run, plain, Document.read(run.report, source=run.source or "report"))
        except Exception as exc:  # an odd report costs its section, not the page
            return cls(run, plain, error=exc)


def section(i: int, read: Read) -> Section:
    run, plain, rep = read.run, read.plain, read.run.report
    k = kind_of(rep)
    model_path = plain.model.path if plain.model is not None else None
    out = Section(f"run-{i}", k, f"{i + 1}. {k}: {model_path or plain.run_id or ''}")
    try:
        if read.error is not None:
            raise read.error
        out.blocks = VIEWS.get(k, others.generic)(read.doc, run)
    except Exception as exc:
        out.error = f"{type(exc).__name__}: {exc}"
    out.meta = _meta(plain, run)
    out.warnings = list(plain.warnings or [])
    out.unmeasured = dict(plain.unmeasured or {})
    host = plain.host.to_dict() if plain.host is not None else {}
    out.details.append(
        Details("Host", KV(flat(host)) if host else Absent("host", "the report does not say which machine it ran on"))
    )
    if plain.config is not None and plain.config.keys:
        out.details.append(Details("Configuration", KV(flat(plain.config.to_dict()))))
    out.details.append(Details("The whole report (JSON)", Pre(json.dumps(rep, indent=1, default=str))))
    return out


def _overview(reads: list[Read]) -> list:
    rows = []
    docs = []
    for i, read in enumerate(reads):
        r, plain, doc = read.run, read.plain, read.doc
        try:
            head = headline(doc) if doc is not None else "(see the run)"
            if doc is not None and doc.kind == "profile":
                docs.append((i, doc))
        except Exception:
            head = "(see the run)"
        model = plain.model.path if plain.model is not None else None
        device = plain.host.device if plain.host is not None else None
        link = markup('<a href="#run-{}">{}</a>', i, i + 1)
        rows.append(
            (
                None,
                [
                    link,
                    kind_of(r.report),
                    markup("<code>{}</code>", model or ""),
                    device or "",
                    plain.created_at or "",
                    head,
                ],
            )
        )
    top: list = [Grid(["#", "kind", "model", "device", "created", "figures"], rows, corner=None, cls="grid overview")]
    try:
        chart = latency.side_by_side(docs)
    except Exception as exc:  # odd reports: their sections say what is wrong
        top.append(markup('<p class="error">the profiles could not be drawn side by side: {}</p>', exc))
    else:
        if chart is not None:
            top.append(chart)
    return top


def render(runs: Sequence[Run | tuple[dict, np.ndarray | None]], *, title: str | None = None) -> str:
    """The HTML page of `runs` (Run, or (report dict, samples_ns or None) pairs), in the order given; `title`
    heads the page (default: how many runs).

    Args:
        runs: The runs to show: `Run` objects, or (report dict, per-inference latencies in ns or None) pairs
            (`StoredRun.report` and `StoredRun.samples_ns` from a Store).
        title: The page's title, or None for "edgeperf report: N runs".

    Returns:
        The page as one self-contained HTML string (CSS inlined, no network allowed by its CSP).

    Examples:
        >>> page = render([({"schema": "edgeperf.export/1", "run_id": "r1", "results": {"size_bytes": 2048}}, None)])
        >>> page.startswith("<!DOCTYPE html>"), "default-src 'none'" in page, '2 KiB' in page
        (True, True, True)
    """
    runs = [r if isinstance(r, Run) else Run(r[0], r[1]) for r in runs]
    page_title = title or f"edgeperf report: {len(runs)} run{'s' if len(runs) != 1 else ''}"
    reads = [Read.of(r) for r in runs]
    page = Page(page_title, _overview(reads), [section(i, r) for i, r in enumerate(reads)])
    return render_page(page)


def render_page(page: Page) -> str:
    """A Page through the page template, with the CSS inlined."""
    return environment().get_template("page.html.j2").render(page=page, css=Markup(css()), csp=Markup(CSP))
