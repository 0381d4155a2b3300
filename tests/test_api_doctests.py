"""The public API's documentation holds: every entry point `import edgeperf` offers (its _LAZY table) has one
`Examples:` block that runs (doctest, in a temp folder as its working directory), and its docstrings name every
parameter of its signature. Examples that run a simulation campaign (plan) are marked slow."""

from __future__ import annotations

import doctest
import importlib
import inspect
import re
from pathlib import Path

import pytest

import edgeperf

pytest.importorskip("torch")  # the examples export the bundled reference policy first

# For a class, the methods whose parameters the documentation must name (the class's own example is in its docstring).
METHODS = {
    "Session": ["open", "run", "reset", "close"],
    "Store": ["open", "record"],
    "Budget": ["load", "check"],
}
SLOW = {"plan"}  # 15 s on a 2-core machine: an export, a profile and a validation per candidate


def entry(name: str):
    return getattr(edgeperf, name)


def documented(name: str) -> list:
    """The objects whose signatures the docs must cover: the function, or the class and its public methods."""
    obj = entry(name)
    return [obj, *(getattr(obj, m) for m in METHODS.get(name, []))]


def examples(name: str) -> list[doctest.DocTest]:
    """The entry point's own doctests (a class's docstring, not its methods')."""
    obj = entry(name)
    tests = doctest.DocTestFinder(recurse=False).find(obj, f"edgeperf.{name}", globs=vars(inspect.getmodule(obj)))
    return [t for t in tests if t.examples]


def test_every_public_name_is_an_entry_point_here():
    assert set(edgeperf._LAZY) <= set(edgeperf.__all__)
    assert set(METHODS) <= set(edgeperf._LAZY)


@pytest.mark.parametrize("name", sorted(edgeperf._LAZY))
def test_each_entry_point_has_an_example(name):
    doc = inspect.getdoc(entry(name)) or ""
    assert "Examples:" in doc, f"edgeperf.{name} has no Examples: section"
    assert examples(name), f"edgeperf.{name}'s Examples: section has no doctest"


def _named(param: inspect.Parameter, doc: str) -> bool:
    """A Google-style line for the parameter: `name:` or `name (type):` (`**options:` for **options)."""
    star = {inspect.Parameter.VAR_KEYWORD: r"\*\*", inspect.Parameter.VAR_POSITIONAL: r"\*"}.get(param.kind, "")
    return re.search(rf"^\s+{star}{re.escape(param.name)}( \([^)]*\))?:", doc, re.MULTILINE) is not None


@pytest.mark.parametrize("name", sorted(edgeperf._LAZY))
def test_each_parameter_is_documented(name):
    missing = []
    for obj in documented(name):
        doc = inspect.getdoc(obj) or ""
        # A dataclass's fields are its signature; another class documents its methods' parameters instead.
        if inspect.isclass(obj) and not getattr(obj, "__dataclass_fields__", None):
            continue
        for param in inspect.signature(obj).parameters.values():
            if param.name not in ("self", "cls") and not _named(param, doc):
                missing.append(f"{getattr(obj, '__qualname__', obj)}({param.name})")
    assert not missing, f"not in an Args:/Attributes: section: {missing}"


def run_examples(name: str, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in examples(name):
        test.globs = {**test.globs, "tmp": tmp_path}
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.attempted and not result.failed, f"edgeperf.{name}: {result.failed} example(s) failed (above)"


@pytest.mark.parametrize("name", sorted(set(edgeperf._LAZY) - SLOW))
def test_the_example_runs(name, tmp_path, monkeypatch):
    run_examples(name, tmp_path, monkeypatch)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(SLOW))
def test_the_slow_example_runs(name, tmp_path, monkeypatch):
    run_examples(name, tmp_path, monkeypatch)


@pytest.mark.parametrize("name", sorted(edgeperf._LAZY))
def test_no_module_shadows_an_entry_point(name):
    """Importing a submodule sets it as an attribute of its package: a package `edgeperf/plan/` replaced the
    function `edgeperf.plan` with itself as soon as anything imported one of its modules."""
    here = Path(edgeperf.__file__).parent
    assert not (here / name).is_dir() and not (here / f"{name}.py").exists(), f"edgeperf/{name} shadows edgeperf.{name}"


def test_the_plan_function_survives_its_package_being_imported():
    importlib.import_module("edgeperf.planner.steps")
    assert callable(edgeperf.plan) and edgeperf.plan.__module__ == "edgeperf.planner"
