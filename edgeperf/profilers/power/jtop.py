"""Jetson power through jtop (jetson-stats), when its service runs; sysfs (ina3221) is the fallback."""

from __future__ import annotations

import math

from edgeperf.errors import DependencyMissing, require
from edgeperf.profilers.power.base import Availability, PowerSource, Reading
from edgeperf.profilers.power.ina3221 import INA3221


class Jtop(PowerSource):
    name = "jtop"
    description = "Jetson power through the jtop service (jetson-stats)"
    update_period_s = 1.0
    update_period_note = "jtop publishes new readings at its service interval (1 s by default)"

    def __init__(self, root=None):
        super().__init__(root)
        self._jtop = None

    def _client(self):
        if self._jtop is None:
            mod = require("jtop", "jetson", "to read Jetson power through jtop", package="jetson-stats")
            client = mod.jtop()
            client.start()  # raises JtopException when jtop.service is not active
            self._jtop = client
        return self._jtop

    def probe(self) -> Availability:
        try:
            power = self._client().power
        except DependencyMissing as exc:
            return Availability(False, str(exc))
        except Exception as exc:
            return Availability(False, f"jtop is installed but not usable: {type(exc).__name__}: {exc}")
        return Availability(True, rails=tuple(power.get("rail", {})))

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        for rail, values in self._client().power.get("rail", {}).items():
            mw = values.get("power") if isinstance(values, dict) else None
            if isinstance(mw, (int, float)) and math.isfinite(mw):
                reading.power_W[rail] = mw / 1000.0  # mW
            else:
                self.unreadable[rail] = f"jtop reports power {mw!r} for {rail}, not a number"
        return reading

    def total_rails(self, rails) -> tuple[list[str], str]:
        return INA3221.total_rails(self, rails)

    def close(self) -> None:
        if self._jtop is not None:
            self._jtop.close()
            self._jtop = None
