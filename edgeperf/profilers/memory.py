"""Process memory: current RSS and the kernel's high-water mark (VmHWM), which no sampler can miss."""

from __future__ import annotations

import os
import resource
import sys


def rss_bytes() -> int:
    import psutil

    return psutil.Process(os.getpid()).memory_info().rss


def peak_rss_bytes() -> int:
    """The kernel's record of the most resident memory this process has ever had."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB on Linux


def gpu_process_memory_bytes(pid: int | None = None) -> int | None:
    """GPU memory this process holds on any NVIDIA GPU (NVML), or None where NVML cannot tell."""
    try:
        import pynvml as nv

        nv.nvmlInit()
    except Exception:
        return None
    pid = pid or os.getpid()
    try:
        total = None
        for i in range(nv.nvmlDeviceGetCount()):
            for proc in nv.nvmlDeviceGetComputeRunningProcesses(nv.nvmlDeviceGetHandleByIndex(i)):
                if proc.pid == pid and proc.usedGpuMemory is not None:
                    total = (total or 0) + int(proc.usedGpuMemory)
        return total
    except Exception:
        return None
    finally:
        nv.nvmlShutdown()
