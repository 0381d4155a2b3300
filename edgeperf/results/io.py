"""Writing edgeperf's output files without ever destroying one of the user's (issue 10).

- `check_paths`, before any work: every output is compared with every input (and its companion files) and every
  other output, resolved and by inode (so a hard link or a symlink to the model is caught), and checked writable.
- `atomic_open` / `atomic_write_*`: a regular file (or a path that does not exist yet) is written to a temp file
  beside it, fsynced and renamed over it, so an interrupted or failed write leaves the old file whole and no temp
  behind. A symlink is followed on purpose: its target is replaced and the link stays. A character device or a
  FIFO is written through (opened and written, never renamed over), so `--json /dev/null` keeps /dev/null and
  `--json >(jq .)` works; a FIFO nobody reads is refused instead of blocking. Block devices, sockets and
  directories are refused.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from edgeperf.artifact import companions
from edgeperf.errors import BadInput


def _stat(path: str | os.PathLike, *, strict: bool = False) -> os.stat_result | None:
    """os.stat (following symlinks: what a write reaches), None when there is nothing there."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError) as exc:  # ENAMETOOLONG, ELOOP, EACCES; a NUL byte
        if strict:
            raise BadInput(f"cannot use {short_path(path)}: {getattr(exc, 'strerror', None) or exc}") from None
        return None


