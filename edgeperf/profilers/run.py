"""`edgeperf profile`: open a model on this computer, time it in a scenario, and write an
`edgeperf.profile/1` report."""

from __future__ import annotations

import contextlib
import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf import artifact
from edgeperf.devices import catalog
from edgeperf.devices.detect import host_summary, this_device
from edgeperf.errors import BadInput, HardwareMissing
from edgeperf.profilers import latency, memory
from edgeperf.profilers.observations import pool, random_pool
from edgeperf.profilers.stats import deadline_stats, latency_stats
from edgeperf.profilers.stress import stress as co_runners
from edgeperf.results.report import ModelInfo, Report, sha256_file
from edgeperf.runtime.session import Session


@dataclass
class Profiled:
    report: Report
    run: latency.Run  # the raw timings, for --csv and --plot


def check_target(device: str) -> catalog.DeviceSpec:
    """The computer `--device` names must be this one: profiling measures where it runs."""
    here = this_device()
    target = catalog.resolve(device, here)
    if not catalog.matches(target, here):
        what = "any NVIDIA Jetson" if device == "jetson" else f"{target.name} ({target.id})"
        raise HardwareMissing(
            f"--device {device} names {what}, but this machine is {here.name} ({here.id}); profile on the "
            f"device itself over SSH with --host user@robot, or use --device auto to profile here"
        )
    return target


def _check_args(iterations, duration, warmup, threads, batch, rate, deadline_ms) -> None:
    for name, value, low in (
        ("iterations", iterations, 1),
        ("warmup", warmup, 0),
        ("threads", threads, 1),
        ("batch", batch, 1),
    ):
        if value < low:
            raise BadInput(f"--{name} must be at least {low}, got {value}")
    if not (math.isfinite(duration) and duration >= 0):
        raise BadInput(f"--duration must be a finite number of seconds >= 0, got {duration}")
    if rate is not None and not (math.isfinite(rate) and 0 < rate <= 100_000):
        raise BadInput(f"--rate must be a control rate in Hz, above 0 and at most 100000, got {rate}")
    if deadline_ms is not None:
        if rate is None:
            raise BadInput("--deadline applies to a periodic run: give --rate HZ too")
        if not (math.isfinite(deadline_ms) and deadline_ms > 0):
            raise BadInput(f"--deadline must be a positive number of milliseconds, got {deadline_ms}")


def profile(model, **kw) -> Report:
    """Profile a model and return its report; see `run_profile` for the parameters."""
    return run_profile(model, **kw).report


