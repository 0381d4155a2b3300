"""Count `.get("...")` calls that read a report dict outside the serialisation edge (issue 25's bar: under 30).

    .venv/bin/python scripts/count_report_gets.py [--all] [--max N]

By the AST, not by grep: every call `X.get("key", ...)` with a string key in edgeperf/ is listed, and counted as
a report read when both hold:

- the key is a report's: a JSON key a typed report block declares (results/kinds/, found by walking the Record
  classes) or one of the envelope's, or a key of REPORT_KEYS below (keys reports carry that no block declares);
- the receiver is a report, or digs in one: its innermost name is one REPORT_NAMES calls a report or a block of
  one (report, doc, results, paired, ...), or it is itself a report read (`(r.get("paired") or {}).get(...)`), or
  its chain goes through `.results` / `.report` / `["results"]`.

Not counted: the serialisation edge (EDGE: the files that turn JSON into typed records and check it), and every
other `.get` (specs, SB3's JSON, job parameters, options, environment variables, schemas): `--all` lists them with
why. The count is a heuristic, made to err towards counting: `--all` shows everything to judge by eye.
`--max N` exits 1 when more than N remain (for CI).
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "edgeperf"

# Where a report is JSON by design: the records' from_dict/to_dict, the schema checks, the envelope's reading.
EDGE = ("edgeperf/results/record.py", "edgeperf/results/kinds/", "edgeperf/results/io.py", "edgeperf/results/report.py")

ENVELOPE = {"schema", "run_id", "created_at", "edgeperf_version", "host", "model", "config", "results",
            "unmeasured", "warnings"}  # fmt: skip
# Keys reports carry that no typed block declares (read by a few callers).
REPORT_KEYS = {"bus", "controller_stopped", "nonfinite_episodes", "action_kind", "elements_out_of_tolerance",
               "quantization", "calibration", "cost", "summary", "tasks", "versus_reference", "reference",
               "checkpoint_energy_J", "dataset_J", "training", "data", "plan_step", "sweep_job", "quantiles_ms",
               "recommendation", "candidates", "decision", "on_front", "status", "reason", "non_finite_values",
               "errors_are_of", "quantized_nodes", "basis", "episodes_run", "total_J"}  # fmt: skip
# What the name heuristic takes for a report but is not one (file prefix, receiver name -> why), and the code that
# builds a report block reading the dict it is building (a producer: the JSON being made, not a report read).
NOT_REPORTS = {
    ("edgeperf/domains/floorplan/netlist.py", "doc"): "a netlist file",
    ("edgeperf/exporter/", "meta"): "an artifact's metadata (.edgeperf.json, ONNX metadata)",
    ("edgeperf/runtime/", "meta"): "the server's hello on the wire",
    ("edgeperf/runtime/", "doc"): "the remote server's description",
    ("edgeperf/fresh.py", "d"): "the fresh process's error on its pipe",
    ("edgeperf/planner/steps.py", "p"): "a job's parameters",
    ("edgeperf/planner/steps.py", "r"): "an executor's result ({ok, report | error})",
    ("edgeperf/sweep/jobs.py", "p"): "a job's parameters",
    ("edgeperf/cli/sweep.py", "entry"): "an entry of the sweep's index",
}
PRODUCERS = {
    ("edgeperf/profilers/energy.py", "p"): "the power block being summed",
    ("edgeperf/profilers/powermeter.py", "total"): "the power block being built",
    ("edgeperf/devices/detect.py", "out"): "the devices document being built",
    ("edgeperf/validation/sim2sim.py", "results"): "the results being built",
    ("edgeperf/validation/doctor/__init__.py", "recording"): "the diagnosis being written",
    ("edgeperf/validation/paired.py", "verdict"): "the paired block being built",
    ("edgeperf/validation/paired.py", "ret"): "the reference's return summary being judged",
    ("edgeperf/profilers/run.py", "stats"): "the latency block being built",
    ("edgeperf/profilers/powermeter.py", "primary"): "the power block being built",
    ("edgeperf/exporter/onnx.py", "results"): "the export results being built",
    ("edgeperf/exporter/onnx.py", "q"): "the export results being built",
    ("edgeperf/exporter/onnx.py", "par"): "the export results being built",
}
EDGE_FUNCTIONS = ("from_dict", "to_dict", "from_json", "to_json")
REPORT_NAMES = re.compile(
    r"^(report|reports|rep|doc|docs|document|results?|res|r|d|row|rows|rec|entry|profiled|validated|exported|"
    r"prof|val|paired|parity|par|power|total|lat|latency|dl|deadline|link|transfer|unmeasured|verdict|across|"
    r"chosen|runner|task|tasks|diag|recording|out|parts|b|t|p|e|v|s|f|q|config|cfg|meta|ret|stats|primary|built)$"
)


def declared_keys() -> set[str]:
    """Every JSON key a typed report block declares (results/kinds/), envelope included."""
    sys.path.insert(0, str(ROOT))
    from edgeperf.results import kinds
    from edgeperf.results.kinds import machine
    from edgeperf.results.record import Record

    keys = set(ENVELOPE) | REPORT_KEYS
    seen: set[type] = set()
    todo = [c for m in (kinds, machine) for c in vars(m).values() if isinstance(c, type) and issubclass(c, Record)]
    todo += Record.__subclasses__()
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.add(cls)
        keys |= set(cls._plan())
        todo += cls.__subclasses__()
    return keys


def _names(node: ast.AST) -> list[str]:
    """The names along a receiver's chain, innermost first: `self.report.results` -> [self, report, results]."""
    out: list[str] = []
    while True:
        if isinstance(node, ast.Attribute):
            out.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Subscript):
            if isinstance(node.slice, ast.Constant) and isinstance(node.slice.value, str):
                out.append(node.slice.value)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.BoolOp):  # (x.get("a") or {})
            node = node.values[0]
        elif isinstance(node, ast.Name):
            out.append(node.id)
            return out[::-1]
        else:
            return out[::-1]


