"""The PowerSource contract: probe whether a sensor works here, then read it.

`read()` returns rails by name, each either an energy counter in joules (`energy_J`) or an instantaneous
power in watts (`power_W`), with the monotonic timestamp of the reading; the sampler differences counters and
integrates power.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.devices.sysfs import sysfs_root


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
