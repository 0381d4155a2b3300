"""Generic hwmon power sensors (/sys/class/hwmon/hwmon*/power*_input or power*_average, microwatts).

INA3221 monitors are left to the ina3221 source, which knows their rail names.
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.devices.sysfs import read_text, under
from edgeperf.profilers.power.base import Availability, PowerSource, Reading, unavailable


class Hwmon(PowerSource):
    name = "hwmon"
    description = "hwmon power sensors (/sys/class/hwmon)"
    update_period_s = 1.0
    update_period_note = "hwmon power*_average sensors typically average over about a second"

    def sensors(self) -> dict[str, Path]:
        out = {}
        for hw in sorted(under(self.root, "/sys/class/hwmon").glob("hwmon*")):
            chip = read_text(hw / "name") or hw.name
            if chip.startswith("ina3221"):
                continue
            for f in sorted([*hw.glob("power*_input"), *hw.glob("power*_average")]):
                idx = f.name.split("_")[0]
                label = read_text(hw / f"{idx}_label") or idx
                out.setdefault(f"{chip}/{label}", f)
        return out

    def probe(self) -> Availability:
        try:
            sensors = self.sensors()
        except OSError as exc:
            return unavailable(exc)
        if not sensors:
            return Availability(False, "no hwmon power sensors under /sys/class/hwmon")
        return self.checked(sensors)

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        for rail, f in self.sensors().items():
            uw = self.rail_number(rail, f)
            if uw is not None:
                reading.power_W[rail] = uw / 1e6
        return reading
