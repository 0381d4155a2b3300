"""Laptop battery discharge power (/sys/class/power_supply/BAT*): how a laptop user measures without root.

power_now (uW) where the firmware gives it, else current_now (uA) x voltage_now (uV). Only meaningful while
discharging: on the charger the battery does not see the load.
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.devices.sysfs import read_number, read_text, under
from edgeperf.profilers.power.base import Availability, PowerSource, Reading


class Battery(PowerSource):
    name = "battery"
    description = "laptop battery discharge power (/sys/class/power_supply)"
    update_period_s = 5.0
    update_period_note = "batteries refresh power_now every few seconds (firmware-dependent)"

    def batteries(self) -> list[Path]:
        return sorted(under(self.root, "/sys/class/power_supply").glob("BAT*"))

    def probe(self) -> Availability:
        bats = self.batteries()
        if not bats:
            return Availability(False, "no battery under /sys/class/power_supply")
        status = read_text(bats[0] / "status") or "Unknown"
        if status != "Discharging":
            return Availability(
                False,
                f"battery status is {status}: it only measures the load while discharging (unplug the charger)",
            )
        if not self.read().power_W:
            return Availability(False, f"{bats[0].name} reports neither power_now nor current_now/voltage_now")
        return Availability(True, rails=tuple(b.name for b in bats))

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        for b in self.batteries():
            uw = read_number(b / "power_now")
            if uw is None:
                ua, uv = read_number(b / "current_now"), read_number(b / "voltage_now")
                uw = None if ua is None or uv is None else ua * uv / 1e6
            if uw is not None:
                reading.power_W[b.name] = abs(uw) / 1e6
        return reading
