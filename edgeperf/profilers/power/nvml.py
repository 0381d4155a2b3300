"""NVIDIA GPU power through NVML (nvidia-ml-py): the total-energy counter where supported, power otherwise.

On Jetson NVML reports NOT_SUPPORTED for power; the ina3221 source covers it there.
"""

from __future__ import annotations

from edgeperf.devices.sysfs import is_live
from edgeperf.errors import DependencyMissing, require
from edgeperf.profilers.power.base import Availability, PowerSource, Reading


class NVML(PowerSource):
    name = "nvml"
    description = "NVIDIA GPU board power/energy (NVML)"
    update_period_s = 1.0
    update_period_note = "NVML power usage is a 1 s average on recent GPUs"

    def __init__(self, root=None):
        super().__init__(root)
        self._handles: list | None = None
        self._energy_counter = True

    def _init(self):
        nv = require("pynvml", "nvidia", "to read NVIDIA GPU power", package="nvidia-ml-py")
        if self._handles is None:
            nv.nvmlInit()
            self._handles = [nv.nvmlDeviceGetHandleByIndex(i) for i in range(nv.nvmlDeviceGetCount())]
        return nv

    def probe(self) -> Availability:
        try:
            require("pynvml", "nvidia", "to read NVIDIA GPU power", package="nvidia-ml-py")
        except DependencyMissing as exc:
            return Availability(False, str(exc))
        if not is_live(self.root):  # NVML reads this machine's GPUs, never a captured tree (as devices.detect)
            return Availability(False, "not queried: reading a captured tree (EDGEPERF_SYSFS_ROOT), not this machine")
        try:
            nv = self._init()
        except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
            return Availability(False, f"NVML did not start ({exc}): no NVIDIA driver on this machine")
        if not self._handles:
            return Availability(False, "NVML found no NVIDIA GPU")
        self._energy_counter = True
        try:
            self.read()
        except nv.NVMLError as exc:
            return Availability(False, f"NVML cannot read GPU power here ({exc}); on a Jetson use ina3221")
        return Availability(True, rails=tuple(f"gpu{i}" for i in range(len(self._handles))))

    def read(self) -> Reading:
        nv = self._init()
        reading = Reading(self.now_ns())
        for i, h in enumerate(self._handles or []):
            if self._energy_counter:
                try:
                    reading.energy_J[f"gpu{i}"] = nv.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0  # mJ
                    continue
                except nv.NVMLError_NotSupported:
                    self._energy_counter = False
            reading.power_W[f"gpu{i}"] = nv.nvmlDeviceGetPowerUsage(h) / 1000.0  # mW
        return reading

    def close(self) -> None:
        if self._handles is not None:
            try:
                import pynvml as nv

                nv.nvmlShutdown()
            except Exception:  # a fake module or a driver that went away: nothing to release
                pass
            self._handles = None
