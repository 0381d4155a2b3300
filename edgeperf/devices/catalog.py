"""The computers policies get deployed to, and how `--device auto|ID|FAMILY` resolves to one of them.

Entries state what identifies a board and what deployment needs to know about it (architecture, cores,
memory, accelerators, expected power sources and rails, preferred backends and precisions, per-core power for
estimates, typical control rates for robots); `sources` names the public source of each figure.
"""

from __future__ import annotations

import difflib
import platform
from dataclasses import asdict, dataclass, field

from edgeperf.errors import BadInput

# Public sources the figures below come from; each entry's `sources` maps a field to one of these.
NV_MODULES = "NVIDIA Jetson modules comparison, https://developer.nvidia.com/embedded/jetson-modules"
NV_ORIN_POWER = (
    "Jetson Linux Developer Guide r36.3, Platform Power and Performance (Jetson Orin), power monitor rails, "
    "https://docs.nvidia.com/jetson/archives/r36.3/DeveloperGuide/SD/PlatformPowerAndPerformance/"
    "JetsonOrinNanoSeriesJetsonOrinNxSeriesAndJetsonAgxOrinSeries.html"
)
NV_XAVIER_POWER = (
    "Jetson Linux Developer Guide r32.7, Power Management for Jetson Xavier NX and AGX Xavier, INA3221 rails, "
    "https://docs.nvidia.com/jetson/archives/l4t-archived/l4t-3271/index.html"
)
NV_NANO_POWER = (
    "Jetson Linux Developer Guide r32.7, Power Management for Jetson Nano (POM_5V_IN/GPU/CPU), "
    "https://docs.nvidia.com/jetson/archives/l4t-archived/l4t-3271/index.html"
)
NV_SUPER = "JetPack 6.2 release notes (MAXN SUPER modes), https://developer.nvidia.com/embedded/jetpack"
RPI5 = "Raspberry Pi 5 product brief, https://datasheets.raspberrypi.com/rpi5/raspberry-pi-5-product-brief.pdf"
RPI_POWER = (
    "Raspberry Pi documentation, power supply table (Pi 5: typical bare-board active current 800 mA at 5 V), "
    "https://www.raspberrypi.com/documentation/computers/raspberry-pi.html#power-supply"
)
GO2 = "Unitree Go2 specifications (EDU: Jetson Orin expansion), https://www.unitree.com/go2"
UNITREE_SDK = (
    "unitree_sdk2 Go2 low-level example, 2 ms control thread, "
    "https://github.com/unitreerobotics/unitree_sdk2/blob/main/example/go2/go2_low_level.cpp"
)
LEGGED_GYM = (
    "legged_gym LeggedRobotCfg: sim dt 0.005 s x decimation 4 = 50 Hz policy (Rudin et al. 2022, arXiv 2109.11978), "
    "https://github.com/leggedrobotics/legged_gym"
)
HWANGBO = "Hwangbo et al. 2019, Learning agile and dynamic motor skills for legged robots (ANYmal), arXiv 1901.08652"
ANYMAL = "ANYbotics ANYmal specifications (onboard Intel Core PCs), https://www.anybotics.com/robotics/anymal/"
INTEL_U = (
    "Intel ARK, e.g. Core i7-1165G7: 4 cores, 12-28 W configurable TDP (15 W U-series base), "
    "https://www.intel.com/content/www/us/en/products/sku/208662.html"
)
RAPL_DOC = "Linux powercap/RAPL documentation, https://docs.kernel.org/power/powercap/powercap.html"


def _per_core(watts: float, cores: int, what: str) -> tuple[float, str]:
    """A per-core figure for estimates: the module's power budget shared out per core (an upper bound)."""
    return round(watts / cores, 2), f"derived: {what} {watts:g} W / {cores} cores, an upper bound"


@dataclass(frozen=True)
class DeviceSpec:
    id: str
    family: str  # "jetson", "raspberry-pi", "quadruped", "generic"
    name: str
    arch: str
    match: tuple[str, ...] = ()  # substrings of /proc/device-tree/model that identify the board
    cpu: str = ""
    cores: str = ""  # e.g. "6" or "6 or 8" (by module variant)
    memory: str = ""
    gpu: str = ""
    accelerators: tuple[str, ...] = ()
    power_modes: tuple[str, ...] = ()
    power_sources: tuple[str, ...] = ()  # the sources expected to work there, in edgeperf's names
    rails: tuple[str, ...] = ()  # the power-monitor rails expected there
    backends: tuple[str, ...] = ()  # preferred first
    precisions: tuple[str, ...] = ()  # preferred first
    core_W: float | None = None  # per busy core, for `--power estimate`
    core_W_source: str = ""
    control_rates: tuple[tuple[str, float], ...] = ()  # (what, Hz) for robots
    compute: str = ""  # for a robot: the catalog id of its onboard computer
    notes: str = ""
    sources: tuple[tuple[str, str], ...] = ()  # (field, public source)
    aliases: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict:
        out = {}
        for k, raw in asdict(self).items():
            if raw in ("", (), None):
                continue
            if k == "control_rates":
                value = [{"what": w, "hz": hz} for w, hz in raw]
            elif k == "sources":
                value = dict(raw)
            else:
                value = list(raw) if isinstance(raw, tuple) else raw
            out[k] = value
        return out


