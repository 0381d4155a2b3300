"""What the spec readers share: typed reads of a mapping's values, with the key in every message."""

from __future__ import annotations

import difflib
import numbers
from pathlib import Path

from edgeperf.errors import BadInput


def number(path: Path, key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadInput(f"{path}: {key} is {value!r}; a number is needed")
    return float(value)


def numbers_of(path: Path, key: str, value, n: int | None = None) -> tuple[float, ...]:
    """A list of numbers; a single number is broadcast to n values when n is given."""
    if n is not None and isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (float(value),) * n
    if not isinstance(value, list):
        raise BadInput(f"{path}: {key} is {value!r}; a list of numbers is needed")
    return tuple(number(path, f"{key}[{i}]", v) for i, v in enumerate(value))


def whole(path: Path, key: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or value != int(value):
        raise BadInput(f"{path}: {key} is {value!r}; a whole number is needed")
    return int(value)


def span(path: Path, key: str, value) -> tuple[float, float]:
    """A value or a [low, high] range."""
    if isinstance(value, list):
        vals = numbers_of(path, key, value)
        if len(vals) != 2:
            raise BadInput(f"{path}: {key} must be a value or a [low, high] range, got {value}")
        return vals[0], vals[1]
    v = number(path, key, value)
    return v, v


def require_keys(path: Path, data: dict, keys, fmt: str) -> None:
    missing = [k for k in keys if k not in data]
    if missing:
        raise BadInput(f"{path}: a {fmt} file needs {', '.join(missing)}")


def no_unknown(path: Path, table: dict, known, where: str) -> None:
    """A typo'd key is an error with a did-you-mean, not a silently ignored setting."""
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BadInput(f"{path}: unknown key '{key}' in {where}{hint} Known: {', '.join(known)}")


def table(path: Path, data: dict, key: str) -> dict:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise BadInput(f"{path}: {key} must be a table of keys, got {type(value).__name__}")
    return value


def relative(path: Path, name) -> Path:
    """A path a spec names, relative to the spec's folder."""
    if not isinstance(name, str) or not name:
        raise BadInput(f"{path}: a path is needed, got {name!r}")
    p = Path(name).expanduser()
    return p if p.is_absolute() else path.parent / p