def run_profile(
    model: str | Path | Session,
    *,
    backend: str = "auto",
    device: str = "auto",
    accelerator: str = "auto",
    rate: float | None = None,
    deadline_ms: float | None = None,
    iterations: int = 1000,
    duration: float = 5.0,
    warmup: int = 100,
    threads: int = 1,
    batch: int = 1,
    shape: tuple[int, ...] | None = None,
    observations: str = "random",
    stress: int = 0,
    seed: int = 0,
    spin_us: float = latency.DEFAULT_SPIN_NS / 1e3,
    progress: Callable[[int, float], None] | None = None,
    power: str = "auto",
    power_rate_hz: float = 10.0,
    idle_s: float = 2.0,
    opener: Callable[..., Session] | None = None,
) -> Profiled:
    """Profile `model` (a file, a policy source for the torch backend, or an open Session).

    Stream scenario by default; periodic when `rate` is given (deadline = period unless `deadline_ms`).
    `power`: auto (measured sources; absent with the reason when there are none), any (measured, else a
    labelled estimate), estimate, off, or source names; sampled at `power_rate_hz` after an `idle_s`
    baseline, and integrated over exactly the measured window. `opener` opens a `model` that is not a Session
    (default Session.open; edgeperf.pipeline passes one that also builds policy sources).
    """
    from edgeperf.profilers.powermeter import PowerMeter, check_options

    _check_args(iterations, duration, warmup, threads, batch, rate, deadline_ms)
    check_options(power, power_rate_hz, idle_s)
    if observations != "random" and not observations.startswith("domain:"):
        raise BadInput(
            f"--observations {observations!r}: give 'random' (sampled from the model's input space) or "
            "domain:ID (the model's own observations in a domain, e.g. domain:quadruped/trot)"
        )
    target = check_target(device)
    report = Report.new("profile", host_summary())
    report.config = {
        "scenario": "periodic" if rate else "stream",
        "backend": backend,
        "device": target.id,
        "accelerator": accelerator,
        "rate_hz": rate,
        "deadline_ms": deadline_ms,
        "iterations": iterations,
        "duration_s": duration,
        "warmup": warmup,
        "threads": threads,
        "batch": batch,
        "shape": list(shape) if shape else None,
        "observations": observations,
        "stress": stress,
        "seed": seed,
        "power": power,
        "power_rate_hz": power_rate_hz if power != "off" else None,
        "idle_s": idle_s if power != "off" else None,
    }
    meter = PowerMeter(power, rate_hz=power_rate_hz, idle_s=idle_s, device=target)
    try:
        session, run, action, cold, mem, obs_info = _measure(
            model,
            report,
            backend=backend,
            accelerator=accelerator,
            threads=threads,
            batch=batch,
            observations=observations,
            seed=seed,
            shape=shape,
            stress=stress,
            rate=rate,
            spin_us=spin_us,
            common={"warmup": warmup, "min_iterations": iterations, "min_duration_s": duration, "progress": progress},
            ready=meter.start,
            opener=opener or Session.open,
        )
    finally:
        meter.stop()
    report.config["backend"] = session.backend
    if session.backend != "torch" and "torch" in sys.modules:
        report.warn(
            "torch is loaded in this process, so the memory figures include it (a robot running this artifact "
            "would not load it): profile in a fresh process (the CLI, or edgeperf.profile(..., isolate=True))"
        )
    report.model = _model_info(model, session)
    stats, warnings = latency_stats(run.samples_ns)
    for w in warnings:
        report.warn(w)
    warm_us = run.warmup_ns / 1e3
    report.results = {
        "scenario": report.config["scenario"],
        "clock": latency.CLOCK,
        "backend": {"name": session.backend, **getattr(session, "options", {})},
        "cold_start": cold,
        "warmup": {
            "iterations": len(warm_us),
            "mean_us": float(warm_us.mean()) if len(warm_us) else None,
            "max_us": float(warm_us.max()) if len(warm_us) else None,
        },
        "latency_us": stats,
        "throughput_per_s": len(run.samples_ns) * batch / run.wall_s if run.wall_s > 0 else None,
        "wall_s": run.wall_s,
        "cpu": {
            "process_utilisation_percent": 100.0 * run.cpu_s / run.wall_s if run.wall_s > 0 else None,
            "note": "100% = one core busy for the whole run",
            "stress_processes": stress,
        },
        "memory": mem,
        "observations": obs_info,
        "action_shape": list(np.shape(action)),
    }
    if rate:
        period_ns = round(1e9 / rate)
        deadline_ns = round(deadline_ms * 1e6) if deadline_ms else period_ns
        report.results["deadline"] = deadline_stats(run.release_ns, run.start_ns, run.end_ns, period_ns, deadline_ns)
        _periodic_warnings(report, report.results["deadline"])
    first_us = cold["first_inference_us"]
    if stats.get("p50") and first_us > 10 * stats["p50"]:
        report.warn(
            f"the first inference took {first_us:.0f} us, {first_us / stats['p50']:.0f}x the steady-state "
            "p50: run a few inferences before the control loop starts"
        )
    n = len(run.samples_ns)
    power_block, thermal, unmeasured, warnings = meter.results(
        (run.window_start_ns, run.window_end_ns), n, steps=n if rate else None, batch=batch
    )
    if power_block:
        report.results["power"] = power_block
    if thermal:
        report.results["thermal"] = thermal
    report.unmeasured.update(unmeasured)
    for w in warnings:
        report.warn(w)
    return Profiled(report, run)


