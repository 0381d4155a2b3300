"""Laptop battery discharge power (/sys/class/power_supply/BAT*): how a laptop user measures without root.

power_now (uW) where the firmware gives it, else current_now (uA) x voltage_now (uV). Only meaningful while
discharging: on the charger the battery does not see the load.
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.devices.sysfs import read_text, under
from edgeperf.profilers.power.base import Availability, PowerSource, Reading, unavailable


class Battery(PowerSource):
    name = "battery"
    description = "laptop battery discharge power (/sys/class/power_supply)"
    update_period_s = 5.0
    update_period_note = "batteries refresh power_now every few seconds (firmware-dependent)"

    def batteries(self) -> list[Path]:
        return sorted(under(self.root, "/sys/class/power_supply").glob("BAT*"))

    def probe(self) -> Availability:
        try:
            bats = self.batteries()
            status = (read_text(bats[0] / "status") or "Unknown") if bats else None
        except OSError as exc:
            return unavailable(exc)
        if not bats:
            return Availability(False, "no battery under /sys/class/power_supply")
        if status != "Discharging":
            return Availability(
                False,
                f"battery status is {status}: it only measures the load while discharging (unplug the charger)",
            )
        available = self.checked([b.name for b in bats])
        if not available.ok and not self.unreadable:
            return Availability(False, f"{bats[0].name} reports neither power_now nor current_now/voltage_now")
        return available

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        for b in self.batteries():
            if (b / "power_now").exists():
                uw = self.rail_number(b.name, b / "power_now")
            else:
                ua, uv = self.rail_number(b.name, b / "current_now"), self.rail_number(b.name, b / "voltage_now")
                uw = None if ua is None or uv is None else ua * uv / 1e6
            if uw is not None:
                reading.power_W[b.name] = abs(uw) / 1e6
        return reading
