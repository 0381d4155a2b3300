"""Measure any command: wall time, peak memory of its process tree, CPU time, and energy with the same power
sources, idle baseline and background sampler as `profile` (the window is the command's lifetime)."""

from __future__ import annotations

import contextlib
import resource
import signal
import subprocess
import sys
import time

from edgeperf.errors import BadInput
from edgeperf.results.report import Report

SCHEMA = "edgeperf.measure/1"


class TreeMonitor:
    """Samples a process and its descendants: summed RSS (peak kept) and CPU seconds (exited ones kept)."""

    def __init__(self):
        self.proc = None
        self.peak_rss = 0
        self.peak_single = 0  # the largest VmHWM (kernel high-water mark) of any process in the tree
        self.cpu: dict[int, float] = {}
        self.max_processes = 0
        self.rusage0 = _children_cpu()

    def attach(self, pid: int) -> None:
        import psutil

        try:
            self.proc = psutil.Process(pid)
        except psutil.Error:
            self.proc = None

    def sample(self, now_ns: int = 0) -> None:
        import psutil

        if self.proc is None:
            return
        try:
            procs = [self.proc, *self.proc.children(recursive=True)]
        except psutil.Error:
            return
        rss = 0
        alive = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                rss += p.memory_info().rss
                self.peak_single = max(self.peak_single, _vmhwm(p.pid))
                t = p.cpu_times()
                self.cpu[p.pid] = max(self.cpu.get(p.pid, 0.0), t.user + t.system)
                alive += 1
        self.peak_rss = max(self.peak_rss, rss)
        self.max_processes = max(self.max_processes, alive)

    def cpu_seconds(self) -> float:
        # Reaped children are counted exactly by the kernel; live ones by sampling.
        return max(sum(self.cpu.values()), _children_cpu() - self.rusage0)


def _vmhwm(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure_command(
    command: list[str],
    *,
    power: str = "auto",
    power_rate_hz: float = 10.0,
    idle_s: float = 2.0,
    child_stdout_to_stderr: bool = False,
) -> Report:
    from edgeperf.devices.detect import host_summary, this_device
    from edgeperf.profilers.powermeter import PowerMeter, check_options

    if not command:
        raise BadInput("give the command to measure after --: edgeperf measure -- python train.py")
    check_options(power, power_rate_hz, idle_s)
    tree = TreeMonitor()
    meter = PowerMeter(
        power,
        rate_hz=power_rate_hz,
        idle_s=idle_s,
        device=this_device(),
        cpu_seconds=tree.cpu_seconds,
        extras=[tree.sample],
        extra_period_s=1.0 / power_rate_hz,
        baseline="idle, before the command starts",
    )
    report = Report(schema=SCHEMA, host=host_summary())
    report.config = {
        "command": list(command),
        "power": power,
        "power_rate_hz": power_rate_hz if power != "off" else None,
        "idle_s": idle_s if power != "off" else None,
    }
    stdout = sys.stderr if child_stdout_to_stderr else None
    with meter:
        t0 = time.perf_counter_ns()
        try:
            child = subprocess.Popen(command, stdout=stdout)
        except FileNotFoundError:
            raise BadInput(f"command not found: {command[0]}") from None
        except PermissionError:
            raise BadInput(f"command is not executable: {command[0]}") from None
        tree.attach(child.pid)
        tree.sample()
        try:
            code = child.wait()
        except KeyboardInterrupt:  # the child got the same Ctrl-C; let it finish, then report
            child.send_signal(signal.SIGINT)
            code = child.wait()
        t1 = time.perf_counter_ns()
    results: dict = {
        "command": list(command),
        "exit_code": code,
        "wall_s": (t1 - t0) / 1e9,
        "clock": "perf_counter_ns",
        "cpu_seconds": tree.cpu_seconds(),
        "memory": {
            "peak_tree_rss_bytes": tree.peak_rss or None,
            "peak_tree_note": f"sum of the tree's RSS, sampled at {power_rate_hz:g} Hz (short peaks can be missed)",
            "peak_process_rss_bytes": tree.peak_single or None,
            "peak_process_note": "the largest kernel high-water mark (VmHWM) of any process in the tree seen",
            "max_processes": tree.max_processes,
        },
    }
    power_block, thermal, unmeasured, warnings = meter.results((t0, t1), 1)
    if power_block:
        results["power"] = _per_run(power_block)
    if thermal:
        results["thermal"] = thermal
    report.results = results
    report.unmeasured.update({("energy" if k == "energy_per_inference" else k): v for k, v in unmeasured.items()})
    if not tree.peak_rss:
        report.unmeasured["peak_tree_rss"] = "the command ended before the first memory sample"
    for w in warnings:
        report.warn(w)
    if code < 0:
        with contextlib.suppress(ValueError):
            report.warn(f"the command was killed by signal {signal.Signals(-code).name}")
    elif code != 0:
        report.warn(f"the command exited with code {code}")
    return report


_PER_INFERENCE = ("per_inference_mJ", "per_inference_above_idle_mJ", "inferences", "batch")


def _per_run(block):
    """A command is one run, not inferences: drop per-inference keys (energy_J is the run's energy)."""
    if isinstance(block, dict):
        return {k: _per_run(v) for k, v in block.items() if k not in _PER_INFERENCE}
    return block
