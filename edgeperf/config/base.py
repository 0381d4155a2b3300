"""What every command's configuration shares: frozen, checked once, a dict only at the JSON edge."""

from __future__ import annotations

import dataclasses
from typing import Any, TypeVar

C = TypeVar("C", bound="Config")


class Config:
    """Base of the per-command configurations (frozen dataclasses).

    `check()` raises the one-line BadInput the CLI and the library both give for a bad value, and returns the
    config, so `Config(...).check()` reads as "a checked config". `to_dict()` is the report's `config` section
    (its keys and values are the versioned report schema); `from_dict()` reads one back. `fields()` and
    `from_fields()` carry every field, by name, to a child process (the report may leave some out)."""

    def check(self: C) -> C:
        return self

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[C], d: dict) -> C:
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})

    def fields(self) -> dict[str, Any]:
        """Every field by name, for a child process (JSON: a tuple arrives as a list, which __post_init__ turns
        back)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_fields(cls: type[C], d: dict[str, Any]) -> C:
        return cls(**d)

    @classmethod
    def of(cls: type[C], config: C | None, options: dict[str, Any], **given: Any) -> C:
        """The config a library entry point runs: `config` as given, or one built from its keyword `options`
        (a TypeError names an unknown one, as a keyword parameter would); not both."""
        if config is None:
            return cls(**given, **options)
        if options:
            raise TypeError(f"give a {cls.__name__} or keyword options, not both ({', '.join(sorted(options))})")
        if not isinstance(config, cls):
            raise TypeError(f"config must be a {cls.__name__}, got {type(config).__name__}")
        return config

    def replace(self: C, **changes: Any) -> C:
        return dataclasses.replace(self, **changes)


def as_tuple(value):
    """A shape given as a list (JSON) or tuple, as a tuple; None stays None."""
    return None if value is None else tuple(value)
