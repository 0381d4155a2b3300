"""Jetson INA3221 power monitors read straight from sysfs (no jtop service needed).

JetPack 5/6 expose them through hwmon: /sys/bus/i2c/devices/*/name == "ina3221", then
hwmon/hwmonN/inK_label, inK_input (mV) and currK_input (mA). JetPack 4 uses iio:
iio:deviceN/rail_name_K, in_powerK_input (mW), in_voltageK_input, in_currentK_input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from edgeperf.devices.sysfs import read_text, under
from edgeperf.profilers.power.base import Availability, PowerSource, Reading, unavailable

# Rails that carry the whole module's input power, by board family (Orin Nano/NX and Xavier NX: VDD_IN;
# Nano and TX1: POM_5V_IN). The AGX modules have no single input rail (AGX Orin: VDD_GPU_SOC, VDD_CPU_CV,
# VIN_SYS_5V0, VDDQ_VDD2_1V8AO): there the module total is the sum of the rails.
INPUT_RAILS = ("VDD_IN", "POM_5V_IN")
_SKIP = re.compile(r"^(NC|sum of shunt voltages)$", re.IGNORECASE)


@dataclass(frozen=True)
class Channel:
    rail: str
    power_mw: Path | None = None  # JetPack 4 iio reports power directly
    voltage_mv: Path | None = None
    current_ma: Path | None = None


class INA3221(PowerSource):
    name = "ina3221"
    description = "Jetson on-board INA3221 power monitors (sysfs)"
    update_period_s = 0.01
    update_period_note = "the INA3221 averages each channel over a few milliseconds (conversion time x samples)"

    def channels(self) -> list[Channel]:
        devices = under(self.root, "/sys/bus/i2c/devices")
        found: list[Channel] = []
        for name_file in sorted(devices.glob("*/name")):
            if read_text(name_file) not in ("ina3221", "ina3221x"):
                continue
            found += self._hwmon_channels(name_file.parent)
        # JetPack 4: the iio layout (driver ina3221x) has no hwmon name file on the i2c device.
        for rail_file in sorted(devices.glob("*/iio:device*/rail_name_*")):
            k = rail_file.name.rsplit("_", 1)[1]
            base = rail_file.parent
            found.append(
                Channel(
                    rail=read_text(rail_file) or f"rail{k}",
                    power_mw=base / f"in_power{k}_input",
                    voltage_mv=base / f"in_voltage{k}_input",
                    current_ma=base / f"in_current{k}_input",
                )
            )
        return [c for c in found if not _SKIP.match(c.rail)]

    @staticmethod
    def _hwmon_channels(device: Path) -> list[Channel]:
        out = []
        for label in sorted(device.glob("hwmon/hwmon*/in*_label")):
            k = label.name[2:].split("_")[0]
            current = label.parent / f"curr{k}_input"
            if not current.exists():  # "sum of shunt voltages" and shunt-only channels have no current
                continue
            out.append(
                Channel(read_text(label) or f"in{k}", voltage_mv=label.parent / f"in{k}_input", current_ma=current)
            )
        return out

    def probe(self) -> Availability:
        try:
            channels = self.channels()
        except OSError as exc:
            return unavailable(exc)
        if not channels:
            return Availability(False, "no INA3221 power monitor under /sys/bus/i2c/devices (not a Jetson)")
        return self.checked([c.rail for c in channels])

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        for c in self.channels():
            if c.power_mw is not None and c.power_mw.exists():
                mw = self.rail_number(c.rail, c.power_mw)
            else:
                mv, ma = self.rail_number(c.rail, c.voltage_mv), self.rail_number(c.rail, c.current_ma)
                mw = None if mv is None or ma is None else mv * ma / 1000.0
            if mw is not None:
                reading.power_W[c.rail] = mw / 1000.0
        return reading

    def total_rails(self, rails) -> tuple[list[str], str]:
        rail = INA3221.input_rail(rails)
        if rail:
            return [rail], f"{rail}, the module's input rail (the other rails are inside it: not added again)"
        return list(rails), "sum of the monitored rails (no input rail on this board; loads off them are missed)"

    @staticmethod
    def input_rail(rails) -> str | None:
        """The rail that measures the whole board, when the board has one."""
        return next((r for r in INPUT_RAILS if r in rails), None)
