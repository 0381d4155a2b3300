"""What machine is this? CPU, memory, OS, Jetson board and L4T release, NVIDIA GPUs, inference backends and
power sources, read from a root that EDGEPERF_SYSFS_ROOT can redirect to a captured tree.

Nothing here imports torch, tensorrt or openvino: installed packages are found by their metadata.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import importlib.util
import platform
import re
import sys
from pathlib import Path

from edgeperf.devices import catalog, sysfs
from edgeperf.devices.sysfs import is_live, sysfs_root, under
from edgeperf.results.kinds.machine import CpuInfo, Machine, MemoryInfo, OsInfo


def read_text(path: Path) -> str | None:
    """An info file's text, or None when it is absent or no regular file (a FIFO or device in a captured tree):
    detection describes the machine as far as it can, it never stops on one odd file."""
    try:
        return sysfs.read_text(path)
    except OSError:
        return None


def cpu_info(root: Path) -> dict:
    text = read_text(under(root, "/proc/cpuinfo")) or ""
    blocks = [b for b in text.split("\n\n") if b.strip()]
    fields = [dict(_kv(line) for line in b.splitlines() if ":" in line) for b in blocks]
    procs = [f for f in fields if "processor" in f]
    model = next((f[k] for f in fields for k in ("model name", "Model", "Hardware", "cpu model") if f.get(k)), None)
    logical = len(procs) or None
    cores = {(f.get("physical id", "0"), f["core id"]) for f in procs if "core id" in f}
    physical = len(cores) or logical  # Arm cpuinfo has no core ids: one thread per core
    if is_live(root):
        import psutil

        logical = psutil.cpu_count(logical=True) or logical
        physical = psutil.cpu_count(logical=False) or physical
    max_khz = read_text(under(root, "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq"))
    out = {
        "model": model or platform.processor() or None,
        "physical_cores": physical,
        "logical_cores": logical,
    }
    if max_khz and max_khz.isdigit():
        out["max_mhz"] = int(max_khz) // 1000
    return out


def _kv(line: str) -> tuple[str, str]:
    k, _, v = line.partition(":")
    return k.strip(), v.strip()


def memory_info(root: Path) -> dict:
    text = read_text(under(root, "/proc/meminfo")) or ""
    m = re.search(r"^MemTotal:\s+(\d+)\s*kB", text, re.MULTILINE)
    if not m:
        return {}
    total = int(m.group(1)) * 1024
    return {"total_bytes": total, "total_gib": round(total / 2**30, 1)}


def os_info(root: Path) -> dict:
    release = read_text(under(root, "/etc/os-release")) or ""
    pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', release, re.MULTILINE)
    live = is_live(root)
    arch = platform.machine() if live else read_text(under(root, "/proc/sys/kernel/arch"))
    return {
        "name": pretty.group(1) if pretty else (platform.platform() if live else None),
        "kernel": read_text(under(root, "/proc/sys/kernel/osrelease")) or (platform.release() if live else None),
        "arch": arch,
    }


def jetson_info(root: Path) -> dict | None:
    """The board model and L4T release when this is a Jetson, else None."""
    model = read_text(under(root, "/proc/device-tree/model"))
    tegra = read_text(under(root, "/etc/nv_tegra_release"))
    if not tegra and not (model and "jetson" in model.lower()):
        return None
    out: dict = {"model": model}
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", tegra or "")
    if m:
        out["l4t"] = f"{m.group(1)}.{m.group(2)}"
    board = catalog.match_board(model or "")
    if board:
        out["board"] = board.id
    return out


def gpu_info(root: Path, jetson: dict | None) -> tuple[list[dict], str | None]:
    """NVIDIA GPUs via NVML, and the reason when none can be listed."""
    if jetson:
        board = catalog.by_id(jetson["board"]) if jetson.get("board") else None
        gpu = {
            "name": f"integrated {board.gpu}" if board and board.gpu else "integrated Jetson GPU",
            "memory": "shared with the CPU",
        }
        return [gpu], None
    if not is_live(root):
        return [], "not queried: detection is reading a captured tree, not this machine"
    if importlib.util.find_spec("pynvml") is None:
        if Path("/proc/driver/nvidia/version").exists():
            return [], 'an NVIDIA driver is loaded; install "edgeperf[nvidia]" to list its GPUs'
        return [], "no NVIDIA driver (/proc/driver/nvidia absent)"
    import pynvml as nv

    try:
        nv.nvmlInit()
    except Exception as exc:
        return [], f"NVML did not start ({exc})"
    try:
        gpus = []
        for i in range(nv.nvmlDeviceGetCount()):
            h = nv.nvmlDeviceGetHandleByIndex(i)
            name = nv.nvmlDeviceGetName(h)
            gpus.append(
                {
                    "index": i,
                    "name": name.decode() if isinstance(name, bytes) else name,
                    "memory_bytes": int(nv.nvmlDeviceGetMemoryInfo(h).total),
                    "driver": _decode(nv.nvmlSystemGetDriverVersion()),
                }
            )
        return gpus, None if gpus else "NVML found no GPU"
    finally:
        nv.nvmlShutdown()


def _decode(v):
    return v.decode() if isinstance(v, bytes) else v


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


BACKEND_HINTS = {
    "torch": 'pip install "edgeperf[export]" (a CPU build: pip install torch==2.13.0 first)',
    "tensorrt": "ships with JetPack on a Jetson; on an x86 GPU machine: pip install tensorrt",
    "openvino": 'pip install "edgeperf[openvino]"',
    "onnxruntime": "pip install onnxruntime (on a Jetson: NVIDIA's onnxruntime-gpu wheel for your JetPack)",
}


def backend_info() -> dict:
    out = {}
    for name in ("onnxruntime", "torch", "tensorrt", "openvino"):
        if importlib.util.find_spec(name) is None:
            out[name] = {"available": False, "reason": f"not installed; {BACKEND_HINTS[name]}"}
            continue
        version = next(filter(None, (_version(d) for d in (name, f"{name}-gpu", "tensorrt-cu12"))), None)
        out[name] = {"available": True, "version": version}
    if out["onnxruntime"]["available"]:
        try:
            import onnxruntime as ort

            out["onnxruntime"]["providers"] = ort.get_available_providers()
        except Exception as exc:  # an installed but broken build
            out["onnxruntime"] = {"available": False, "reason": f"installed but failed to import: {exc}"}
    return out


def this_device(root=None) -> catalog.DeviceSpec:
    root = sysfs_root(root)
    jetson = jetson_info(root)
    if jetson and jetson.get("board"):
        return catalog.by_id(jetson["board"])
    if jetson:
        return catalog.DeviceSpec("jetson-unknown", "jetson", jetson.get("model") or "NVIDIA Jetson", "aarch64")
    board = catalog.match_board(read_text(under(root, "/proc/device-tree/model")) or "")
    if board:  # a catalogued board other than a Jetson (Raspberry Pi 5)
        return board
    return catalog.generic(os_info(root)["arch"] or None)


def detect(root=None) -> dict:
    """What the machine at `root` is (its power sources: edgeperf.profilers.power.summary).

    Args:
        root (str | Path | None): A folder holding a copy of a machine's /proc and /sys (a captured Jetson,
            say), or None for this machine (or $EDGEPERF_SYSFS_ROOT when set).

    Returns:
        A dict: device (id, family, name), root, cpu, memory, os, python, jetson, gpus (and gpus_reason when
        none is usable) and backends (the inference stacks installed here).

    Examples:
        >>> import edgeperf
        >>> machine = edgeperf.detect()
        >>> sorted(machine["device"]), machine["backends"]["onnxruntime"]["available"]
        (['family', 'id', 'name'], True)
    """
    root = sysfs_root(root)
    jetson = jetson_info(root)
    device = this_device(root)
    gpus, gpu_reason = gpu_info(root, jetson)
    out = {
        "device": {"id": device.id, "family": device.family, "name": device.name},
        "root": str(root),
        "cpu": cpu_info(root),
        "memory": memory_info(root),
        "os": os_info(root),
        "python": platform.python_version() if is_live(root) else None,
        "jetson": jetson,
        "gpus": gpus,
        "backends": backend_info(),
    }
    if gpu_reason:
        out["gpus_reason"] = gpu_reason
    if device.cpu and not out["cpu"].get("model"):
        out["cpu"]["model"] = device.cpu
    return out


def host_summary() -> dict:
    """The `host` block of every report: enough to know where a figure was measured. Probed once per process
    (and sysfs root): the hardware does not change between the reports of one run."""
    return copy.deepcopy(_host_summary(str(sysfs_root()), "torch" in sys.modules))


@functools.cache
def _host_summary(root: str, torch_loaded: bool) -> dict:
    d = detect(root)
    m = Machine.from_dict(d)  # the devices document, typed
    versions = {"python": m.python, "edgeperf": _version("edgeperf")}
    for mod in ("numpy", "onnxruntime", "torch"):
        if mod in sys.modules or mod != "torch":
            versions[mod] = _version(mod)
    cpu, mem, os_ = m.cpu or CpuInfo(), m.memory or MemoryInfo(), m.os or OsInfo()
    return {
        "device": m.device.id,
        "cpu": cpu.model,
        "physical_cores": cpu.physical_cores,
        "logical_cores": cpu.logical_cores,
        "memory_bytes": mem.total_bytes,
        "os": os_.name,
        "kernel": os_.kernel,
        "arch": os_.arch,
        "jetson": d["jetson"],  # as detected: the host block carries the whole of it
        "gpus": [g.name for g in m.gpus or ()],
        "versions": versions,
    }
