"""Every user-facing failure is an EdgeperfError; the CLI turns it into one line and an exit code.

Exit codes (docs/concepts/pipeline.md): 0 success, 1 a verdict failed, 2 bad input, 3 missing dependency or hardware.
Anything that is not an EdgeperfError is a bug and keeps its traceback.
"""

from __future__ import annotations

import importlib


class EdgeperfError(Exception):
    """Base class: a message that says what failed, what was expected and what to do."""

    exit_code = 2


class BadInput(EdgeperfError):
    """A file, argument or shape the user gave is wrong."""

    exit_code = 2


class VerdictFailed(EdgeperfError):
    """A measurement ran fine and its verdict is negative (parity, equivalence, budget)."""

    exit_code = 1


class DependencyMissing(EdgeperfError):
    """An optional Python stack is not installed (or is installed but broken)."""

    exit_code = 3

    def __init__(
        self,
        package: str,
        extra: str | None = None,
        purpose: str = "",
        hint: str | None = None,
        message: str | None = None,
    ):
        self.package, self.extra = package, extra
        what = f"{package} is not installed" + (f" (needed {purpose})" if purpose else "")
        fix = hint or "install it with: " + (f'pip install "edgeperf[{extra}]"' if extra else f"pip install {package}")
        super().__init__(message or f"{what}; {fix}")


class HardwareMissing(EdgeperfError):
    """The hardware or system service a command needs is not present on this machine."""

    exit_code = 3


def require(module: str, extra: str | None, purpose: str = "", package: str | None = None, hint: str | None = None):
    """Import an optional module, or raise DependencyMissing naming the extra (or the `hint`) that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        # A module that is installed but fails on its own import (broken build, missing .so) is not
        # "missing": say what it said.
        if getattr(exc, "name", None) not in (None, module, module.split(".", maxsplit=1)[0]):
            raise DependencyMissing(
                package or module,
                extra,
                message=f"{package or module} is installed but failed to import ({exc}); reinstall it",
            ) from exc
        raise DependencyMissing(package or module, extra, purpose, hint=hint) from exc
