"""`edgeperf profile`: open a model on this computer, time it, and write an `edgeperf.profile/1` report."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edgeperf.devices import catalog
from edgeperf.devices.detect import NO_POWER, this_device
from edgeperf.errors import BadInput, HardwareMissing
from edgeperf.exporter import metadata
from edgeperf.profilers import latency, memory
from edgeperf.profilers.observations import random_pool
from edgeperf.profilers.stats import latency_stats
from edgeperf.results.report import ModelInfo, Report, sha256_file
from edgeperf.runtime.session import Session


def check_target(device: str) -> catalog.DeviceSpec:
    """The computer `--device` names must be this one: profiling measures where it runs."""
    here = this_device()
    target = catalog.resolve(device, here)
    if target.id != here.id:
        raise HardwareMissing(
            f"--device {device} names {target.name}, but this machine is {here.name} ({here.id}); "
            f"run `edgeperf profile` on the {target.name} itself, or use --device auto"
        )
    return target


def profile(
    model: str | Path,
    *,
    backend: str = "auto",
    device: str = "auto",
    iterations: int = 1000,
    duration: float = 5.0,
    warmup: int = 100,
    threads: int = 1,
    batch: int = 1,
    observations: str = "random",
    seed: int = 0,
    progress: Callable[[int, float], None] | None = None,
) -> Report:
    """Profile a model with the stream scenario; see `edgeperf profile --help` for the parameters."""
    for name, value, low in (
        ("iterations", iterations, 1),
        ("warmup", warmup, 0),
        ("threads", threads, 1),
        ("batch", batch, 1),
    ):
        if value < low:
            raise BadInput(f"--{name} must be at least {low}, got {value}")
    if not duration >= 0 or duration == float("inf"):
        raise BadInput(f"--duration must be a finite number of seconds >= 0, got {duration}")
    if observations != "random":
        raise BadInput(f"--observations {observations!r}: only 'random' is available in this version")
    target = check_target(device)

    rss_before = memory.rss_bytes()
    t0 = time.perf_counter_ns()
    session = Session.open(model, backend=backend, threads=threads)
    t1 = time.perf_counter_ns()
    with session:
        rss_loaded = memory.rss_bytes()
        feeds, obs_info = random_pool(session, batch=batch, seed=seed)
        t2 = time.perf_counter_ns()
        action = session.infer(feeds[0])
        t3 = time.perf_counter_ns()
        rss_first = memory.rss_bytes()
        run = latency.stream(
            session.infer,
            feeds,
            warmup=warmup,
            min_iterations=iterations,
            min_duration_s=duration,
            progress=progress,
        )
        rss_end = memory.rss_bytes()
        peak = memory.peak_rss_bytes()

    stats, warnings = latency_stats(run.samples_ns)
    path = Path(model)
    report = Report.new(
        "profile",
        model=ModelInfo(
            path=str(path),
            sha256=sha256_file(path),
            format="onnx" if path.suffix == ".onnx" else path.suffix[1:],
            precision=metadata.decode(session.io.metadata).get("precision"),
            inputs=[s.to_dict() for s in session.io.inputs],
            outputs=[s.to_dict() for s in session.io.outputs],
            size_bytes=path.stat().st_size,
        ),
        config={
            "scenario": "stream",
            "backend": session.backend,
            "device": target.id,
            "iterations": iterations,
            "duration_s": duration,
            "warmup": warmup,
            "threads": threads,
            "batch": batch,
            "observations": observations,
            "seed": seed,
        },
        warnings=warnings,
    )
    warm_us = run.warmup_ns / 1e3
    report.results = {
        "scenario": "stream",
        "clock": latency.CLOCK,
        "backend": {
            "name": session.backend,
            **getattr(session, "options", {}),
            "active_providers": getattr(session, "providers", None),
        },
        "cold_start": {"open_ms": (t1 - t0) / 1e6, "first_inference_us": (t3 - t2) / 1e3},
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
        },
        "memory": {
            "rss_before_load_bytes": rss_before,
            "rss_after_load_bytes": rss_loaded,
            "rss_after_first_inference_bytes": rss_first,
            "rss_end_bytes": rss_end,
            "peak_rss_bytes": peak,
            "peak_source": "VmHWM (kernel high-water mark)",
        },
        "observations": obs_info,
        "action_shape": list(np.shape(action)),
    }
    first_us = report.results["cold_start"]["first_inference_us"]
    if stats.get("p50") and first_us > 10 * stats["p50"]:
        report.warn(
            f"the first inference took {first_us:.0f} us, {first_us / stats['p50']:.0f}x the steady-state "
            "p50: run a few inferences before the control loop starts"
        )
    report.unmeasured["energy_per_inference"] = (
        "power sampling is not built into `profile` yet" if _any_power() else NO_POWER
    )
    return report


def _any_power() -> bool:
    from edgeperf.profilers.power import probe_all

    return any(a.ok for a in probe_all().values())
