"""The filesystem root that hardware readers look under.

Every reader of /proc, /sys or /etc takes a root (default `/`, or `EDGEPERF_SYSFS_ROOT`) so that tests can
present a captured tree of a Jetson or a laptop instead of this machine.
"""

from __future__ import annotations

import math
import os
import stat
from pathlib import Path

from edgeperf.errors import BadInput

ENV_VAR = "EDGEPERF_SYSFS_ROOT"


def sysfs_root(root: str | os.PathLike | None = None) -> Path:
    if root is None and os.environ.get(ENV_VAR):
        env = Path(os.environ[ENV_VAR])
        if not env.is_dir():  # a typo would read as "a machine with nothing": say so instead
            raise BadInput(f"{ENV_VAR}={env} is not a directory: give a captured filesystem tree, or unset it")
        return env
    return Path(root if root is not None else "/")


def is_live(root: Path) -> bool:
    """True when the root is this machine's own filesystem, so live APIs (psutil, platform) may be used."""
    return root.resolve() == Path("/")


def under(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


# Sensor and info files are a line or a few KiB (a 256-thread /proc/cpuinfo is about 300 KiB).
TEXT_LIMIT = 1 << 20
NUMBER_LIMIT = 4096


class UnreadableFile(OSError):
    """A path that exists but is no sensor or info file (a directory, a FIFO, a device, an endless file)."""


def read_text(path: Path, limit: int = TEXT_LIMIT) -> str | None:
    """The stripped text of a sysfs/proc file, or None when it does not exist. Never blocks and never reads
    more than `limit` bytes: a FIFO, a device node, a directory or a longer file raises UnreadableFile with the
    reason. PermissionError propagates (its fix differs)."""
    try:
        # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; refused just below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise UnreadableFile(f"{path} is a directory, not a sensor file") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # sysfs and procfs attributes are regular files
            raise UnreadableFile(f"{path} is {file_kind(mode)}, not a sensor file")
        data = os.read(fd, limit + 1)
        while data and len(data) <= limit:  # procfs hands out a page per read
            more = os.read(fd, limit + 1 - len(data))
            if not more:
                break
            data += more
    except BlockingIOError:
        raise UnreadableFile(f"{path} has no data to read now (it would block)") from None
    except IsADirectoryError:
        raise UnreadableFile(f"{path} is a directory, not a sensor file") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise UnreadableFile(f"{path} holds more than {limit} bytes: not a sensor file")
    return data.decode(errors="replace").replace("\x00", "").strip()


def file_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def parse_number(text: str | None) -> float | None:
    """The first word of a sensor file as a finite number; None for garbage, NaN or inf."""
    try:
        value = float(text.split()[0])
    except (AttributeError, ValueError, IndexError):
        return None
    return value if math.isfinite(value) else None


def read_number(path: Path) -> float | None:
    return parse_number(read_text(path, NUMBER_LIMIT))
