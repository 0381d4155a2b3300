"""Intel/AMD RAPL energy counters under /sys/class/powercap (package and dram domains).

The counters are in microjoules and wrap at max_energy_range_uj; reading them is root-only since
CVE-2020-8694.
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.devices.sysfs import read_number, read_text, under
from edgeperf.profilers.power.base import Availability, PowerSource, Reading, unavailable

FIX = "energy_uj is root-only since CVE-2020-8694: run as root or `sudo chmod a+r /sys/class/powercap/*/energy_uj`"


class RAPL(PowerSource):
    name = "rapl"
    description = "CPU package/DRAM energy counters (Intel/AMD RAPL via powercap)"
    update_period_s = 0.001
    update_period_note = "RAPL counters update about every millisecond"

    def domains(self) -> dict[str, Path]:
        """rail name (e.g. package-0, package-0/dram) -> the domain's directory."""
        out = {}
        for d in sorted(under(self.root, "/sys/class/powercap").glob("intel-rapl:*")):
            name = read_text(d / "name") or d.name
            parent = d.name.rsplit(":", 1)[0]
            if parent.count(":") >= 1:  # a subdomain like intel-rapl:0:1 belongs to package intel-rapl:0
                name = f"{read_text(d.parent / parent / 'name') or parent}/{name}"
            out[name] = d
        return out

    def max_range_J(self, rail: str) -> float | None:
        d = self.domains().get(rail)
        uj = None if d is None else read_number(d / "max_energy_range_uj")
        return None if uj is None else uj / 1e6

    def wrap_J(self, rail: str) -> float | None:
        if not hasattr(self, "_wrap"):
            self._wrap: dict[str, float | None] = {}
        if rail not in self._wrap:
            try:
                self._wrap[rail] = self.max_range_J(rail)
            except PermissionError:
                self._wrap[rail] = None
        return self._wrap[rail]

    def total_rails(self, rails) -> tuple[list[str], str]:
        rails = list(rails)
        if "psys" in rails:
            return ["psys"], "psys, the platform domain (it contains the packages and DRAM)"
        # core, uncore (and gpu) sub-domains are inside their package; DRAM is not.
        chosen = [r for r in rails if "/" not in r or r.endswith("/dram")]
        return chosen, "packages + DRAM (core/uncore sub-domains are inside the package: not added again)"

    def probe(self) -> Availability:
        try:
            domains = self.domains()
        except OSError as exc:
            return unavailable(exc, FIX)
        if not domains:
            return Availability(False, "no RAPL domains under /sys/class/powercap (no RAPL, or a VM that hides it)")
        return self.checked(domains, FIX)

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        for rail, d in self.domains().items():
            uj = self.rail_number(rail, d / "energy_uj")
            if uj is not None:
                reading.energy_J[rail] = uj / 1e6
        return reading
