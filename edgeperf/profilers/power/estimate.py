"""The CPU-time model: CPU seconds x per-core power from the device catalog. An estimate, never a measurement.

Used only when asked (`--power estimate`) or, with `--power any`, when no sensor exists (then with a
warning). It models the energy the measured work adds on the CPU cores it keeps busy: no GPU, memory or
board power, no frequency scaling. The report labels every figure from it `"estimate": true` with the
per-core figure and its source.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from edgeperf.devices import catalog
from edgeperf.profilers.power.base import Availability, PowerSource, Reading

RAIL = "cpu"


class Estimate(PowerSource):
    name = "estimate"
    description = "estimate: CPU time x per-core power from the device catalog (not a measurement)"
    estimate = True
    update_period_s = 0.0
    update_period_note = "computed from CPU time, no sensor"

    def __init__(self, root=None, *, core_W: float | None = None, basis: str = "", cpu_seconds=None):
        super().__init__(root)
        self.core_W = core_W
        self.basis = basis
        # What CPU time to charge: this process by default (all its threads); `measure` passes the child tree's.
        self.cpu_seconds: Callable[[], float] = cpu_seconds or time.process_time

    @classmethod
    def for_device(cls, device, root=None, cpu_seconds=None) -> Estimate:
        """The estimate with the per-core figure of a catalog entry (or of its onboard computer)."""

        spec = device
        if spec.compute:
            spec = catalog.by_id(spec.compute)
        if spec.core_W is None:  # an entry without a figure takes its architecture's generic one
            spec = catalog.generic(spec.arch)
        basis = f"{spec.core_W:g} W per busy core for {spec.id} ({spec.core_W_source})" if spec.core_W else ""
        return cls(root, core_W=spec.core_W, basis=basis, cpu_seconds=cpu_seconds)

    def probe(self) -> Availability:
        if not self.core_W:
            return Availability(False, "the device catalog has no per-core power figure for this machine")
        return Availability(True, rails=(RAIL,))

    def read(self) -> Reading:
        reading = Reading(self.now_ns())
        if self.core_W:
            reading.energy_J[RAIL] = self.cpu_seconds() * self.core_W
        return reading
