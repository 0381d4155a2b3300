"""`Record`: a JSON object of a report as a frozen dataclass, a dict only at the edge (`from_dict` / `to_dict`).

A record declares the fields its readers use; every other key of the object is kept in `extra`, and the order of
the keys as read is kept too, so that `to_dict(from_dict(d))` is `d`, key for key and in order: the JSON on disk
never changes because it went through a class. A value that does not have its field's shape (a string where a
block is declared, which a schema allows for `domain`) is kept as it was, in `extra`, and the field is None.

Nested records, tuples of records and maps of name -> record are read from the field's annotation.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

_CACHE = "_record_plan"


def record(cls):
    """The decorator of a Record subclass: a frozen dataclass whose fields are given by name."""
    return dataclass(frozen=True, kw_only=True)(cls)


# How a field's value is read: as it is, as one record, a tuple of records, or a mapping of name -> record.
_SCALAR, _ONE, _MANY, _MAP = "scalar", "one", "many", "map"


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of the typed blocks of a report. Subclasses declare fields, each None when absent."""

    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    keys: tuple[str, ...] = field(default=(), repr=False, compare=False)

    # JSON key -> attribute name, for keys that are not Python names (`return`, `async`)
    RENAME: ClassVar[dict[str, str]] = {}

    @classmethod
    def _plan(cls) -> dict[str, tuple[str, str, type[Record] | None]]:
        """JSON key -> (attribute, how it is read, the record class), from the annotations (once per class)."""
        plan = vars(cls).get(_CACHE)
        if plan is None:
            hints = typing.get_type_hints(cls)
            attr_to_key = {v: k for k, v in cls.RENAME.items()}
            plan = {}
            for f in dataclasses.fields(cls):
                if f.name in ("extra", "keys"):
                    continue
                plan[attr_to_key.get(f.name, f.name)] = (f.name, *_how(hints[f.name]))
            setattr(cls, _CACHE, plan)
        return plan

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]):
        plan = cls._plan()
        values: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, value in d.items():
            if key not in plan:
                extra[key] = value
                continue
            attr, how, sub = plan[key]
            typed = _read(value, how, sub)
            if typed is _MISFIT:
                extra[key] = value
            else:
                values[attr] = typed
        return cls(extra=extra, keys=tuple(d), **values)

    def to_dict(self) -> dict[str, Any]:
        plan = self._plan()
        attr_of = {key: attr for key, (attr, _, _) in plan.items()}
        out: dict[str, Any] = {}
        # read: the keys as they were; built in code: the declared fields that hold a value, then the rest
        order = self.keys or tuple(k for k, a in attr_of.items() if getattr(self, a) is not None) + tuple(self.extra)
        for key in order:
            if key in self.extra or key not in attr_of:
                out[key] = self.extra.get(key)
            else:
                out[key] = _write(getattr(self, attr_of[key]))
        return out

    def __bool__(self) -> bool:
        """Empty as a dict is: a block read from {} (or built with no value) is false."""
        return bool(self.keys or self.extra) or any(getattr(self, a) is not None for a, _, _ in self._plan().values())

    def has(self, key: str) -> bool:
        """Whether the object read had `key` (a figure written as null counts: it was there)."""
        return key in self.keys if self.keys else key in self.extra or self.at(key) is not None

    def at(self, key: str, default: Any = None) -> Any:
        """A field by its JSON key (a percentile by name, for the tables that run over them); a key kept as it was
        (undeclared, or of another shape) gives its value as read."""
        if key in self.extra:
            value = self.extra[key]
        else:
            attr = self.RENAME.get(key, key)
            value = getattr(self, attr) if attr in self.__dataclass_fields__ else None
        return default if value is None else value


class _Misfit:
    pass


_MISFIT = _Misfit()


def _record_in(tp) -> type[Record] | None:
    return tp if isinstance(tp, type) and issubclass(tp, Record) else None


def _how(tp) -> tuple[str, type[Record] | None]:
    """How a field annotated `tp` is read: `X | None`, `tuple[X, ...] | None`, `dict[str, X] | None`."""
    args = typing.get_args(tp) if isinstance(tp, types.UnionType) or typing.get_origin(tp) is typing.Union else (tp,)
    for a in args:
        if _record_in(a):
            return _ONE, a
        origin, inner = typing.get_origin(a), typing.get_args(a)
        if origin is tuple and inner and _record_in(inner[0]):
            return _MANY, inner[0]
        if origin is dict and len(inner) == 2 and _record_in(inner[1]):
            return _MAP, inner[1]
    return _SCALAR, None


def _read(value: Any, how: str, sub: type[Record] | None) -> Any:
    if how == _SCALAR or value is None:
        return value
    if how == _ONE:
        return sub.from_dict(value) if isinstance(value, dict) else _MISFIT
    if how == _MANY:
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            return _MISFIT
        return tuple(sub.from_dict(v) for v in value)
    if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
        return _MISFIT
    return {k: sub.from_dict(v) for k, v in value.items()}


def _write(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, tuple):  # a tuple of records (scalar lists stay lists)
        return [_write(v) for v in value]
    if isinstance(value, dict) and value and all(isinstance(v, Record) for v in value.values()):
        return {k: v.to_dict() for k, v in value.items()}
    return value
