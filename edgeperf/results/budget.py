"""`edgeperf check --budget edgeperf.toml REPORT...`: hold reports to a budget (the CI gate).

A budget is TOML. A section per report kind holds for every report of that kind; `[device.<id>.<kind>]` only for
reports measured on that device (host.device, as `edgeperf devices` names it); `[model.<name>.<kind>]` only for
reports of that model (its file name, its path, or a prefix of its sha256 of 6+ characters; quote a name with a
dot: `[model."policy.onnx".profile]`). A key in a more specific section replaces the same key of a wider one
(model over device over the kind's own section); the table names the section each line came from.

    [profile]                          # every profile report
    rate_hz = 50                       # the budget is for a 50 Hz loop (see below)
    p99_us = 2000
    miss_rate = 0.001
    peak_rss_mb = 200
    [device.jetson-orin-nano.profile]  # only reports from that device
    mj_per_inference = 5
    [validate]
    verdict = "equivalent"
    success_min = 0.9

Keys: a figure name (results/figures.py) is an upper bound (`p99_us = 2000`: p99 at most 2000 us); `<figure>_min`
a lower bound; `verdict` and `exit_code` must be equal. `rate_hz` in a profile section: the latency, miss-rate
and energy lines hold at that control rate, so a profile at another rate (or a stream profile) FAILS them with
the reason "profiled at ..., the budget is for ..." (a p99 measured back to back, or at another rate, is not
the p99 of the loop the budget is for). `allow_estimate = true` lets an energy line pass on a labelled estimate;
by default an estimate fails it (a budget gate wants a measurement). A figure a report does not carry fails its
line with the reason (never a pass). Unknown keys are an error naming the key.
"""

from __future__ import annotations

import difflib
import math
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from edgeperf.errors import BadInput
from edgeperf.results import figures
from edgeperf.results.io import read_toml, short_path
from edgeperf.results.kinds import Document

VERDICTS = ("equivalent", "different", "inconclusive")
# Figures whose value depends on the control rate a profile ran at.
RATE_BOUND = {"p50_us", "p99_us", "p99_9_us", "miss_rate", "mj_per_inference"}
ENERGY = {"mj_per_inference", "energy_j"}
OPTIONS = {"profile": {"rate_hz", "allow_estimate"}, "measure": {"allow_estimate"}}


@dataclass(frozen=True)
class Rule:
    kind: str
    key: str  # as written: p99_us, success_min, verdict
    figure: str
    op: str  # "<=", ">=", "=="
    limit: float | str
    section: str  # [profile], [device.X.profile], [model.Y.profile]


@dataclass
class Result:
    report: str  # what the user named: a file or a run id
    run_id: str
    kind: str
    section: str
    key: str
    op: str
    limit: float | str
    value: float | str | bool | None
    passed: bool
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _keys(kind: str) -> dict[str, tuple[str, str]]:
    """The budget keys of a kind: key -> (figure, op)."""
    out = {}
    for name, spec in figures.FIGURES[kind].items():
        if spec.better is None:
            if name in ("verdict", "exit_code", "parity_passed"):
                out[name] = (name, "==")
            continue
        out[name] = (name, "<=")
        out[f"{name}_min"] = (name, ">=")
    return out


def _did_you_mean(key: str, known) -> str:
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; known: {', '.join(sorted(known))}"


