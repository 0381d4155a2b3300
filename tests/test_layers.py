"""edgeperf's layers, imports inside functions included: import-linter's contract in pyproject.toml (grimp reads
every import statement, a function's too) and no import cycle between edgeperf's modules."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "edgeperf"


def _lint_imports() -> str:
    pytest.importorskip("importlinter", reason="import-linter is in the dev extra")
    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert exe, "lint-imports is not on PATH beside this Python"
    return exe


def test_the_layer_contracts_hold():
    r = subprocess.run([_lint_imports(), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def test_an_upward_import_inside_a_function_breaks_a_contract(tmp_path):
    """The check counts the imports edgeperf hides in functions: a probe package whose lower layer imports the
    upper one inside a function fails lint-imports (the same build of the graph as edgeperf's)."""
    exe = _lint_imports()
    pkg = tmp_path / "probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "high.py").write_text("from probe import low\n")
    (pkg / "low.py").write_text("def f():\n    from probe import high\n\n    return high\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.importlinter]\nroot_package = "probe"\n\n[[tool.importlinter.contracts]]\nname = "probe layers"\n'
        'type = "layers"\ncontainers = ["probe"]\nlayers = ["high", "low"]\n'
    )
    env = {"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(tmp_path)}
    r = subprocess.run([exe, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "probe.low is not allowed to import probe.high" in r.stdout
    (pkg / "low.py").write_text("def f():\n    return 1\n")  # without it, kept
    r = subprocess.run([exe, "--no-cache"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr


def _modules(root: Path) -> dict[str, Path]:
    mods = {}
    for path in root.rglob("*.py"):
        name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
        mods[name.removesuffix(".__init__")] = path
    return mods


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    """module -> the package's modules it imports, at the top or inside a function (a package's own __init__ is
    no edge of its submodules)."""
    mods = _modules(root)
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = m.split(".") if is_pkg else m.split(".")[:-1]
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join([*parts, base] if base else parts)
                targets = [base, *(f"{base}.{a.name}" for a in node.names)]
            else:
                continue
            for name in targets:
                t = name
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and not m.startswith(t + "."):
                    edges[m].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    found = []
    for start, targets in edges.items():
        if start in index:
            continue
        work = [(start, iter(sorted(targets)))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    found.append(sorted(comp))
    return found


def test_no_import_cycles():
    found = cycles(import_graph())
    shown = "\n".join(" <-> ".join(c) for c in found)
    assert found == [], f"import cycles (imports inside functions counted):\n{shown}"


def test_the_cycle_count_sees_a_cycle_through_a_function(tmp_path):
    pkg = tmp_path / "probe"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from probe.b import g\n")
    (pkg / "b.py").write_text("def g():\n    from probe import a\n\n    return a\n")
    (pkg / "c.py").write_text("from . import a\n")
    assert cycles(import_graph(pkg)) == [["probe.a", "probe.b"]]


# --- imports inside functions: only for what is heavy ---------------------------------------------------------------

# Third-party stacks too heavy for `import edgeperf.<module>` to pull in unasked: an edgeperf module that brings one
# (at its top, or by require() there) is imported inside the functions that need it; every other edgeperf import
# is at the top of its module (ruff's PLC0415 for edgeperf's own modules, where it can be told apart).
HEAVY = ("torch", "pybullet", "mujoco", "onnxruntime", "openvino", "tensorrt", "ray", "cyclonedds", "zmq", "gymnasium",
         "scipy", "stable_baselines3", "onnx", "matplotlib", "miniwob", "selenium", "tensorboard", "websockets",
         "jinja2", "rich", "typer", "yaml", "pynvml")  # fmt: skip
# Where function-level imports of edgeperf are the design: a command imports the library when it runs (so
# `edgeperf --help` and each command start fast), and a package's __init__ loads its submodules on use (a domain's
# env and policy when the domain is built; listing the domains imports none).
LAZY_BY_DESIGN = ("edgeperf/cli/",)


def _function_imports(root: Path = PACKAGE) -> list[tuple[str, int, str, tuple[str, ...]]]:
    """(file, line, importer module, the edgeperf modules it imports) of every import inside a function."""
    mods = _modules(root)
    found = []
    for m, path in mods.items():
        rel = path.relative_to(root.parent).as_posix()
        if rel.startswith(LAZY_BY_DESIGN) or path.name == "__init__.py":
            continue
        is_pkg = False
        tree = ast.parse(path.read_text(), str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(fn):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom):
                    base = node.module or ""
                    if node.level:
                        parts = m.split(".")[:-1] if not is_pkg else m.split(".")
                        base = ".".join([*parts[: len(parts) - (node.level - 1)], *([base] if base else [])])
                    names = [base, *(f"{base}.{a.name}" for a in node.names)]
                else:
                    continue
                # `from pkg import sub` imports pkg.sub (pkg comes with it); `from pkg import name` imports pkg
                subs = [n for n in names[1:] if n in mods] if isinstance(node, ast.ImportFrom) else names
                targets = set()
                for name in subs or names[:1]:
                    t = name
                    while t and t not in mods:
                        t = t.rpartition(".")[0]
                    if t and t != m:
                        targets.add(t)
                if targets:
                    found.append((rel, node.lineno, m, tuple(sorted(targets))))
    return sorted(set(found))


def _heavy(modules: set[str]) -> dict[str, set[str]]:
    """The heavy stacks importing each module loads, each in a fresh interpreter."""
    code = "import importlib, sys; importlib.import_module(sys.argv[1]); print(*(h for h in sys.argv[2:] if h in sys.modules))"  # noqa: E501

    def one(m):
        r = subprocess.run(
            [sys.executable, "-c", code, m, *HEAVY], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert r.returncode == 0, f"import {m}: {r.stderr[-500:]}"
        return m, set(r.stdout.split())

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, sorted(modules)))


def test_edgeperf_imports_its_own_modules_at_the_top_unless_they_are_heavy():
    found = _function_imports()
    heavy = _heavy({m for *_, m, _ in found} | {t for *_, ts in found for t in ts})
    light = [
        f"{f}:{line}: {', '.join(ts)} (brings nothing {m} lacks)"
        for f, line, m, ts in found
        if not any(heavy[t] - heavy[m] for t in ts)  # one heavy module is the statement's reason
    ]
    assert light == [], "import these at the top of the module:\n" + "\n".join(light)
