"""The key figures of each report kind, read from the report's typed results (results/kinds/): the one place
that knows where p99, miss rate, mJ per inference, parity error, a verdict ... live in a report. `history` shows
them, `compare` compares them, `check` holds them to a budget; `document()` types a report dict for them.

A figure that a report does not carry comes back as `Figure(None, reason=...)`, never as 0: a stream profile
has no miss rate, a machine without a power sensor no energy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

from edgeperf.results.kinds import KINDS, Document, Link
from edgeperf.results.record import Record

MIB = 2**20


@dataclass(frozen=True)
class Figure:
    value: float | str | bool | None
    reason: str | None = None  # why the value is absent
    estimate: bool = False  # the value is a labelled estimate, not a measurement


@dataclass(frozen=True)
class Spec:
    label: str
    unit: str
    read: Callable[[Document], Figure]
    better: str | None = "lower"  # lower, higher, or None (not ordered: a verdict)
    fmt: str = ".4g"

    def get(self, report: dict | Document) -> Figure:
        """This figure of a report (a dict, or its typed Document)."""
        return self.read(document(report))


def document(report: dict | Document) -> Document:
    """A report dict as its typed Document (the figures read typed fields, never dig in dicts)."""
    if isinstance(report, Document):
        return report
    doc = Document.from_dict(report)
    if doc.kind in KINDS and isinstance(doc.results, dict):
        doc = dataclasses.replace(doc, results=KINDS[doc.kind].from_dict(doc.results))
    return doc


def walk(node, *path: str):
    """A typed field by its JSON keys (results.latency_us.p99 as walk(results, "latency_us", "p99"))."""
    for key in path:
        if not isinstance(node, Record):
            return None
        node = node.at(key)
    return node


def _at(*path: str, scale: float = 1.0, why: str | None = None, unmeasured: tuple[str, ...] = ()) -> Callable:
    path = path[1:] if path[:1] == ("results",) else path

    def get(doc: Document) -> Figure:
        v = walk(doc.results, *path)
        if v is None:
            return Figure(None, doc.why(*unmeasured) or why or f"the report has no results.{'.'.join(path)}")
        return Figure(v * scale if isinstance(v, (int, float)) and not isinstance(v, bool) else v)

    return get


def _energy(key: str) -> Callable:
    def get(doc: Document) -> Figure:
        power = walk(doc.results, "power")
        if not power:
            why = doc.why("energy_per_inference", "energy", "power")
            return Figure(None, why or "no power was measured (run with --power)")
        v = walk(power, "total", key)
        if v is None:
            return Figure(None, f"the power block has no total.{key}")
        return Figure(v, estimate=bool(power.estimate))

    return get


def link_exchanges(link: dict | Link) -> int | None:
    """A HIL link's exchanges: one per control step, or one per chunk query for a chunk policy."""
    return (link if isinstance(link, Link) else Link.from_dict(link)).exchanges


def _miss_rate(report: dict | Document) -> Figure:
    doc = document(report)
    if doc.kind == "hil":
        link = walk(doc.results, "link")
        if link is not None and link.exchanges:
            return Figure(link.misses / link.exchanges)
        return Figure(None, "the HIL report has no link steps")
    d = walk(doc.results, "deadline")
    if d is None:
        return Figure(None, "a stream profile has no deadline: profile with --rate HZ to measure misses")
    return Figure(d.miss_rate)


def _success(who: str) -> Callable:
    def get(doc: Document) -> Figure:
        s = walk(doc.results, who)
        if s is None:
            return Figure(None, f"the report has no results.{who}")
        if not s.has("success_rate"):
            return Figure(None, "the domain has no success criterion")
        return Figure(s.success_rate)

    return get


def _success_diff(doc: Document) -> Figure:
    a, b = _success("reference")(doc), _success("deployed")(doc)
    if a.value is None or b.value is None:
        return Figure(None, a.reason or b.reason)
    return Figure(b.value - a.value)


