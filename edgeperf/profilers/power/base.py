"""The PowerSource contract: probe whether a sensor works here, then read it.

`read()` returns rails by name, each either an energy counter in joules (`energy_J`) or an instantaneous
power in watts (`power_W`), with the monotonic timestamp of the reading; the sampler differences counters and
integrates power.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.devices.sysfs import NUMBER_LIMIT, UnreadableFile, parse_number, read_text, sysfs_root


@dataclass(frozen=True)
class Availability:
    ok: bool
    reason: str = ""
    rails: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = {"available": self.ok, "rails": list(self.rails)}
        if self.reason:
            out["reason"] = self.reason
        return out


@dataclass
class Reading:
    timestamp_ns: int
    power_W: dict[str, float] = field(default_factory=dict)
    energy_J: dict[str, float] = field(default_factory=dict)


class PowerSource:
    """Base for every power source; subclasses set `name`, `description` and implement probe/read."""

    name = ""
    description = ""
    estimate = False  # True only for the CPU-time model: never presented as a measurement
    # How often the sensor itself produces a new value (its update or averaging period), in seconds: a
    # window shorter than a few of these is interpolated rather than measured, and the report says so.
    update_period_s = 0.1
    update_period_note = ""

    def __init__(self, root=None):
        self.root: Path = sysfs_root(root)
        # rail -> why a read of it gave no figure (its latest failure): a rail that never read is reported
        # unmeasured with this reason, and a total that needs it is absent, never a sum without it.
        self.unreadable: dict[str, str] = {}
        self.announced: tuple[str, ...] = ()  # the rails the probe found (set by whoever keeps the source)

    def rail_number(self, rail: str, path: Path) -> float | None:
        """A rail's sensor file as a finite number, or None with the reason kept in `unreadable`."""
        try:
            text = read_text(path, NUMBER_LIMIT)
        except UnreadableFile as exc:
            self.unreadable[rail] = str(exc)
            return None
        value = parse_number(text)
        if value is None:
            shown = text if text is None or len(text) <= 40 else text[:37] + "..."
            self.unreadable[rail] = f"{path} is missing" if text is None else f"{path} reads {shown!r}, not a number"
        return value

    def checked(self, rails, fix: str = "run as root") -> Availability:
        """Read once: available when at least one rail gives a figure; the reasons for those that do not."""
        try:
            reading = self.read()
        except OSError as exc:
            return unavailable(exc, fix)
        got = set(reading.power_W) | set(reading.energy_J)
        bad = {r: why for r, why in self.unreadable.items() if r not in got}
        said = "; ".join(f"{r}: {why}" for r, why in bad.items())
        if not got:
            return Availability(False, f"no rail could be read ({said or 'no values'})")
        return Availability(True, f"unreadable rails: {said}" if said else "", tuple(r for r in rails if r in got))

    def probe(self) -> Availability:
        raise NotImplementedError

    def read(self) -> Reading:
        raise NotImplementedError

    def total_rails(self, rails) -> tuple[list[str], str]:
        """The rails whose sum is the board total (without counting a sub-rail twice), and how it was chosen."""
        rails = list(rails)
        return rails, "sum of all rails" if len(rails) > 1 else "the only rail"

    def wrap_J(self, rail: str) -> float | None:
        """The value at which an energy counter wraps back to 0 (None: it does not wrap in practice)."""
        return None

    def close(self) -> None:
        """Release vendor handles (NVML, the jtop client)."""

    @staticmethod
    def now_ns() -> int:
        # The same clock the latency timings use, so energy can be integrated over the measured window.
        return time.perf_counter_ns()


def permission_reason(path: Path, fix: str) -> str:
    return f"{path} is not readable by this user (permission denied); {fix}"


def unavailable(exc: OSError, fix: str = "run as root") -> Availability:
    """A source whose files cannot be read: permission (with its fix) or no sensor file at all (with why)."""
    if isinstance(exc, PermissionError):
        return Availability(False, permission_reason(Path(exc.filename or "?"), fix))
    return Availability(False, str(exc) if isinstance(exc, UnreadableFile) else f"{type(exc).__name__}: {exc}")
