"""Thermal and clocks: thermal-zone temperatures, CPU and (Jetson) GPU frequencies, the nvpmodel power mode
and whether jetson_clocks is on, and throttling seen during a run. Read under the sysfs root
(EDGEPERF_SYSFS_ROOT) like every hardware reader.

Throttling is flagged from evidence, each named: a thermal zone at or above its first passive trip point,
the kernel's x86 thermal-throttle counters rising, a CPU or GPU running below its maximum while jetson_clocks
pins it there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.devices.sysfs import read_number, read_text, sysfs_root, under

# devfreq nodes of Jetson GPUs: ga10b (Orin), gv11b (Xavier), gp10b (TX2), gm20b (Nano).
_GPU_DEVFREQ = re.compile(r"(gpu|ga10b|gv11b|gp10b|gm20b)", re.IGNORECASE)


def _safe(fn, *a):
    try:
        return fn(*a)
    except (PermissionError, OSError):
        return None


@dataclass
class Snapshot:
    temps_C: dict[str, float] = field(default_factory=dict)
    cpu_mhz: dict[str, float] = field(default_factory=dict)
    gpu_mhz: float | None = None
    throttle_counts: int | None = None


class Thermal:
    """Reads the machine at `root`; `sample(now)` is a sampler extra that keeps the extremes seen."""

    def __init__(self, root=None):
        self.root = sysfs_root(root)
        self.zones = self._zones()
        self.cpus = sorted(
            under(self.root, "/sys/devices/system/cpu").glob("cpu[0-9]*/cpufreq"),
            key=lambda p: int(p.parent.name[3:]),
        )
        self.gpu = self._gpu_devfreq()
        self.first: Snapshot | None = None
        self.last: Snapshot | None = None
        self.max_C: dict[str, float] = {}
        self.min_cpu_mhz: float | None = None
        self.max_cpu_mhz: float | None = None
        self.min_gpu_mhz: float | None = None
        self.max_gpu_mhz: float | None = None
        self.samples = 0

    # -- discovery ---------------------------------------------------------------------------------
    def _zones(self) -> dict[str, Path]:
        out = {}
        for z in sorted(under(self.root, "/sys/class/thermal").glob("thermal_zone*"), key=_index):
            name = _safe(read_text, z / "type") or z.name
            if name in out:
                name = f"{name}.{z.name.removeprefix('thermal_zone')}"
            out[name] = z
        return out

    def _gpu_devfreq(self) -> Path | None:
        for d in sorted(under(self.root, "/sys/class/devfreq").glob("*")):
            name = _safe(read_text, d / "name") or d.name
            if _GPU_DEVFREQ.search(d.name) or _GPU_DEVFREQ.search(name):
                return d
        return None

    @property
    def present(self) -> bool:
        return bool(self.zones or self.cpus or self.gpu)

    # -- reading -----------------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        s = Snapshot()
        for name, z in self.zones.items():
            milli = _safe(read_number, z / "temp")
            if milli is not None and -100_000 < milli < 200_000:
                s.temps_C[name] = milli / 1000.0
        for c in self.cpus:
            khz = _safe(read_number, c / "scaling_cur_freq") or _safe(read_number, c / "cpuinfo_cur_freq")
            if khz:
                s.cpu_mhz[c.parent.name] = khz / 1000.0
        if self.gpu is not None:
            hz = _safe(read_number, self.gpu / "cur_freq")
            s.gpu_mhz = hz / 1e6 if hz else None
        counts = [
            _safe(read_number, p)
            for p in under(self.root, "/sys/devices/system/cpu").glob("cpu[0-9]*/thermal_throttle/*_throttle_count")
        ]
        counts = [c for c in counts if c is not None]
        s.throttle_counts = int(sum(counts)) if counts else None
        return s

    def sample(self, now_ns: int = 0) -> None:
        s = self.snapshot()
        self.samples += 1
        if self.first is None:
            self.first = s
        self.last = s
        for k, v in s.temps_C.items():
            self.max_C[k] = max(v, self.max_C.get(k, v))
        if s.cpu_mhz:
            lo, hi = min(s.cpu_mhz.values()), max(s.cpu_mhz.values())
            self.min_cpu_mhz = lo if self.min_cpu_mhz is None else min(lo, self.min_cpu_mhz)
            self.max_cpu_mhz = hi if self.max_cpu_mhz is None else max(hi, self.max_cpu_mhz)
        if s.gpu_mhz is not None:
            self.min_gpu_mhz = s.gpu_mhz if self.min_gpu_mhz is None else min(s.gpu_mhz, self.min_gpu_mhz)
            self.max_gpu_mhz = s.gpu_mhz if self.max_gpu_mhz is None else max(s.gpu_mhz, self.max_gpu_mhz)

    def passive_trip_C(self, zone: str) -> float | None:
        z = self.zones[zone]
        trips = []
        for t in z.glob("trip_point_*_type"):
            if _safe(read_text, t) in ("passive", "hot"):
                temp = _safe(read_number, t.with_name(t.name.replace("_type", "_temp")))
                if temp and temp > 0:
                    trips.append(temp / 1000.0)
        return min(trips) if trips else None

    def cpu_max_mhz(self) -> float | None:
        vals = [_safe(read_number, c / "cpuinfo_max_freq") for c in self.cpus]
        vals = [v for v in vals if v]
        return max(vals) / 1000.0 if vals else None

    def nvpmodel(self) -> dict | None:
        """The Jetson power mode from nvpmodel's status file and its configuration (names by id)."""
        status = _safe(read_text, under(self.root, "/var/lib/nvpmodel/status"))
        if not status:
            return None
        m = re.search(r"pmode:\s*(\d+)", status)
        if not m:
            return None
        mode = int(m.group(1))
        out: dict = {"id": mode}
        conf = _safe(read_text, under(self.root, "/etc/nvpmodel.conf")) or ""
        for mid, name in re.findall(r"<\s*POWER_MODEL\s+ID=(\d+)\s+NAME=([^\s>]+)\s*>", conf):
            if int(mid) == mode:
                out["name"] = name
        return out

    def jetson_clocks(self) -> bool | None:
        """jetson_clocks pins every online CPU's and the GPU's minimum clock to its maximum; None off a Jetson."""
        if self.gpu is None and _safe(read_text, under(self.root, "/etc/nv_tegra_release")) is None:
            return None
        pinned = []
        for c in self.cpus:
            lo, hi = _safe(read_number, c / "scaling_min_freq"), _safe(read_number, c / "scaling_max_freq")
            if lo and hi:
                pinned.append(lo >= hi)
        if self.gpu is not None:
            lo, hi = _safe(read_number, self.gpu / "min_freq"), _safe(read_number, self.gpu / "max_freq")
            if lo and hi:
                pinned.append(lo >= hi)
        return all(pinned) if pinned else None

    # -- the report block --------------------------------------------------------------------------
    def report(self) -> tuple[dict, list[str]]:
        """The `thermal` results block and warnings (throttling seen)."""
        out: dict = {"samples": self.samples}
        evidence: list[str] = []
        if self.first and self.last:
            zones = {}
            for name in self.max_C:
                z = {"start_C": self.first.temps_C.get(name), "end_C": self.last.temps_C.get(name)}
                z["max_C"] = self.max_C[name]
                trip = self.passive_trip_C(name)
                if trip is not None:
                    z["passive_trip_C"] = trip
                    if self.max_C[name] >= trip:
                        evidence.append(f"{name} reached {self.max_C[name]:.1f} C, its passive trip point {trip:g} C")
                zones[name] = {k: v for k, v in z.items() if v is not None}
            out["zones"] = zones
            if self.first.throttle_counts is not None and self.last.throttle_counts is not None:
                rise = self.last.throttle_counts - self.first.throttle_counts
                out["cpu_throttle_events"] = rise
                if rise > 0:
                    evidence.append(f"the kernel counted {rise} CPU thermal-throttle events")
        if self.min_cpu_mhz is not None:
            out["cpu_mhz"] = {"min": self.min_cpu_mhz, "max": self.max_cpu_mhz, "hardware_max": self.cpu_max_mhz()}
        if self.min_gpu_mhz is not None:
            gpu_max = _safe(read_number, self.gpu / "max_freq")
            out["gpu_mhz"] = {"min": self.min_gpu_mhz, "max": self.max_gpu_mhz}
            if gpu_max:
                out["gpu_mhz"]["max_allowed"] = gpu_max / 1e6
        mode = self.nvpmodel()
        if mode:
            out["nvpmodel"] = mode
        clocks = self.jetson_clocks()
        if clocks is not None:
            out["jetson_clocks"] = clocks
            pinned = [_safe(read_number, c / "scaling_max_freq") for c in self.cpus]
            pinned_mhz = max((p for p in pinned if p), default=0) / 1000.0
            if clocks and pinned_mhz and self.min_cpu_mhz is not None and self.min_cpu_mhz < 0.95 * pinned_mhz:
                evidence.append(
                    f"a CPU ran at {self.min_cpu_mhz:.0f} MHz while jetson_clocks pins it to {pinned_mhz:.0f} MHz"
                )
        out["throttling"] = bool(evidence)
        if evidence:
            out["throttling_evidence"] = evidence
        warnings = [f"throttling seen during the run: {'; '.join(evidence)}"] if evidence else []
        return out, warnings


def _index(p: Path) -> int:
    digits = re.sub(r"\D", "", p.name)
    return int(digits) if digits else 0
