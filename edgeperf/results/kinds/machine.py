"""`edgeperf devices`: what was found on this machine (edgeperf.devices.detect and the power sources), typed."""

from __future__ import annotations

from typing import Any

from edgeperf.results.record import Record, record


@record
class DeviceId(Record):
    id: str | None = None
    family: str | None = None
    name: str | None = None


@record
class CpuInfo(Record):
    model: str | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None
    max_mhz: Any = None


@record
class MemoryInfo(Record):
    total_bytes: int | None = None
    total_gib: Any = None


@record
class OsInfo(Record):
    name: str | None = None
    kernel: str | None = None
    arch: str | None = None


@record
class JetsonInfo(Record):
    model: str | None = None
    l4t: str | None = None


@record
class Gpu(Record):
    name: str | None = None


@record
class BackendInfo(Record):
    available: bool | None = None
    version: str | None = None
    providers: list | None = None
    reason: str | None = None


@record
class SourceInfo(Record):
    available: bool | None = None
    rails: list | None = None
    reason: str | None = None


@record
class Machine(Record):
    """The devices document (`edgeperf devices --json`): this machine, its backends and power sources."""

    schema: str | None = None
    device: DeviceId | None = None
    root: str | None = None
    cpu: CpuInfo | None = None
    memory: MemoryInfo | None = None
    os: OsInfo | None = None
    python: str | None = None
    jetson: JetsonInfo | None = None
    gpus: tuple[Gpu, ...] | None = None
    gpus_reason: str | None = None
    backends: dict[str, BackendInfo] | None = None
    power_sources: dict[str, SourceInfo] | None = None
    power_summary: str | None = None