FIGURES: dict[str, dict[str, Spec]] = {
    "profile": {
        "p50_us": Spec("p50", "us", _at("results", "latency_us", "p50")),
        "p99_us": Spec("p99", "us", _at("results", "latency_us", "p99")),
        "p99_9_us": Spec(
            "p99.9",
            "us",
            _at("results", "latency_us", "p99_9", why="too few samples in the tail for p99.9"),
        ),
        "miss_rate": Spec("miss rate", "", _miss_rate, fmt=".3%"),
        "mj_per_inference": Spec("mJ/inf", "mJ", _energy("per_inference_above_idle_mJ")),
        "peak_rss_mb": Spec("peak RSS", "MiB", _at("results", "memory", "peak_rss_bytes", scale=1 / MIB), fmt=".1f"),
        "throughput_per_s": Spec("throughput", "/s", _at("results", "throughput_per_s"), better="higher", fmt=".0f"),
    },
    "export": {
        "parity_max_abs_error": Spec(
            "parity max err", "", _at("results", "parity", "max_abs_error", why="exported without a parity check")
        ),
        "parity_p99_abs_error": Spec(
            "parity p99 err", "", _at("results", "parity", "p99_abs_error", why="exported without a parity check")
        ),
        "parity_passed": Spec(
            "parity", "", _at("results", "parity", "passed", why="exported without a parity check"), better=None
        ),
        "size_mb": Spec("size", "MiB", _at("results", "size_bytes", scale=1 / MIB), fmt=".3f"),
    },
    "validate": {
        "verdict": Spec("verdict", "", _at("results", "paired", "verdict"), better=None),
        "success": Spec("success", "", _success("deployed"), better="higher", fmt=".0%"),
        "reference_success": Spec("ref success", "", _success("reference"), better="higher", fmt=".0%"),
        "success_diff": Spec("success diff", "", _success_diff, better="higher", fmt="+.0%"),
        "return_diff": Spec(
            "return diff", "", _at("results", "paired", "mean_return_difference"), better=None, fmt="+.3g"
        ),
    },
    "measure": {
        "energy_j": Spec("energy", "J", _energy("energy_above_idle_J")),
        "wall_s": Spec("wall", "s", _at("results", "wall_s"), fmt=".2f"),
        "peak_rss_mb": Spec(
            "peak RSS", "MiB", _at("results", "memory", "peak_tree_rss_bytes", scale=1 / MIB), fmt=".1f"
        ),
        "exit_code": Spec("exit", "", _at("results", "exit_code"), better=None, fmt="d"),
    },
    "hil": {
        "miss_rate": Spec("miss rate", "", _miss_rate, fmt=".3%"),
        "verdict": Spec("verdict", "", _at("results", "paired", "verdict", why="run without --sil"), better=None),
        "success": Spec("success", "", _success("hil"), better="higher", fmt=".0%"),
        "round_trip_p99_us": Spec("RTT p99", "us", _at("results", "link", "round_trip_us", "p99"), fmt=".0f"),
    },
}

# The many-runs reports (analysis/): reliability across training runs, generalization across tasks.
_ACROSS = ("results", "across_runs")
FIGURES["reliability"] = {
    "runs": Spec("runs", "", _at("results", "n_runs"), better=None, fmt=".0f"),
    "median_final_value": Spec("median final", "", _at(*_ACROSS, "median_final_value"), better="higher"),
    "dispersion_across_runs": Spec(
        "dispersion across runs",
        "",
        _at(*_ACROSS, "dispersion_across_runs", unmeasured=("across_runs.dispersion_across_runs",)),
    ),
    "risk_across_runs": Spec(
        "risk across runs",
        "",
        _at(*_ACROSS, "risk_across_runs", unmeasured=("across_runs.risk_across_runs",)),
        better="higher",
    ),
}
FIGURES["generalize"] = {
    "tasks": Spec("tasks", "", _at("results", "aggregate", "tasks"), better=None, fmt=".0f"),
    "sum_of_mean_returns": Spec(
        "sum of mean returns", "", _at("results", "aggregate", "sum_of_mean_returns"), better="higher"
    ),
    "mean_success_rate": Spec(
        "mean success",
        "",
        _at("results", "aggregate", "mean_success_rate", why="no task judges success"),
        better="higher",
        fmt=".0%",
    ),
}