_ORIN_RAILS = ("VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC")
_JETSON_BACKENDS = ("tensorrt", "onnxruntime", "torch")
_ORIN_NANO_W = _per_core(15, 6, "Orin Nano 8GB 15 W mode")
_ORIN_NX_W = _per_core(25, 8, "Orin NX 16GB 25 W mode")
_AGX_ORIN_W = _per_core(60, 12, "AGX Orin 64GB 60 W maximum module power")
_XAVIER_NX_W = _per_core(20, 6, "Xavier NX 20 W mode")
_AGX_XAVIER_W = _per_core(30, 8, "AGX Xavier 30 W mode")
_NANO_W = _per_core(10, 4, "Jetson Nano 10 W mode")
_RPI5_W = (1.0, "derived: typical bare-board active 800 mA x 5 V = 4 W / 4 cores, a rough figure")
_X86_W = _per_core(15, 4, "a 4-core laptop processor's 15 W base power")

CATALOG: tuple[DeviceSpec, ...] = (
    DeviceSpec(
        "jetson-orin-nano",
        "jetson",
        "NVIDIA Jetson Orin Nano",
        "aarch64",
        ("Orin Nano",),
        cpu="Arm Cortex-A78AE, up to 1.5 GHz (1.7 GHz MAXN SUPER)",
        cores="6",
        memory="4 or 8 GB LPDDR5 (shared CPU/GPU)",
        gpu="Ampere, 512 or 1024 CUDA cores, 16 or 32 Tensor Cores",
        accelerators=("Ampere GPU (CUDA, Tensor Cores)",),
        power_modes=("7W", "15W", "25W (MAXN SUPER, JetPack 6.2)"),
        power_sources=("ina3221", "jtop"),
        rails=_ORIN_RAILS,
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "int8", "fp32"),
        core_W=_ORIN_NANO_W[0],
        core_W_source=_ORIN_NANO_W[1],
        notes="no DLA on Orin Nano; VDD_IN is the module total",
        sources=(
            ("cpu, cores, memory, gpu, power_modes", NV_MODULES),
            ("power_modes (25W)", NV_SUPER),
            ("rails", NV_ORIN_POWER),
            ("core_W", NV_MODULES),
        ),
        aliases=("orin-nano",),
    ),
    DeviceSpec(
        "jetson-orin-nx",
        "jetson",
        "NVIDIA Jetson Orin NX",
        "aarch64",
        ("Orin NX",),
        cpu="Arm Cortex-A78AE, up to 2.0 GHz",
        cores="6 (8GB) or 8 (16GB)",
        memory="8 or 16 GB LPDDR5 (shared CPU/GPU)",
        gpu="Ampere, 1024 CUDA cores, 32 Tensor Cores",
        accelerators=("Ampere GPU (CUDA, Tensor Cores)", "1 or 2 NVDLA v2.0"),
        power_modes=("10W", "15W", "20W", "25W", "40W (MAXN SUPER, JetPack 6.2)"),
        power_sources=("ina3221", "jtop"),
        rails=_ORIN_RAILS,
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "int8", "fp32"),
        core_W=_ORIN_NX_W[0],
        core_W_source=_ORIN_NX_W[1],
        notes="VDD_IN is the module total",
        sources=(
            ("cpu, cores, memory, gpu, accelerators, power_modes", NV_MODULES),
            ("power_modes (40W)", NV_SUPER),
            ("rails", NV_ORIN_POWER),
            ("core_W", NV_MODULES),
        ),
        aliases=("orin-nx",),
    ),
    DeviceSpec(
        "jetson-agx-orin",
        "jetson",
        "NVIDIA Jetson AGX Orin",
        "aarch64",
        ("AGX Orin", "Jetson-AGX"),
        cpu="Arm Cortex-A78AE, up to 2.2 GHz",
        cores="8 (32GB) or 12 (64GB)",
        memory="32 or 64 GB LPDDR5 (shared CPU/GPU)",
        gpu="Ampere, 1792 or 2048 CUDA cores, 56 or 64 Tensor Cores",
        accelerators=("Ampere GPU (CUDA, Tensor Cores)", "2 NVDLA v2.0"),
        power_modes=("15W", "30W", "50W", "MAXN (up to 60W)"),
        power_sources=("ina3221", "jtop"),
        rails=("VDD_GPU_SOC", "VDD_CPU_CV", "VIN_SYS_5V0", "VDDQ_VDD2_1V8AO"),
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "int8", "fp32"),
        core_W=_AGX_ORIN_W[0],
        core_W_source=_AGX_ORIN_W[1],
        notes="no single input rail: the module total is the sum of the rails",
        sources=(
            ("cpu, cores, memory, gpu, accelerators, power_modes", NV_MODULES),
            ("rails", NV_ORIN_POWER),
            ("core_W", NV_MODULES),
        ),
        aliases=("agx-orin",),
    ),
    DeviceSpec(
        "jetson-xavier-nx",
        "jetson",
        "NVIDIA Jetson Xavier NX",
        "aarch64",
        ("Xavier NX",),
        cpu="NVIDIA Carmel (Armv8.2), up to 1.9 GHz",
        cores="6",
        memory="8 or 16 GB LPDDR4x (shared CPU/GPU)",
        gpu="Volta, 384 CUDA cores, 48 Tensor Cores",
        accelerators=("Volta GPU (CUDA, Tensor Cores)", "2 NVDLA"),
        power_modes=("10W", "15W", "20W"),
        power_sources=("ina3221", "jtop"),
        rails=_ORIN_RAILS,
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "int8", "fp32"),
        core_W=_XAVIER_NX_W[0],
        core_W_source=_XAVIER_NX_W[1],
        notes="JetPack 4 exposes the INA3221 through iio; VDD_IN is the module total",
        sources=(
            ("cpu, cores, memory, gpu, accelerators, power_modes", NV_MODULES),
            ("rails", NV_XAVIER_POWER),
            ("core_W", NV_MODULES),
        ),
    ),
    DeviceSpec(
        "jetson-agx-xavier",
        "jetson",
        "NVIDIA Jetson AGX Xavier",
        "aarch64",
        ("AGX Xavier",),
        cpu="NVIDIA Carmel (Armv8.2), up to 2.26 GHz",
        cores="8",
        memory="32 or 64 GB LPDDR4x (shared CPU/GPU)",
        gpu="Volta, 512 CUDA cores, 64 Tensor Cores",
        accelerators=("Volta GPU (CUDA, Tensor Cores)", "2 NVDLA"),
        power_modes=("10W", "15W", "30W", "MAXN"),
        power_sources=("ina3221", "jtop"),
        rails=("GPU", "CPU", "SOC", "CV", "VDDRQ", "SYS5V"),
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "int8", "fp32"),
        core_W=_AGX_XAVIER_W[0],
        core_W_source=_AGX_XAVIER_W[1],
        notes="no single input rail: the module total is the sum of the rails",
        sources=(
            ("cpu, cores, memory, gpu, accelerators, power_modes", NV_MODULES),
            ("rails", NV_XAVIER_POWER),
            ("core_W", NV_MODULES),
        ),
    ),
    DeviceSpec(
        "jetson-nano",
        "jetson",
        "NVIDIA Jetson Nano",
        "aarch64",
        ("Jetson Nano",),
        cpu="Arm Cortex-A57, 1.43 GHz",
        cores="4",
        memory="4 GB LPDDR4 (shared CPU/GPU)",
        gpu="Maxwell, 128 CUDA cores",
        accelerators=("Maxwell GPU (CUDA)",),
        power_modes=("5W", "10W (MAXN)"),
        power_sources=("ina3221", "jtop"),
        rails=("POM_5V_IN", "POM_5V_GPU", "POM_5V_CPU"),
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "fp32"),
        core_W=_NANO_W[0],
        core_W_source=_NANO_W[1],
        notes="Maxwell has no fast int8 path; POM_5V_IN is the module total",
        sources=(
            ("cpu, cores, memory, gpu, power_modes", NV_MODULES),
            ("rails", NV_NANO_POWER),
            ("core_W", NV_MODULES),
        ),
    ),
    DeviceSpec(
        "raspberry-pi-5",
        "raspberry-pi",
        "Raspberry Pi 5",
        "aarch64",
        ("Raspberry Pi 5",),
        cpu="Broadcom BCM2712, Arm Cortex-A76, 2.4 GHz",
        cores="4",
        memory="1, 2, 4, 8 or 16 GB LPDDR4X-4267",
        gpu="VideoCore VII (no CUDA)",
        accelerators=("none on board (PCIe 2.0 x1 for an add-on NPU)",),
        power_modes=("5 V / 5 A USB-C PD supply",),
        power_sources=("estimate",),
        backends=("onnxruntime", "torch"),
        precisions=("fp32", "int8"),
        core_W=_RPI5_W[0],
        core_W_source=_RPI5_W[1],
        notes="no power monitor in sysfs (the PMIC ADC is read by `vcgencmd pmic_read_adc`, not by edgeperf): "
        'measure with a USB-C power meter, or `--power estimate`; install with pip install "edgeperf[ort]"',
        sources=(("cpu, cores, memory, gpu, accelerators, power_modes", RPI5), ("core_W", RPI_POWER)),
        aliases=("rpi5", "pi5"),
    ),
    DeviceSpec(
        "unitree-go2-edu",
        "quadruped",
        "Unitree Go2 EDU onboard computer",
        "aarch64",
        compute="jetson-orin-nx",
        power_sources=("ina3221", "jtop"),
        rails=_ORIN_RAILS,
        backends=_JETSON_BACKENDS,
        precisions=("fp16", "int8", "fp32"),
        control_rates=(("locomotion policy (legged_gym / rsl_rl)", 50.0), ("low-level joint commands", 500.0)),
        notes="the EDU expansion dock carries a Jetson Orin (Orin NX 16GB, or Orin Nano 8GB on some units): "
        "profile with --device jetson on the dock",
        sources=(("compute", GO2), ("control_rates (50 Hz)", LEGGED_GYM), ("control_rates (500 Hz)", UNITREE_SDK)),
        aliases=("go2",),
    ),
    DeviceSpec(
        "anymal-onboard",
        "quadruped",
        "ANYmal-class onboard PC",
        "x86_64",
        cpu="Intel Core i7 (x86_64)",
        power_sources=("rapl",),
        rails=("package-0", "package-0/dram"),
        backends=("onnxruntime", "openvino", "torch"),
        precisions=("fp32", "int8"),
        core_W=_X86_W[0],
        core_W_source=_X86_W[1],
        control_rates=(("locomotion policy (legged_gym / rsl_rl)", 50.0), ("locomotion policy (Hwangbo 2019)", 200.0)),
        notes="profile on the robot's locomotion PC itself (--host); RAPL needs root there",
        sources=(
            ("cpu", ANYMAL),
            ("rails", RAPL_DOC),
            ("core_W", INTEL_U),
            ("control_rates (50 Hz)", LEGGED_GYM),
            ("control_rates (200 Hz)", HWANGBO),
        ),
        aliases=("anymal",),
    ),
    DeviceSpec(
        "generic-x86_64",
        "generic",
        "x86_64 computer (laptop, desktop, server)",
        "x86_64",
        power_sources=("rapl", "battery", "nvml", "hwmon"),
        rails=("package-0", "package-0/dram"),
        backends=("onnxruntime", "openvino", "torch", "tensorrt"),
        precisions=("fp32", "int8", "fp16 (GPU)"),
        core_W=_X86_W[0],
        core_W_source=_X86_W[1],
        notes="RAPL is root-only since CVE-2020-8694; a laptop on battery measures without root",
        sources=(("core_W", INTEL_U), ("rails", RAPL_DOC)),
        aliases=("laptop", "x86_64", "cpu"),
    ),
    DeviceSpec(
        "generic-aarch64",
        "generic",
        "aarch64 computer",
        "aarch64",
        power_sources=("hwmon", "battery"),
        backends=("onnxruntime", "torch"),
        precisions=("fp32", "int8"),
        core_W=_RPI5_W[0],
        core_W_source=f"Raspberry Pi 5 figure ({_RPI5_W[1]})",
        sources=(("core_W", RPI_POWER),),
        aliases=("aarch64", "arm64"),
    ),
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


def matches(target: DeviceSpec, here: DeviceSpec) -> bool:
    """Whether this machine (`here`) is the computer `target` names: itself, or a robot's onboard computer."""
    if target.id == here.id or (target.compute and target.compute == here.id):
        return True
    # A robot whose onboard computer varies by unit (Go2 EDU: Orin NX or Orin Nano) runs on any of that family.
    if target.compute:
        return by_id(target.compute).family == here.family != "generic"
    return False


def resolve(name: str, here: DeviceSpec) -> DeviceSpec:
    """Resolve `--device auto|ID|FAMILY` against the detected machine `here`.

    A family resolves to this machine when it belongs to that family; otherwise the target is named
    explicitly, and the caller decides whether it can be reached.
    """
    if name in ("auto", "local", "host"):
        return here
    if name in FAMILIES:
        if here.family == name:
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