def _get_key(node: ast.AST) -> str | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _sub_key(node: ast.AST) -> str | None:
    """'k' for a read `x["k"]` (not a store)."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.ctx, ast.Load)
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.slice.value, str)
    ):
        return node.slice.value
    return None


def classify(call: ast.Call, keys: set[str]) -> tuple[bool, str]:
    """Whether `call` (a .get("...") call) reads a report, and why."""
    return classify_access(_get_key(call), call.func.value, keys)


def classify_access(key: str | None, recv: ast.AST, keys: set[str]) -> tuple[bool, str]:
    names = _names(recv)
    inner = recv.values[0] if isinstance(recv, ast.BoolOp) else recv
    chained = _get_key(inner) in keys or _sub_key(inner) in keys
    if key not in keys:
        return False, f"key {key!r} is no report's"
    if chained:
        return True, "digs in a report"
    if names and REPORT_NAMES.match(names[-1] if names[-1] != "get" else names[0]):
        return True, f"receiver {'.'.join(names)}"
    if any(n in ("results", "report") for n in names):
        return True, f"receiver {'.'.join(names)}"
    if names and names[0] in ("os", "environ", "sys", "self"):
        return False, f"receiver {'.'.join(names)}"
    return False, f"receiver {'.'.join(names) or type(recv).__name__} is no report"


def _table(table: dict, rel: str, names: list[str]) -> str | None:
    for (prefix, name), why in table.items():
        if rel.startswith(prefix) and name in names:
            return why
    return None


def scan(keys: set[str], subscripts: bool = False):
    """(file, line, source, class, why) for every .get("...") call (with `subscripts`: every x["..."] read instead);
    class: report, producer, edge or other."""
    key_of = _sub_key if subscripts else _get_key
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, rel)
        edge_lines: set[int] = set()
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and fn.name in EDGE_FUNCTIONS:
                edge_lines |= set(range(fn.lineno, (fn.end_lineno or fn.lineno) + 1))
        for node in ast.walk(tree):
            key = key_of(node)
            if key is None:
                continue
            recv = node.value if subscripts else node.func.value
            is_report, why = classify_access(key, recv, keys)
            names = _names(recv)
            if is_report and (other := _table(NOT_REPORTS, rel, names)):
                kind, why = "other", other
            elif is_report and (made := _table(PRODUCERS, rel, names)):
                kind, why = "producer", made
            elif is_report and (rel.startswith(EDGE) or node.lineno in edge_lines):
                kind = "edge"
            else:
                kind = "report" if is_report else "other"
            yield rel, node.lineno, ast.get_source_segment(text, node), kind, why


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--all", action="store_true", help='list every .get("...") call with how it was classified')
    ap.add_argument("--max", type=int, default=None, help="exit 1 when more report reads than this remain")
    ap.add_argument("--subscripts", action="store_true", help='the same for x["..."] reads (what .get left)')
    a = ap.parse_args(argv)
    rows = sorted(scan(declared_keys(), a.subscripts))
    counts = {k: sum(1 for r in rows if r[3] == k) for k in ("report", "producer", "edge", "other")}
    for rel, line, src, kind, why in rows:
        if a.all or kind == "report":
            print(f"{kind:8} {rel}:{line}: {' '.join((src or '').split())[:90]}  [{why}]")
    what = 'x["..."] reads' if a.subscripts else '.get("...") calls'
    print(f"\n{what} in edgeperf/: {len(rows)}: report reads outside the edge {counts['report']}; "
          f"producers reading the block they build {counts['producer']}; at the serialisation edge {counts['edge']}; "
          f"other (specs, parameters, options, environment...) {counts['other']}")  # fmt: skip
    return 1 if a.max is not None and counts["report"] > a.max else 0


if __name__ == "__main__":
    sys.exit(main())
