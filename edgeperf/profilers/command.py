"""Measure any command: wall time, peak memory of its process tree, CPU time, and energy with the same power
sources, idle baseline and background sampler as `profile` (the window is the command's lifetime).

The command never outlives edgeperf: it runs in its own process group; on SIGINT or SIGTERM of edgeperf the
group gets the same signal, then SIGKILL after a grace period; the direct child asks the kernel for SIGKILL when
edgeperf dies (PR_SET_PDEATHSIG), and a watchdog process kills the whole group when edgeperf is killed outright.
Being in its own group, the command does not see the terminal's Ctrl-C itself: edgeperf passes it on.
"""

from __future__ import annotations

import contextlib
import errno
import os
import resource
import shutil
import signal
import subprocess
import sys
import time

from edgeperf.devices.detect import host_summary, this_device
from edgeperf.errors import BadInput
from edgeperf.processes import die_with_parent
from edgeperf.profilers.powermeter import PowerMeter, check_options
from edgeperf.results.report import Report

SCHEMA = "edgeperf.measure/1"
GRACE_S = 5.0  # between the forwarded SIGINT/SIGTERM and SIGKILL of the command's group

# Started before the command (so its own start-up is not measured); told the group to guard on stdin. EOF
# before that: edgeperf ended first, nothing to guard.
WATCHDOG = """\
import os, signal, sys, time
parent = int(sys.argv[1])
line = sys.stdin.readline()
if line:
    while os.getppid() == parent:
        time.sleep(0.2)
    try:
        os.killpg(int(line), signal.SIGKILL)
    except OSError:
        pass
"""


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


def _cannot_run(cmd: str, exc: OSError) -> BadInput:
    if exc.errno == errno.ENOENT:
        return BadInput(f"command not found: {cmd} (neither a file nor on PATH)")
    if exc.errno == errno.EACCES:
        return BadInput(f"cannot run {cmd}: permission denied; make it executable (chmod +x) or run its interpreter")
    if exc.errno == errno.ENOEXEC:
        return BadInput(
            f"cannot run {cmd}: not an executable format; a script needs a #! line, or run it with its "
            f"interpreter (e.g. sh {cmd})"
        )
    return BadInput(f"cannot run {cmd}: {exc.strerror or exc}")


def _check_runnable(cmd: str) -> None:
    """What can be told before the idle baseline: the command exists and may be executed."""
    if shutil.which(cmd) is not None:
        return
    if "/" in cmd and os.path.isdir(cmd):
        raise BadInput(f"cannot run {cmd}: it is a directory, not a command")
    if "/" in cmd and os.path.exists(cmd):
        raise _cannot_run(cmd, PermissionError(errno.EACCES, "Permission denied"))
    raise _cannot_run(cmd, FileNotFoundError(errno.ENOENT, "No such file or directory"))


def _end_group(child: subprocess.Popen, sig: int) -> None:
    """Pass edgeperf's SIGINT/SIGTERM to the command's group, then SIGKILL what is left after GRACE_S."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, sig)
    try:
        child.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
        child.wait()


def measure_command(
    command: list[str],
    *,
    power: str = "auto",
    power_rate_hz: float = 10.0,
    idle_s: float = 2.0,
    child_stdout_to_stderr: bool = False,
) -> Report:
    if not command:
        raise BadInput("give the command to measure after --: edgeperf measure -- python train.py")
    check_options(power, power_rate_hz, idle_s)
    _check_runnable(command[0])
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
    watchdog = subprocess.Popen(
        [sys.executable, "-S", "-c", WATCHDOG, str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    try:
        return _run(command, stdout, meter, tree, report, watchdog, power_rate_hz)
    finally:
        watchdog.kill()  # reaped last, so its start-up CPU is not in the command's
        watchdog.wait()


def _run(command, stdout, meter, tree, report, watchdog, power_rate_hz) -> Report:
    with meter:
        # The child only calls prctl (looked up before the fork): no lock another thread could hold.
        preexec = die_with_parent()
        t0 = time.perf_counter_ns()
        try:
            child = subprocess.Popen(command, stdout=stdout, process_group=0, preexec_fn=preexec)
        except OSError as exc:
            raise _cannot_run(command[0], exc) from None
        with contextlib.suppress(OSError):
            watchdog.stdin.write(f"{child.pid}\n".encode())
            watchdog.stdin.close()
        tree.attach(child.pid)
        tree.sample()
        try:
            code = child.wait()
        except BaseException as exc:  # Ctrl-C or SIGTERM of edgeperf: the command ends with it
            _end_group(child, signal.SIGINT if isinstance(exc, KeyboardInterrupt) else signal.SIGTERM)
            raise
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
