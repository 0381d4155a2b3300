"""Issue 25's bar: `.get("...")` on report dicts outside the serialisation edge stays under 30
(scripts/count_report_gets.py classifies every such call by the AST), and the classifier tells a report read
from a spec's."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BAR = 30


def _counter():
    spec = importlib.util.spec_from_file_location("count_report_gets", ROOT / "scripts" / "count_report_gets.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


def test_report_dicts_are_read_typed_outside_the_edge():
    m = _counter()
    left = [f"{rel}:{line}: {src}" for rel, line, src, kind, _ in m.scan(m.declared_keys()) if kind == "report"]
    assert len(left) < BAR, "\n".join(left)


def test_the_counter_tells_a_report_read_from_a_spec_read():
    m = _counter()
    keys = m.declared_keys()

    def is_report(src: str) -> bool:
        return m.classify(ast.parse(src, mode="eval").body, keys)[0]

    assert is_report('report.results.get("latency_us")')
    assert is_report('(r.get("paired") or {}).get("verdict")')
    assert is_report('doc.get("run_id")')
    assert not is_report('data.get("policy_class")')  # SB3's JSON
    assert not is_report('os.environ.get("EDGEPERF_DB")')
