"""The filesystem root that hardware readers look under.

Every reader of /proc, /sys or /etc takes a root (default `/`, or `EDGEPERF_SYSFS_ROOT`) so that tests can
present a captured tree of a Jetson or a laptop instead of this machine.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "EDGEPERF_SYSFS_ROOT"


def sysfs_root(root: str | os.PathLike | None = None) -> Path:
    return Path(root if root is not None else os.environ.get(ENV_VAR) or "/")


def is_live(root: Path) -> bool:
    """True when the root is this machine's own filesystem, so live APIs (psutil, platform) may be used."""
    return root.resolve() == Path("/")


def under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def read_text(path: Path) -> str | None:
    """The stripped text of a sysfs/proc file, or None when it does not exist. PermissionError propagates."""
    try:
        return path.read_text(errors="replace").replace("\x00", "").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None


def read_number(path: Path) -> float | None:
    text = read_text(path)
    if text is None:
        return None
    try:
        return float(text.split()[0])
    except (ValueError, IndexError):
        return None
