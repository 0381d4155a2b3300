"""Writing edgeperf's output files without ever destroying one of the user's (issue 10).

- `check_paths`, before any work: every output is compared with every input (and its companion files) and every
  other output, resolved and by inode (so a hard link or a symlink to the model is caught), and checked writable.
- `atomic_open` / `atomic_write_*`: a regular file (or a path that does not exist yet) is written to a temp file
  beside it, fsynced and renamed over it, so an interrupted or failed write leaves the old file whole and no temp
  behind. A symlink is followed on purpose: its target is replaced and the link stays. A character device or a
  FIFO is written through (opened and written, never renamed over), so `--json /dev/null` keeps /dev/null and
  `--json >(jq .)` works; a FIFO nobody reads is refused instead of blocking. Block devices, sockets and
  directories are refused.
- `read_document` (issue 24): the one reader of files edgeperf did not just write (reports, budgets, sweep
  configs, netlists, deploy specs, token files, recordings open through `open_input`): a regular file only (a FIFO
  or a device is named, never read, so never blocked on), its size checked before reading, its nesting bounded
  before and after parsing, a mapping at the top; `validate` holds it to a JSON Schema and names the failing
  field. Every refusal is one BadInput line naming the file.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import math
import operator
import os
import re
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

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


# --- reading what edgeperf did not just write (issue 24) ----------------------------------------------------

MAX_DEPTH = 64  # no document edgeperf reads nests deeper than ~10; the readers behind it recurse


def _size(n: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n} bytes"


@contextlib.contextmanager
def open_input(
    path: str | os.PathLike, what: str, *, max_bytes: int, hint: str = ""
) -> Iterator[tuple[IO[bytes], os.stat_result]]:
    """The file at `path`, open for reading in binary, with its stat: only a regular file of at most `max_bytes`.

    `what` names it in errors ("report", "budget file"); `hint` ends each of them (what to do). A FIFO or a device
    is refused by what it is before any read (O_NONBLOCK: opening a FIFO never waits for a writer), and the open
    file is checked again (fstat), so nothing swapped in between is read.
    """
    shown = f"{what} {short_path(path)}"
    tail = f"; {hint}" if hint else ""

    def refuse(st: os.stat_result) -> None:
        if not stat.S_ISREG(st.st_mode):
            raise BadInput(f"cannot read {shown}: it is a {_kind(st)}, not a regular file{tail}")
        if st.st_size > max_bytes:
            raise BadInput(f"{shown} is {_size(st.st_size)}, over the {_size(max_bytes)} edgeperf reads{tail}")

    try:
        refuse(os.stat(path))
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | getattr(os, "O_CLOEXEC", 0))
    except (FileNotFoundError, NotADirectoryError):
        raise BadInput(f"{shown} does not exist{tail}") from None
    except (OSError, ValueError) as exc:  # EACCES, ELOOP, ENAMETOOLONG; a NUL byte in the name
        raise BadInput(f"cannot read {shown}: {getattr(exc, 'strerror', None) or exc}{tail}") from None
    try:
        refuse(os.fstat(fd))
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        try:
            yield f, os.fstat(f.fileno())
        except OSError as exc:  # EIO, EISDIR from a file system that lied in stat
            raise BadInput(f"cannot read {shown}: {exc.strerror or exc}{tail}") from None


def read_bytes(path: str | os.PathLike, what: str, *, max_bytes: int, hint: str = "") -> bytes:
    """The whole of a regular file of at most `max_bytes` (see `open_input`); a file that grew while read is
    refused, never read beyond the limit."""
    with open_input(path, what, max_bytes=max_bytes, hint=hint) as (f, _):
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadInput(f"{what} {short_path(path)} is over the {_size(max_bytes)} edgeperf reads")
    return data


def read_text(path: str | os.PathLike, what: str, *, max_bytes: int, errors: str = "strict", hint: str = "") -> str:
    """A UTF-8 text file (see `read_bytes`); bytes that are not UTF-8 are refused with where they are (`errors`
    'replace': read as U+FFFD, for formats that were always read so)."""
    data = read_bytes(path, what, max_bytes=max_bytes, hint=hint)
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        raise BadInput(
            f"{what} {short_path(path)} is not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r}): "
            "is it the right file?"
        ) from None


# Strings (their brackets are text) and comments, removed before brackets are counted. A string that is never
# closed runs to the end (of the text; of its line in TOML): every quote starts a match, so the scan stays linear.
_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\[\s\S])*(?:"|\\?\Z)')
_TOML_STRINGS = re.compile(
    r'"""[\s\S]*?(?:"""|\Z)|\'\'\'[\s\S]*?(?:\'\'\'|\Z)|"(?:[^"\\\n]|\\.)*(?:"|\\?(?=\n|\Z))|\'[^\'\n]*(?:\'|(?=\n|\Z))'
    r"|#[^\n]*"
)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_OPEN_2_CLOSE_0 = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")


def too_deep(text: str, max_depth: int, strings: re.Pattern = _JSON_STRINGS) -> bool:
    """Whether `text` nests [ and { deeper than `max_depth` outside strings: counted before parsing, so a document
    nested 100,000 deep is refused without a recursion (parsers recurse per level; a raised recursion limit would
    crash). In C-speed chunks (an opener counts 2, a closer 0, minus 1 each: the running depth), stopping at the
    first chunk that goes too deep."""
    brackets = _NOT_BRACKETS.sub("", strings.sub("", text)).encode("ascii").translate(_OPEN_2_CLOSE_0)
    depth = 0
    for start in range(0, len(brackets), 1 << 20):
        chunk = brackets[start : start + (1 << 20)]
        if depth + max(map(operator.sub, itertools.accumulate(chunk), itertools.count(1))) > max_depth:
            return True
        depth += sum(chunk) - len(chunk)
    return False


def _deep(where: str, max_depth: int) -> BadInput:
    return BadInput(
        f"{where} nests more than {max_depth} levels deep (edgeperf reads {max_depth}): is it the right file?"
    )


def parse_json(text: str, where: str, *, max_depth: int = MAX_DEPTH, not_json: str | None = None) -> Any:
    """JSON text -> data; `where` starts each error ("netlist n.json"), `not_json` replaces the start of a syntax
    error's ("r.json is not a JSON report"). Nesting beyond `max_depth`, a syntax error (with its line) and a
    number Python refuses (an int of 5,000 digits) are each one BadInput."""
    if too_deep(text, max_depth):
        raise _deep(where, max_depth)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        if not_json:
            raise BadInput(f"{not_json} (line {exc.lineno}: {exc.msg})") from None
        raise BadInput(f"{where}: line {exc.lineno}: not JSON ({exc.msg})") from None
    except (RecursionError, ValueError) as exc:
        raise BadInput(f"{where} is not JSON edgeperf can read ({str(exc)[:120]})") from None


def _toml(text: str, where: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10: the same parser, as a package (a dependency there)
        import tomli as tomllib
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"{where}: TOML syntax error: {exc}") from None


def nesting(doc: Any) -> int | None:
    """How deep `doc` nests dicts and lists (1 for a flat dict), None when it contains itself (a YAML alias can).
    No recursion; a value shared under several keys (another alias) is measured once, so a "billion laughs"
    document costs its size, not its expansion."""
    height: dict[int, int] = {}
    active: set[int] = set()
    stack: list[tuple[Any, bool]] = [(doc, False)]
    while stack:
        node, done = stack.pop()
        if not isinstance(node, (dict, list)):
            continue
        key = id(node)
        kids = [k for k in (node.values() if isinstance(node, dict) else node) if isinstance(k, (dict, list))]
        if done:
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            active.discard(key)
        elif key in active:
            return None
        elif key not in height:
            active.add(key)
            stack.append((node, True))
            stack.extend((k, False) for k in kids)
    return height.get(id(doc), 0)


def read_document(
    path: str | os.PathLike,
    what: str,
    *,
    max_bytes: int,
    fmt: str = "json",
    parse: Callable[[str], Any] | None = None,
    max_depth: int = MAX_DEPTH,
    mapping: bool = True,
) -> Any:
    """The mapping in the file at `path`: `fmt` 'json' or 'toml', or `parse` (text -> data) for a format read
    elsewhere (YAML, with its own loader). The file is a regular file of at most `max_bytes` (`open_input`), UTF-8,
    nested at most `max_depth` deep (counted before parsing where the format allows, and after), and a mapping at
    the top (unless not `mapping`: the caller says what else it is). `what` names it in every error ("report",
    "budget file")."""
    shown = f"{what} {short_path(path)}"
    if parse is None and fmt not in ("json", "toml"):
        raise ValueError(f"unknown format {fmt!r}")
    named = f"{short_path(path)} is not a {fmt.upper()} {what}" if parse is None else f"{shown} is not UTF-8 text"
    data = read_bytes(path, what, max_bytes=max_bytes)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{named} (byte {exc.start} is {data[exc.start : exc.start + 1]!r}, not UTF-8)") from None
    if parse is None and fmt == "toml" and too_deep(text, max_depth, _TOML_STRINGS):  # parse_json counts its own
        raise _deep(shown, max_depth)
    try:
        if parse is not None:
            doc = parse(text)
        elif fmt == "json":
            doc = parse_json(text, shown, max_depth=max_depth, not_json=named)
        else:
            doc = _toml(text, shown)
    except RecursionError:  # a parser's own recursion, in a format whose nesting is not counted before
        raise BadInput(f"{shown} nests too deep to be a {what}") from None
    depth = nesting(doc)
    if depth is None:
        raise BadInput(f"{shown} holds a value that contains itself (a YAML alias inside its own anchor)")
    if depth > max_depth:
        raise _deep(shown, max_depth)
    if mapping and not isinstance(doc, dict):
        raise BadInput(f"{shown} holds {_a(json_type(doc))} at the top; a {what} is a mapping of keys")
    return doc


def read_toml(path: str | os.PathLike, what: str, *, max_bytes: int = 1 << 20) -> dict:
    """The TOML document at `path` (`what` names it in errors: "budget file", "sweep config"); a syntax error
    names its line and column. Read by `read_document`."""
    return read_document(path, what, max_bytes=max_bytes, fmt="toml")


# --- JSON Schema, the part edgeperf's schemas use -----------------------------------------------------------

_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    # JSON Schema: 2.0 is an integer too
    "integer": lambda v: (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer()),
}


def _a(t: str) -> str:
    return t if t == "null" else f"{'an' if t[0] in 'aeiou' else 'a'} {t}"


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type: 'object', 'array', 'string', 'number', 'boolean', 'null'."""
    for name in ("object", "array", "string", "boolean", "null", "number"):
        if _TYPES[name](value):
            return name
    return type(value).__name__


def _wants(schema: dict) -> str:
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    bounds = [f"{op} {schema[k]:g}" for k, op in (("minimum", ">="), ("maximum", "<=")) if k in schema]
    words = [_a(t) for t in types]
    if bounds and words:
        words[0] += " " + " and ".join(bounds)
    if "enum" in schema:
        words.append("one of " + ", ".join(map(repr, schema["enum"])))
    return " or ".join(words) or "something else"


def _shown(value: Any) -> str:
    """A value in a message: a scalar as Python writes it (as edgeperf's other input errors do), else its type."""
    return _a(json_type(value)) if isinstance(value, (dict, list)) else repr(value)[:60]


def schema_errors(doc: Any, schema: dict, where: str = "") -> Iterator[str]:
    """Where `doc` breaks `schema`, each as "results.latency_us.p99 is 'fast'; it must be a number >= 0 or null".
    The keywords edgeperf's schemas use (draft 2020-12): type, enum, minimum, maximum, minItems, maxItems, items,
    properties, required, additionalProperties; others are ignored. A non-finite number breaks any bound."""
    here = where or "the document"
    types = schema.get("type")
    if types is not None and not any(_TYPES[t](doc) for t in ([types] if isinstance(types, str) else types)):
        yield f"{here} is {_shown(doc)}; it must be {_wants(schema)}"
        return
    if "enum" in schema and doc not in schema["enum"]:
        yield f"{here} is {_shown(doc)}; it must be {_wants({'enum': schema['enum']})}"
        return
    if _TYPES["number"](doc):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        if (lo is not None or hi is not None) and not (
            math.isfinite(doc) and (lo is None or doc >= lo) and (hi is None or doc <= hi)
        ):
            yield f"{here} is {_shown(doc)}; it must be {_wants(schema)}"
    elif isinstance(doc, list):
        lo, hi = schema.get("minItems", 0), schema.get("maxItems")
        if len(doc) < lo or (hi is not None and len(doc) > hi):
            size = str(lo) if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
            yield f"{here} has {len(doc)} items; it must have {size}"
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(doc):
                yield from schema_errors(item, items, f"{where}[{i}]")
    elif isinstance(doc, dict):
        for key in schema.get("required", ()):
            if key not in doc:
                yield f"{where + '.' if where else ''}{key} is missing"
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        for key, value in doc.items():
            sub = props.get(key, extra)
            path = f"{where}.{key}" if where else str(key)
            if sub is False:
                yield f"{path} is not a field of this document"
            elif isinstance(sub, dict):
                yield from schema_errors(value, sub, path)


def validate(doc: Any, schema: dict, source: str) -> None:
    """Raise BadInput naming the first field of `doc` that breaks `schema` (and the schema, by its title)."""
    for problem in schema_errors(doc, schema):
        title = schema.get("title")
        raise BadInput(f"{source}: {problem}" + (f" ({title})" if title else ""))
