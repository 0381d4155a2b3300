"""Power sources, one module each, behind the PowerSource contract (base.py).

Listed by name and loaded lazily: NVML and jtop import their vendor modules only when probed.
"""

from __future__ import annotations

import importlib

from edgeperf.profilers.power.base import Availability, PowerSource, Reading

# Measured sources, in the order they are preferred when several work.
SOURCES = {
    "ina3221": "edgeperf.profilers.power.ina3221:INA3221",
    "jtop": "edgeperf.profilers.power.jtop:Jtop",
    "rapl": "edgeperf.profilers.power.rapl:RAPL",
    "nvml": "edgeperf.profilers.power.nvml:NVML",
    "hwmon": "edgeperf.profilers.power.hwmon:Hwmon",
    "battery": "edgeperf.profilers.power.battery:Battery",
}


NO_POWER = "no power sensors on this machine: energy per inference cannot be measured here"


def source_class(name: str) -> type[PowerSource]:
    module, _, cls = SOURCES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def probe_all(root=None) -> dict[str, Availability]:
    """Every measured source and whether it works here, with the reason when it does not."""
    out = {}
    for name in SOURCES:
        source = source_class(name)(root)
        try:
            out[name] = source.probe()
        finally:
            close = getattr(source, "close", None)
            if close:
                close()
    return out


def summary(root=None) -> dict:
    """The power part of `edgeperf devices`: every source with its availability, and one line about them."""
    sources = {name: a.to_dict() for name, a in probe_all(root).items()}
    working = [n for n, s in sources.items() if s["available"]]
    line = f"measured power available from: {', '.join(working)}" if working else NO_POWER
    return {"power_sources": sources, "power_summary": line}


__all__ = ["SOURCES", "Availability", "PowerSource", "Reading", "probe_all", "source_class", "summary"]
