"""MkDocs hook: every page shows the version `edgeperf --version` prints (the footer), and `{{ edgeperf_version }}`
in a page is replaced by it; `{{ public_api }}` becomes a mkdocstrings entry for every name `import edgeperf`
offers, read from the package's own table of lazily loaded names (edgeperf/__init__.py's _LAZY), and `{{ configs }}`
one for every configuration edgeperf.config exports, so the API reference follows the API. All are read from
the source as text, so the docs build needs no install."""

from __future__ import annotations

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "edgeperf"
VERSION_FILE = PACKAGE / "_version.py"


def version() -> str:
    match = re.search(r'__version__\s*=\s*"([^"]+)"', VERSION_FILE.read_text())
    if not match:
        raise ValueError(f"no __version__ in {VERSION_FILE}")
    return match.group(1)


def on_config(config, **kwargs):
    config.copyright = f"edgeperf {version()}"
    config.extra["edgeperf_version"] = version()
    return config


def public_api() -> dict[str, str]:
    """`edgeperf.NAME` -> the dotted path where it is defined, from edgeperf/__init__.py's _LAZY table."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if isinstance(target, ast.Name) and target.id == "_LAZY":
            table = ast.literal_eval(node.value)
            return {name: where.replace(":", ".") for name, where in table.items()}
    raise ValueError(f"no _LAZY table in {PACKAGE / '__init__.py'}")


def api_markdown() -> str:
    rows = ["| name | defined in |", "|---|---|"]
    rows += [f"| `edgeperf.{name}` | `{path}` |" for name, path in public_api().items()]
    entries = [
        f"### `edgeperf.{name}`\n\n::: {path}\n    options:\n      show_root_heading: false\n"
        for name, path in public_api().items()
    ]
    return "\n".join(rows) + "\n\n" + "\n".join(entries)


def configs() -> list[str]:
    """The typed command configurations edgeperf.config exports (its __all__)."""
    tree = ast.parse((PACKAGE / "config" / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__all__":
            return list(ast.literal_eval(node.value))
    raise ValueError("no __all__ in edgeperf/config/__init__.py")


def on_page_markdown(markdown, page, config, files, **kwargs):
    markdown = markdown.replace("{{ edgeperf_version }}", config.extra["edgeperf_version"])
    if "{{ public_api }}" in markdown:
        markdown = markdown.replace("{{ public_api }}", api_markdown())
    if "{{ configs }}" in markdown:
        markdown = markdown.replace("{{ configs }}", "\n".join(f"::: edgeperf.config.{c}\n" for c in configs()))
    return markdown