def _measure(
    model,
    report: Report,
    *,
    backend,
    accelerator,
    threads,
    batch,
    observations,
    seed,
    shape,
    stress,
    rate,
    spin_us,
    common,
    ready: Callable[[], object] | None = None,
    opener: Callable[..., Session] = Session.open,
):
    """Open (timing the cold start), fill the observation pool, run the scenario; memory read at each stage.

    `ready` runs after the cold start and before the warm-up: the power sampler starts there and takes its
    idle baseline with the model loaded and nothing running."""
    mem = {"rss_before_load_bytes": memory.rss_bytes()}
    cold: dict = {}
    with co_runners(stress):
        if isinstance(model, Session):
            session = model
            report.unmeasured["cold_start"] = "the session was opened by the caller"
        else:
            t0 = time.perf_counter_ns()
            session = opener(model, backend=backend, device=accelerator, threads=threads)
            cold["open_ms"] = (time.perf_counter_ns() - t0) / 1e6
        # A session the caller opened stays open for the caller.
        with contextlib.nullcontext(session) if isinstance(model, Session) else session:
            mem["rss_after_load_bytes"] = memory.rss_bytes()
            # The first inference is timed on a fresh session: recording domain observations runs the model
            # through whole episodes, so then it is timed on a probe drawn before the pool.
            on_policy = observations != "random"
            feeds, obs_info = (None, None) if on_policy else pool(session, observations, batch, seed, shape)
            probe = random_pool(session, batch=batch, seed=seed, size=1, shape=shape)[0][0] if on_policy else feeds[0]
            t0 = time.perf_counter_ns()
            action = session.infer(probe)
            cold["first_inference_us"] = (time.perf_counter_ns() - t0) / 1e3
            mem["rss_after_first_inference_bytes"] = memory.rss_bytes()
            if on_policy:
                feeds, obs_info = pool(session, observations, batch, seed, shape)
                mem["note"] = "RSS after the first inference excludes, later figures include, the domain simulator"
            if ready is not None:
                ready()
            if rate:
                run = latency.periodic(
                    session.infer, feeds, period_ns=round(1e9 / rate), spin_ns=int(spin_us * 1e3), **common
                )
            else:
                run = latency.stream(session.infer, feeds, **common)
            mem["rss_end_bytes"] = memory.rss_bytes()
            mem["peak_rss_bytes"] = memory.peak_rss_bytes()
            mem["peak_source"] = "VmHWM (kernel high-water mark)"
            if session.on_gpu:
                gpu = memory.gpu_process_memory_bytes()
                if gpu is None:
                    report.unmeasured["gpu_memory"] = "NVML could not report this process's GPU memory"
                else:
                    mem["gpu_process_bytes"] = gpu

    return session, run, action, cold, mem, obs_info


def _periodic_warnings(report: Report, d: dict) -> None:
    if d["misses"]:
        report.warn(
            f"{d['misses']} of {d['periods']} deadlines missed ({100 * d['miss_rate']:.3g}%), longest "
            f"streak {d['longest_miss_streak']}, worst lateness {d['lateness_us']['max']:.0f} us"
        )
    if d["start_delay_us"]["p99"] > 0.1 * d["period_us"]:
        report.warn(
            f"the loop itself is late: p99 start delay {d['start_delay_us']['p99']:.0f} us is over 10% of "
            "the period (scheduler wake-up or earlier overruns); consider a real-time priority"
        )


def _model_info(model, session: Session) -> ModelInfo:
    path = Path(str(getattr(session, "path", model)))
    is_file = path.is_file()
    known = artifact.SUFFIXES.get(path.suffix.lower())
    return ModelInfo(
        path=str(path),
        sha256=sha256_file(path) if is_file else None,
        format=getattr(session, "mode", None) or (known.name if known else session.backend),
        precision=session.io.metadata.get("precision"),
        inputs=[s.to_dict() for s in session.io.inputs],
        outputs=[s.to_dict() for s in session.io.outputs],
        size_bytes=path.stat().st_size if is_file else None,
    )
