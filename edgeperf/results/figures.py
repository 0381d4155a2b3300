"""The key figures of each report kind, read from a report dict: the one place that knows where p99, miss rate,
mJ per inference, parity error, a verdict ... live in a report. `history` shows them, `compare` compares them,
`check` holds them to a budget.

A figure that a report does not carry comes back as `Figure(None, reason=...)`, never as 0: a stream profile
has no miss rate, a machine without a power sensor no energy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
    get: Callable[[dict], Figure]
    better: str | None = "lower"  # lower, higher, or None (not ordered: a verdict)
    fmt: str = ".4g"


def dig(report: dict, *path: str):
    node = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _unmeasured(report: dict, *keys: str) -> str | None:
    um = report.get("unmeasured") or {}
    for k in keys:
        if k in um:
            return str(um[k])
    return None


def _at(*path: str, scale: float = 1.0, why: str | None = None, unmeasured: tuple[str, ...] = ()) -> Callable:
    def get(report: dict) -> Figure:
        v = dig(report, *path)
        if v is None:
            reason = _unmeasured(report, *unmeasured) or why or f"the report has no {'.'.join(path)}"
            return Figure(None, reason)
        return Figure(v * scale if isinstance(v, (int, float)) and not isinstance(v, bool) else v)

    return get


def _energy(key: str) -> Callable:
    def get(report: dict) -> Figure:
        power = dig(report, "results", "power")
        if not power:
            why = _unmeasured(report, "energy_per_inference", "energy", "power")
            return Figure(None, why or "no power was measured (run with --power)")
        v = dig(power, "total", key)
        if v is None:
            return Figure(None, f"the power block has no total.{key}")
        return Figure(v, estimate=bool(power.get("estimate")))

    return get


def link_exchanges(link: dict) -> int | None:
    """A HIL link's exchanges: one per control step, or one per chunk query for a chunk policy."""
    return link.get("steps") or link.get("queries")


def _miss_rate(report: dict) -> Figure:
    kind = report_kind(report)
    if kind == "hil":
        link = dig(report, "results", "link") or {}
        if link_exchanges(link):
            return Figure(link["misses"] / link_exchanges(link))
        return Figure(None, "the HIL report has no link steps")
    d = dig(report, "results", "deadline")
    if d is None:
        return Figure(None, "a stream profile has no deadline: profile with --rate HZ to measure misses")
    return Figure(d["miss_rate"])


def _success(who: str) -> Callable:
    def get(report: dict) -> Figure:
        s = dig(report, "results", who)
        if s is None:
            return Figure(None, f"the report has no results.{who}")
        if "success_rate" not in s:
            return Figure(None, "the domain has no success criterion")
        return Figure(s["success_rate"])

    return get


def _success_diff(report: dict) -> Figure:
    a, b = _success("reference")(report), _success("deployed")(report)
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


def report_kind(report: dict) -> str:
    """'profile' for 'edgeperf.profile/1' (the schema was checked when the report was read)."""
    return str(report.get("schema", "")).split(".", 1)[-1].split("/", 1)[0]


def figure(report: dict, name: str) -> Figure:
    spec = FIGURES.get(report_kind(report), {}).get(name)
    if spec is None:
        return Figure(None, f"a {report_kind(report)} report has no figure {name!r}")
    return spec.get(report)


def key_figures(report: dict) -> dict[str, float | str | bool | None]:
    """Every figure of the report's kind that it carries (absent ones left out), for the store's index."""
    out = {}
    for name, spec in FIGURES.get(report_kind(report), {}).items():
        f = spec.get(report)
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