# One policy in two simulators (validation/sim2sim.py) and the contract doctor (validation/doctor/).
FIGURES["sim2sim"] = {
    "verdict": Spec("verdict", "", _at("results", "transfer", "verdict"), better=None),
    "success_a": Spec(
        "success A", "", _at("results", "a", "success_rate", why="no success criterion"), better="higher", fmt=".0%"
    ),
    "success_b": Spec(
        "success B", "", _at("results", "b", "success_rate", why="no success criterion"), better="higher", fmt=".0%"
    ),
    "return_diff": Spec("return B - A", "", _at("results", "transfer", "return_difference"), better=None, fmt="+.3g"),
}
FIGURES["doctor"] = {
    "verdict": Spec("verdict", "", _at("results", "verdict"), better=None),
    "success": Spec("success as given", "", _at("results", "baseline", "success_rate"), better="higher", fmt=".0%"),
    "coverage": Spec(
        "searched", "", _at("results", "search", "coverage", why="no search ran"), better="higher", fmt=".0%"
    ),
}

# What `history` shows per kind, and which figure its trend column follows.
HEADLINE = {
    "profile": ("p50_us", "p99_us", "miss_rate", "mj_per_inference"),
    "export": ("parity_max_abs_error", "size_mb"),
    "validate": ("verdict", "success", "return_diff"),
    "measure": ("energy_j", "wall_s"),
    "hil": ("miss_rate", "verdict", "success"),
    "reliability": ("runs", "median_final_value", "dispersion_across_runs", "risk_across_runs"),
    "generalize": ("tasks", "sum_of_mean_returns", "mean_success_rate"),
    "sim2sim": ("verdict", "success_a", "success_b"),
    "doctor": ("verdict", "success", "coverage"),
}
TREND = {"profile": "p99_us", "export": "parity_max_abs_error", "validate": "success", "measure": "wall_s",
         "hil": "miss_rate", "reliability": "risk_across_runs", "generalize": "sum_of_mean_returns",
         "sim2sim": "success_b", "doctor": "success"}  # fmt: skip


def report_kind(report: dict | Document) -> str:
    """'profile' for 'edgeperf.profile/1' (the schema was checked when the report was read)."""
    return document(report).kind if isinstance(report, Document) else Document(schema=_schema(report)).kind


def _schema(report: dict) -> str:
    return str(report["schema"]) if isinstance(report, dict) and "schema" in report else ""


def figure(report: dict | Document, name: str) -> Figure:
    doc = document(report)
    spec = FIGURES[doc.kind].get(name) if doc.kind in FIGURES else None
    if spec is None:
        return Figure(None, f"a {doc.kind} report has no figure {name!r}")
    return spec.read(doc)


def key_figures(report: dict | Document) -> dict[str, float | str | bool | None]:
    """Every figure of the report's kind that it carries (absent ones left out), for the store's index."""
    doc = document(report)
    out = {}
    for name, spec in FIGURES.get(doc.kind, {}).items():
        f = spec.read(doc)
        if f.value is not None:
            out[name] = f.value
            if f.estimate:
                out[f"{name}.estimate"] = True
    return out


def show(kind: str, name: str, value) -> str:
    """A figure for a table cell: '-' when absent."""
    if value is None:
        return "-"
    spec = FIGURES[kind][name]
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "passed" if value else "FAILED"
    try:
        return format(value, spec.fmt) + (f" {spec.unit}" if spec.unit and spec.unit not in ("", "%") else "")
    except (TypeError, ValueError):
        return str(value)
