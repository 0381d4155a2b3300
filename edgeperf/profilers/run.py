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
from edgeperf.config.profile import ProfileConfig
from edgeperf.devices import catalog
from edgeperf.devices.detect import host_summary, this_device
from edgeperf.errors import BadInput, HardwareMissing
from edgeperf.profilers import latency, memory
from edgeperf.profilers.observations import POOL, pool, random_pool
from edgeperf.profilers.powermeter import PowerMeter
from edgeperf.profilers.stats import latency_stats
from edgeperf.profilers.stress import stress as co_runners
from edgeperf.results.report import ModelInfo, Report, sha256_file
from edgeperf.results.timings import stream_csv
from edgeperf.runtime.session import Session
from edgeperf.validation.chunks import budget


@dataclass
class Profiled:
    report: Report
    run: latency.Run  # the bounded statistics of the run, for --plot


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


def _check_pool_memory(session: Session, batch: int, shape: tuple[int, ...] | None) -> None:
    """Refuse a --batch (or --shape) whose observation pool would not fit in memory, before drawing it."""
    import psutil

    values = 0
    for spec in session.io.inputs:
        dims = list(shape) if shape and len(session.io.inputs) == 1 else list(spec.shape[1:])
        if any(not isinstance(d, int) or d < 0 for d in dims):
            return  # the pool refuses dynamic dimensions itself
        values += math.prod(dims)
    # drawn as float64, then cast to the input dtype and prepared: about 16 bytes a value at once
    need = POOL * batch * values * 16
    have = psutil.virtual_memory().available
    if need > have / 2:
        raise BadInput(
            f"--batch {batch}: the observation pool ({POOL} batches of {batch} x {values} values) needs "
            f"{need / 2**30:.3g} GiB, more than half of the {have / 2**30:.3g} GiB of memory available: "
            "give a smaller --batch"
        )


def profile(model, **kw) -> Report:
    """Profile a model and return its report; see `run_profile` for the parameters."""
    return run_profile(model, **kw).report


