"""The computers policies get deployed to, and how `--device auto|ID|FAMILY` resolves to one of them.

Entries state only what identifies a board and what the profiler needs to know about it; figures that come
from vendor datasheets say so in `notes`.
"""

from __future__ import annotations

import difflib
import platform
from dataclasses import asdict, dataclass, field

from edgeperf.errors import BadInput


@dataclass(frozen=True)
class DeviceSpec:
    id: str
    family: str  # "jetson", "quadruped", "generic"
    name: str
    arch: str
    match: tuple[str, ...] = ()  # substrings of /proc/device-tree/model that identify the board
    cpu: str = ""
    gpu: str = ""
    power_modes: tuple[str, ...] = ()
    compute: str = ""  # for a robot: the catalog id of its onboard computer
    notes: str = ""
    aliases: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(self).items() if v not in ("", ())}


CATALOG: tuple[DeviceSpec, ...] = (
    DeviceSpec(
        "jetson-orin-nano",
        "jetson",
        "NVIDIA Jetson Orin Nano",
        "aarch64",
        ("Orin Nano",),
        cpu="6-core Arm Cortex-A78AE",
        gpu="Ampere, 1024 CUDA cores",
        power_modes=("7W", "15W", "25W (MAXN SUPER, JetPack 6.2)"),
        aliases=("orin-nano",),
    ),
    DeviceSpec(
        "jetson-orin-nx",
        "jetson",
        "NVIDIA Jetson Orin NX",
        "aarch64",
        ("Orin NX",),
        cpu="6- or 8-core Arm Cortex-A78AE",
        gpu="Ampere, 1024 CUDA cores",
        power_modes=("10W", "15W", "25W", "MAXN"),
        aliases=("orin-nx",),
    ),
    DeviceSpec(
        "jetson-agx-orin",
        "jetson",
        "NVIDIA Jetson AGX Orin",
        "aarch64",
        ("AGX Orin", "Jetson-AGX"),
        cpu="8- or 12-core Arm Cortex-A78AE",
        gpu="Ampere, 1792 or 2048 CUDA cores",
        power_modes=("15W", "30W", "50W", "MAXN"),
        aliases=("agx-orin",),
    ),
    DeviceSpec(
        "jetson-xavier-nx",
        "jetson",
        "NVIDIA Jetson Xavier NX",
        "aarch64",
        ("Xavier NX",),
        cpu="6-core NVIDIA Carmel",
        gpu="Volta, 384 CUDA cores",
        power_modes=("10W", "15W", "20W"),
    ),
    DeviceSpec(
        "jetson-agx-xavier",
        "jetson",
        "NVIDIA Jetson AGX Xavier",
        "aarch64",
        ("AGX Xavier",),
        cpu="8-core NVIDIA Carmel",
        gpu="Volta, 512 CUDA cores",
        power_modes=("10W", "15W", "30W", "MAXN"),
    ),
    DeviceSpec(
        "jetson-nano",
        "jetson",
        "NVIDIA Jetson Nano",
        "aarch64",
        ("Jetson Nano",),
        cpu="4-core Arm Cortex-A57",
        gpu="Maxwell, 128 CUDA cores",
        power_modes=("5W", "MAXN"),
    ),
    DeviceSpec(
        "unitree-go2-edu",
        "quadruped",
        "Unitree Go2 EDU onboard computer",
        "aarch64",
        compute="jetson-orin-nx",
        notes="the EDU expansion dock carries a Jetson Orin (NX or Nano)",
        aliases=("go2",),
    ),
    DeviceSpec(
        "anymal-onboard",
        "quadruped",
        "ANYmal-class onboard PC",
        "x86_64",
        cpu="Intel Core (x86_64)",
        notes="profile on the robot's locomotion PC itself",
    ),
    DeviceSpec(
        "generic-x86_64",
        "generic",
        "x86_64 computer (laptop, desktop, server)",
        "x86_64",
        aliases=("laptop", "x86_64", "cpu"),
    ),
    DeviceSpec("generic-aarch64", "generic", "aarch64 computer", "aarch64", aliases=("aarch64", "arm64")),
)

FAMILIES = sorted({d.family for d in CATALOG})


def by_id(device_id: str) -> DeviceSpec:
    for d in CATALOG:
        if device_id == d.id or device_id in d.aliases:
            return d
    raise KeyError(device_id)


def match_board(model: str) -> DeviceSpec | None:
    """The catalog entry whose identifying substring appears in a device-tree model string."""
    return next((d for d in CATALOG if any(m.lower() in model.lower() for m in d.match)), None)


def generic(arch: str | None = None) -> DeviceSpec:
    arch = arch or platform.machine()
    arch = {"arm64": "aarch64", "AMD64": "x86_64"}.get(arch, arch)
    try:
        return by_id(f"generic-{arch}")
    except KeyError:
        return DeviceSpec(f"generic-{arch}", "generic", f"{arch} computer", arch)


def known_names() -> list[str]:
    return sorted({n for d in CATALOG for n in (d.id, *d.aliases)} | set(FAMILIES))


def resolve(name: str, here: DeviceSpec) -> DeviceSpec:
    """Resolve `--device auto|ID|FAMILY` against the detected machine `here`.

    A family resolves to this machine when it belongs to that family; otherwise the target is named
    explicitly, and the caller decides whether it can be reached.
    """
    if name in ("auto", "local", "host"):
        return here
    if name in FAMILIES:
        if here.family == name or (name == "jetson" and here.id.startswith("jetson")):
            return here
        return next(d for d in CATALOG if d.family == name)
    try:
        return by_id(name)
    except KeyError:
        close = difflib.get_close_matches(name, known_names(), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise BadInput(
            f"unknown device '{name}'{hint} Known devices and families: {', '.join(known_names())} "
            "(or 'auto'); `edgeperf devices` shows this machine"
        ) from None