def _kind(st: os.stat_result) -> str:
    m = st.st_mode
    for test, name in (
        (stat.S_ISREG, "regular file"),
        (stat.S_ISDIR, "directory"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISFIFO, "FIFO"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(m):
            return name
    return "special file"


def _is_stream(st: os.stat_result | None) -> bool:
    return st is not None and (stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode))


def short_path(path) -> str:
    """A path for a one-line message: a path longer than the OS allows is cut in the middle."""
    s = str(path)
    return s if len(s) <= 160 else f"{s[:100]}...{s[-40:]} ({len(s)} characters)"


def check_writable(path: str | os.PathLike, *, regular: bool = False) -> None:
    """Raise BadInput now, before any work, when `path` cannot receive an output file.

    `regular`: the output must be a regular file (an artifact): a device node or FIFO is refused too.
    """
    st = _stat(path, strict=True)
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise BadInput(f"{short_path(path)} is a directory; give a file name")
        if regular or not _is_stream(st):
            raise BadInput(f"{short_path(path)} is a {_kind(st)}, not a regular file; give a file name")
        if not os.access(path, os.W_OK):
            raise BadInput(f"cannot write {short_path(path)}: permission denied")
        return
    parent = real_parent(path)
    if not parent.exists():
        raise BadInput(f"cannot write {short_path(path)}: directory {short_path(parent)} does not exist")
    if not parent.is_dir():
        raise BadInput(f"cannot write {short_path(path)}: {short_path(parent)} is not a directory")
    if os.statvfs(parent).f_flag & os.ST_RDONLY:
        raise BadInput(f"cannot write {short_path(path)}: {short_path(parent)} is on a read-only file system")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInput(f"cannot write {short_path(path)}: directory {short_path(parent)} is not writable")
    if st is not None and not os.access(path, os.W_OK):
        raise BadInput(
            f"cannot write {short_path(path)}: the existing file is read-only; remove it or give another name"
        )


def _same(a, b) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    sa, sb = _stat(a), _stat(b)
    return sa is not None and sb is not None and (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def check_paths(
    outputs: dict[str, str | os.PathLike | None],
    inputs: dict[str, str | os.PathLike | None] | Iterable[tuple[str, str | os.PathLike | None]] = (),
    *,
    artifacts: dict[str, str | os.PathLike | None] | None = None,
) -> None:
    """Refuse, before any work, an output that would overwrite an input or another output, or cannot be written.

    Keys name the path for the message (`--json`, `the model`); None and '-' (stdout) are skipped; `inputs` may
    also be (name, path) pairs, for several inputs of one name. `artifacts`
    are outputs that must be regular files. An input's companion files (sidecar, weights) count as the input.
    """
    arts = {k: v for k, v in (artifacts or {}).items() if v is not None}
    outs = arts | {k: v for k, v in outputs.items() if v is not None and str(v) != "-"}
    for label, path in outs.items():
        check_writable(path, regular=label in arts)
    ins = []
    for label, path in inputs.items() if isinstance(inputs, dict) else inputs:
        if path is None:
            continue
        ins.append((label, path))
        ins += [(f"{label}'s companion", c) for c in companions(path)]
    ins = [(label, path) for label, path in ins if _stat(path) is not None]
    seen: list[tuple[str, str | os.PathLike]] = []
    for label, path in outs.items():
        if stat.S_ISCHR(getattr(_stat(path), "st_mode", 0)):
            continue  # written through: /dev/null twice destroys nothing
        for in_label, in_path in ins:
            if _same(path, in_path):
                raise BadInput(
                    f"{label} {short_path(path)} is the same file as {in_label} {short_path(in_path)}: writing "
                    "it would destroy it; give another path"
                )
        for out_label, out_path in seen:
            if _same(path, out_path):
                raise BadInput(
                    f"{out_label} and {label} are the same file ({short_path(path)}): one would overwrite the other; "
                    "give each its own path"
                )
        seen.append((label, path))


def _cannot(path, exc: OSError) -> BadInput:
    return BadInput(f"cannot write {short_path(path)}: {exc.strerror or exc}")


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """A file object to write `path` through: the old file stays whole until the new one is complete.

    A failure (full disk, read-only file system, an exception in the with-block, SIGTERM raised as an exception)
    removes the temp file and leaves `path` as it was; an OSError becomes one BadInput line.
    """
    check_writable(path)
    st = _stat(path)
    if _is_stream(st):
        # O_NONBLOCK: a FIFO without a reader fails with ENXIO instead of blocking forever.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY)
        except OSError as exc:
            if exc.errno == errno.ENXIO:
                raise BadInput(f"cannot write {short_path(path)}: no process is reading that FIFO") from None
            raise _cannot(path, exc) from None
        os.set_blocking(fd, True)
        try:
            with os.fdopen(fd, mode) as f:
                yield f
        except OSError as exc:
            raise _cannot(path, exc) from None
        return
    target = os.path.realpath(path)  # a symlink is followed: its target is replaced, the link stays
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{Path(target).name[:200]}.", suffix=".tmp", dir=real_parent(path))
    except OSError as exc:
        raise _cannot(path, exc) from None
    if st is not None:
        perm = stat.S_IMODE(st.st_mode)  # an existing file keeps its permissions
    else:
        umask = os.umask(0)
        os.umask(umask)
        perm = 0o666 & ~umask  # mkstemp makes 0600; a report is an ordinary file
    try:
        with os.fdopen(fd, mode) as f:
            os.fchmod(f.fileno(), perm)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise _cannot(path, exc) from None
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` via `atomic_open`: readers see the old file or the new one, never a part."""
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def real_parent(path: str | os.PathLike) -> Path:
    """The directory a write of `path` lands in (a symlink's target's), where its temp files belong."""
    return Path(os.path.realpath(path)).parent


def install(tmp: str | os.PathLike, dst: str | os.PathLike) -> None:
    """Move a finished temp file (in dst's directory) over `dst`, following a symlink like `atomic_open`."""
    st = _stat(dst)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise BadInput(f"{short_path(dst)} is a {_kind(st)}, not a regular file; give a file name")
    try:
        os.replace(tmp, os.path.realpath(dst))
    except OSError as exc:
        raise _cannot(dst, exc) from None


def protect_std_fds() -> set[int]:
    """Open /dev/null on stdin, stdout or stderr when the caller closed them (`>&-`), so that no file edgeperf
    opens later gets fd 1 and receives what a library prints. Returns the fds that were closed."""
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            closed.add(fd)
    if 1 in closed:
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the process's stdout for its whole life
    if 2 in closed:
        sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    _CLOSED.update(closed)
    return closed


_CLOSED: set[int] = set()


def stdout_closed() -> bool:
    """Whether edgeperf was started with stdout closed (then `--json -` has nowhere to go)."""
    return 1 in _CLOSED


def read_toml(path: str | os.PathLike, what: str) -> dict:
    """The TOML document at `path` (`what` names it in errors: "budget file", "sweep config"); a syntax error
    names its line and column."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10: the same parser, as a package (a dependency there)
        import tomli as tomllib

    p = Path(path)
    shown = short_path(p)
    try:
        return tomllib.loads(p.read_text())
    except FileNotFoundError:
        raise BadInput(f"{what} {shown} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read {what} {shown}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{what} {shown}: TOML syntax error: {exc}") from None
