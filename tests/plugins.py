"""A third-party domain plugin for tests: a module written to a folder on sys.path, so that it is importable here
and in spawned workers, and forgotten afterwards."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path


@contextlib.contextmanager
def plugin_module(folder: Path, name: str, source: str, domains: tuple[str, ...] = ()):
    """Write `source` as module `name` in `folder` and put the folder on sys.path; afterwards take it off, forget
    the module and unregister `domains` (the ids it registers, when a test relies on them being gone)."""
    from edgeperf.domains import base

    (folder / f"{name}.py").write_text(textwrap.dedent(source))
    sys.path.insert(0, str(folder))
    try:
        yield folder
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(name, None)
        for domain_id in domains:
            base._REGISTRY.pop(domain_id, None)
