"""MkDocs hook: every page shows the version `edgeperf --version` prints (the footer), and `{{ edgeperf_version }}`
in a page is replaced by it. The version is read from edgeperf/_version.py as setuptools reads it, so the docs
build needs edgeperf's source, not an install."""

from __future__ import annotations

import re
from pathlib import Path

VERSION_FILE = Path(__file__).resolve().parents[2] / "edgeperf" / "_version.py"


def version() -> str:
    match = re.search(r'__version__\s*=\s*"([^"]+)"', VERSION_FILE.read_text())
    if not match:
        raise ValueError(f"no __version__ in {VERSION_FILE}")
    return match.group(1)


def on_config(config, **kwargs):
    config.copyright = f"edgeperf {version()}"
    config.extra["edgeperf_version"] = version()
    return config


def on_page_markdown(markdown, page, config, files, **kwargs):
    return markdown.replace("{{ edgeperf_version }}", config.extra["edgeperf_version"])