def run_profile(
    model: str | Path | Session,
    config: ProfileConfig | None = None,
    *,
    progress: Callable[[int, float], None] | None = None,
    opener: Callable[..., Session] | None = None,
    csv: str | Path | None = None,
    **options,
) -> Profiled:
    """Profile `model` (a file, a policy source for the torch backend, or an open Session) as `config` says, or
    as `options` (ProfileConfig's fields: backend, device, accelerator, rate, deadline_ms, iterations, duration,
    warmup, threads, batch, shape, observations, stress, seed, spin_us, power, power_rate_hz, idle_s,
    chunk_steps) say; see ProfileConfig. Power is integrated over exactly the measured window.

    `progress(inferences, seconds)` is called as the run goes. `opener` opens a `model` that is not a Session
    (default Session.open; edgeperf.pipeline passes one that also builds policy sources). `csv`: every
    inference's timings, streamed to that file as the run goes (complete or absent, never half-written).
    """

    cfg = ProfileConfig.of(config, options).check()
    rate, batch, stress, chunk_steps = cfg.rate, cfg.batch, cfg.stress, cfg.chunk_steps
    target = check_target(cfg.device)
    cfg = cfg.replace(device=target.id)
    report = Report.new("profile", host_summary())
    report.config = cfg.to_dict()
    meter = PowerMeter(cfg.power, rate_hz=cfg.power_rate_hz, idle_s=cfg.idle_s, device=target)
    timings = stream_csv(csv, cfg.deadline_ns) if csv else contextlib.nullcontext()
    try:
        with timings as sink:
            session, run, action, cold, mem, obs_info = _measure(
                model,
                report,
                cfg,
                progress=progress,
                sinks=[sink] if sink else [],
                ready=meter.start,
                opener=opener or Session.open,
            )
    finally:
        meter.stop()
    report.config = cfg.replace(backend=session.backend).to_dict()
    if session.backend != "torch" and "torch" in sys.modules:
        report.warn(
            "torch is loaded in this process, so the memory figures include it (a robot running this artifact "
            "would not load it): profile in a fresh process (the CLI, or edgeperf.profile(..., isolate=True))"
        )
    report.model = _model_info(model, session)
    stats, warnings = latency_stats(run.latency)
    for w in warnings:
        report.warn(w)
    warm = run.warmup
    report.results = {
        "scenario": cfg.scenario,
        "clock": latency.CLOCK,
        "backend": {"name": session.backend, **getattr(session, "options", {})},
        "cold_start": cold,
        "warmup": {
            "iterations": warm.count,
            "mean_us": warm.mean / 1e3 if warm.count else None,
            "max_us": warm.max / 1e3 if warm.count else None,
        },
        "latency_us": stats,
        "throughput_per_s": run.count * batch / run.wall_s if run.wall_s > 0 else None,
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
    if chunk_steps is not None:
        _chunk_report(report, session, chunk_steps, rate, stats)
    if session.io.state:
        report.results["recurrent_state"] = {
            "state": [s.to_meta() for s in session.io.state],
            "timed": "each step feeds the state the previous step returned (zeros at the start)",
        }
    if rate:
        report.results["deadline"] = run.record.deadline.result()
        _periodic_warnings(report, report.results["deadline"], run.late_folds)
    first_us = cold["first_inference_us"]
    if stats.get("p50") and first_us > 10 * stats["p50"]:
        report.warn(
            f"the first inference took {first_us:.0f} us, {first_us / stats['p50']:.0f}x the steady-state "
            "p50: run a few inferences before the control loop starts"
        )
    n = run.count
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
    cfg: ProfileConfig,
    *,
    progress: Callable[[int, float], None] | None,
    sinks: list,
    ready: Callable[[], object] | None = None,
    opener: Callable[..., Session] = Session.open,
):
    """Open (timing the cold start), fill the observation pool, run the scenario; memory read at each stage.

    `ready` runs after the cold start and before the warm-up: the power sampler starts there and takes its
    idle baseline with the model loaded and nothing running."""
    batch, seed, shape, observations, chunk_steps = cfg.batch, cfg.seed, cfg.shape, cfg.observations, cfg.chunk_steps
    common = {
        "warmup": cfg.warmup,
        "min_iterations": cfg.iterations,
        "min_duration_s": cfg.duration,
        "progress": progress,
        "sinks": sinks,
    }
    mem = {"rss_before_load_bytes": memory.rss_bytes()}
    cold: dict = {}
    with co_runners(cfg.stress):
        if isinstance(model, Session):
            session = model
            report.unmeasured["cold_start"] = "the session was opened by the caller"
        else:
            t0 = time.perf_counter_ns()
            session = opener(model, backend=cfg.backend, device=cfg.accelerator, threads=cfg.threads)
            cold["open_ms"] = (time.perf_counter_ns() - t0) / 1e6
        # A session the caller opened stays open for the caller.
        with contextlib.nullcontext(session) if isinstance(model, Session) else session:
            mem["rss_after_load_bytes"] = memory.rss_bytes()
            if chunk_steps is not None:
                _chunk_horizon(session, chunk_steps)  # k > H is refused before any timing
            # The first inference is timed on a fresh session: recording domain observations runs the model
            # through whole episodes, so then it is timed on a probe drawn before the pool.
            on_policy = observations != "random"
            _check_pool_memory(session, batch, shape)
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
            if cfg.period_ns:
                run = latency.periodic(
                    session.infer,
                    feeds,
                    period_ns=cfg.period_ns,
                    deadline_ns=cfg.deadline_ns,
                    spin_ns=int(cfg.spin_us * 1e3),
                    **common,
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


def _chunk_horizon(session: Session, chunk_steps: int) -> int:
    """H of a policy whose action output is [batch, H, A]; BadInput when it returns no chunks or k > H."""
    shape = session.io.outputs[0].shape
    if len(shape) != 3 or not isinstance(shape[1], int):
        raise BadInput(
            f"--chunk-steps applies to a policy that returns action chunks [batch, H, action_dim]; "
            f"{Path(str(session.path)).name} returns {list(shape)}"
        )
    if not (isinstance(chunk_steps, int) and 1 <= chunk_steps <= shape[1]):
        raise BadInput(
            f"{Path(str(session.path)).name} returns chunks of H={shape[1]} actions; --chunk-steps {chunk_steps} "
            f"must be from 1 to {shape[1]} (a chunk cannot run actions it does not have)"
        )
    return shape[1]


def _chunk_report(report: Report, session: Session, chunk_steps: int, rate, stats: dict) -> None:
    horizon = _chunk_horizon(session, chunk_steps)
    hz = rate or session.io.metadata.get("control_hz")
    if not hz:
        report.unmeasured["chunk_budget"] = (
            "no control rate: give --rate HZ (or export with --domain, which records it) to say how much of the "
            "k control periods a chunk's latency uses"
        )
        report.results["chunk"] = {"horizon": horizon, "steps_per_chunk": chunk_steps, "latency_is": "per chunk"}
        return
    report.results["chunk"] = {
        **budget(horizon, chunk_steps, 1.0 / hz, stats["p99"] / 1e6),
        "latency_is": "per chunk (one inference returns H actions)",
        "control_hz": hz,
    }


def _periodic_warnings(report: Report, d: dict, late_folds: int = 0) -> None:
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
    if late_folds:
        report.warn(
            f"{late_folds} releases started late because the profiler's own bookkeeping (folding timings into "
            "statistics, writing --csv) found no slack before them: the loop has almost no idle time at this rate, "
            "and misses right after those releases may be the profiler's, not the model's"
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