class Budget:
    """A budget file's limits by section, held against reports (`edgeperf check --budget`, the module's text).

    Args:
        path: Where the budget came from, as the messages name it.
        sections: (scope, name, kind) -> {key: limit}; scope '' (every report of that kind), 'device' or 'model'.
            Build one with `Budget.load(path)` or `Budget.from_dict(data)`, which check every key.

    Examples:
        >>> import edgeperf
        >>> _ = edgeperf.export("reference:quadruped/trot", "policy.onnx")
        >>> report = edgeperf.profile("policy.onnx", iterations=200, duration=0.1, warmup=10)
        >>> from pathlib import Path
        >>> _ = Path("edgeperf.toml").write_text("[profile]\\np99_us = 1000000\\npeak_rss_mb = 0.001\\n")
        >>> budget = edgeperf.Budget.load("edgeperf.toml")
        >>> [(line.key, line.passed) for line in budget.check(report.to_dict())]
        [('p99_us', True), ('peak_rss_mb', False)]
    """

    def __init__(self, path: str, sections: dict[tuple[str, str, str], dict]):
        self.path = path
        # (scope, name, kind) -> {key: value}; scope '' (every report), 'device' or 'model'
        self.sections = sections

    @classmethod
    def load(cls, path: str | os.PathLike) -> Budget:
        """The budget in the TOML file at `path`, every section and key checked (BadInput naming a bad one).

        Args:
            path: The budget file (`edgeperf.toml`).
        """
        p = Path(path)
        data = read_toml(p, "budget file")
        return cls.from_dict(data, str(p))

    @classmethod
    def from_dict(cls, data: dict, path: str = "budget") -> Budget:
        shown = short_path(path)
        kinds = set(figures.FIGURES)
        sections: dict[tuple[str, str, str], dict] = {}
        for top, value in data.items():
            if top in kinds:
                sections[("", "", top)] = cls._section(shown, f"[{top}]", top, value)
            elif top in ("device", "model"):
                if not isinstance(value, dict):
                    raise BadInput(f"{shown}: {top} must be tables like [{top}.NAME.profile], got {value!r}")
                for name, inner in value.items():
                    if not isinstance(inner, dict):
                        raise BadInput(f"{shown}: [{top}.{name}] must hold kind tables like [{top}.{name}.profile]")
                    for kind, body in inner.items():
                        where = f"[{top}.{name}.{kind}]"
                        if kind not in kinds:
                            raise BadInput(
                                f"{shown}: unknown report kind {kind!r} in {where}" + _did_you_mean(kind, kinds)
                            )
                        sections[(top, name, kind)] = cls._section(shown, where, kind, body)
            else:
                raise BadInput(
                    f"{shown}: unknown key {top!r} at the top level" + _did_you_mean(top, [*kinds, "device", "model"])
                )
        if not any(sections.values()):
            raise BadInput(f"{shown}: the budget has no limits; add e.g. [profile] p99_us = 2000")
        return cls(path, sections)

    @staticmethod
    def _section(shown: str, where: str, kind: str, body) -> dict:
        if not isinstance(body, dict):
            raise BadInput(f"{shown}: {where} must be a table of limits, got {body!r}")
        keys, options = _keys(kind), OPTIONS.get(kind, set())
        for key, value in body.items():
            if key not in keys and key not in options:
                raise BadInput(f"{shown}: unknown key {key!r} in {where}" + _did_you_mean(key, [*keys, *options]))
            if key == "allow_estimate":
                if not isinstance(value, bool):
                    raise BadInput(f"{shown}: {where} allow_estimate must be true or false, got {value!r}")
            elif key == "parity_passed":
                if not isinstance(value, bool):
                    raise BadInput(f"{shown}: {where} parity_passed must be true or false, got {value!r}")
            elif key == "verdict":
                if value not in VERDICTS:
                    raise BadInput(f"{shown}: {where} verdict must be one of {', '.join(VERDICTS)}, got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, (int, float)):
                raise BadInput(f"{shown}: {where} {key} must be a number, got {value!r}")
            elif not math.isfinite(value):  # TOML spells them inf and nan: a limit nothing can fail, or none
                raise BadInput(f"{shown}: {where} {key} is {value}; a limit is a finite number")
            elif key == "rate_hz" and not value > 0:
                raise BadInput(f"{shown}: {where} rate_hz must be a positive rate in Hz, got {value!r}")
        return dict(body)

    def rules(self, report: dict | Document) -> tuple[list[Rule], dict]:
        """The budget lines that apply to a report (most specific section per key) and its options."""
        doc = figures.document(report)
        kind = doc.kind
        path = str(doc.model.path or "") if doc.model else ""
        sha = str(doc.model.sha256 or "") if doc.model else ""
        device = doc.host.device if doc.host else None

        def matches(scope: str, name: str) -> bool:
            if scope == "":
                return True
            if scope == "device":
                return name == device
            return (bool(path) and name in (path, os.path.basename(path))) or (len(name) >= 6 and sha.startswith(name))

        chosen: dict[str, tuple[object, str]] = {}
        for scope in ("", "device", "model"):  # wider first: a narrower section replaces its keys
            for (s, name, k), body in self.sections.items():
                if s == scope and k == kind and matches(s, name):
                    where = f"[{kind}]" if not s else f"[{s}.{name}.{kind}]"
                    for key, value in body.items():
                        chosen[key] = (value, where)
        keys = _keys(kind) if kind in figures.FIGURES else {}
        rules = [Rule(kind, key, *keys[key], value, where) for key, (value, where) in chosen.items() if key in keys]
        options = {key: value for key, (value, _) in chosen.items() if key not in keys}
        return rules, options

    def check(self, report: dict, name: str | None = None) -> list[Result]:
        """Every budget line that applies to `report`, with its measured value and pass or fail.

        Args:
            report: A report's dict (`Report.to_dict()`, or a report file's JSON).
            name: How the results name the report (default: its run id).

        Returns:
            One Result per line: key, limit, value, passed and the reason when it failed.
        """
        doc = figures.document(report)
        rules, options = self.rules(doc)
        run_id = doc.run_id if doc.has("run_id") else "?"
        out = []
        for rule in rules:
            value, passed, reason = _judge(rule, doc, options)
            out.append(
                Result(name or run_id, run_id, rule.kind, rule.section, rule.key, rule.op, rule.limit, value, passed,
                       reason)
            )  # fmt: skip
        return out


def _rate_mismatch(doc: Document, want: float) -> str | None:
    got = doc.config.rate_hz if doc.config else None
    if got is None:
        return f"a stream profile (no --rate), the budget is for a {want:g} Hz loop: profile with --rate {want:g}"
    if abs(got - want) > 1e-9 * want:
        return f"profiled at {got:g} Hz, the budget is for {want:g} Hz: profile with --rate {want:g}"
    return None


def _judge(rule: Rule, doc: Document, options: dict) -> tuple[object, bool, str]:
    f = figures.figure(doc, rule.figure)
    if rule.kind == "profile" and rule.figure in RATE_BOUND and "rate_hz" in options:
        why = _rate_mismatch(doc, float(options["rate_hz"]))
        if why:
            return f.value, False, why
    if f.value is None:
        return None, False, f"not measured: {f.reason}"
    if f.estimate and rule.figure in ENERGY and not options.get("allow_estimate"):
        return f.value, False, "only an estimate, not a measurement (allow_estimate = true accepts it)"
    v, limit = f.value, rule.limit
    if rule.op == "==":
        return v, v == limit, "" if v == limit else f"{v!r}, not {limit!r}"
    ok = v <= limit if rule.op == "<=" else v >= limit
    return v, bool(ok), "" if ok else f"{'above' if rule.op == '<=' else 'below'} the limit"


def render(results: list[Result], out, notes: list[str] = ()) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not out.is_terminal:
        out.width = max(out.width, 150)
    t = Table(title="budget check")
    for col in ("report", "section", "line", "measured", "result", "why"):
        t.add_column(col, justify="right" if col == "measured" else "left")
    for r in results:
        fig = r.key if r.key in figures.FIGURES[r.kind] else r.key.removesuffix("_min")
        shown = figures.show(r.kind, fig, r.value)
        limit = r.limit if isinstance(r.limit, str) else f"{r.limit:g}"
        t.add_row(
            escape(r.report), escape(r.section), escape(f"{r.key} {r.op} {limit}"), escape(shown),
            "[green]pass[/green]" if r.passed else "[red]FAIL[/red]", escape(r.reason),
        )  # fmt: skip
    out.print(t)
    for n in notes:
        out.print(f"[yellow]note:[/yellow] {escape(n)}")
    failed = [r for r in results if not r.passed]
    out.print(
        f"[red]{len(failed)} of {len(results)} budget lines failed[/red]"
        if failed
        else f"[green]all {len(results)} budget lines passed[/green]"
    )
