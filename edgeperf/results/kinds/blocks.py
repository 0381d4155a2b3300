"""Blocks several report kinds share: percentiles, power, memory, thermal, a policy's episodes, the paired verdict."""

from __future__ import annotations

from typing import Any, ClassVar

from edgeperf.results.record import Record, record

Num = float | int | None
Pair = list | None  # [low, high]: a confidence interval as the report writes it


# -- blocks shared by several kinds ------------------------------------------------------------------------------


@record
class Stats(Record):
    """A block of percentiles (latency_us, round_trip_us, response_us, ...)."""

    count: int | None = None
    mean: Num = None
    std: Num = None
    min: Num = None
    max: Num = None
    median: Num = None
    p50: Num = None
    p90: Num = None
    p95: Num = None
    p99: Num = None
    p99_9: Num = None
    p99_ci95: Pair = None
    cov: Num = None
    method: str | None = None
    relative_precision: Num = None
    tail_unsupported: dict | None = None  # percentile -> why it is not supported
    error_bound_us: Num = None


@record
class PerStep(Record):
    mJ: Num = None


@record
class PowerFigures(Record):
    """One rail's, or the total's, power and energy."""

    idle_W: Num = None
    active_W: Num = None
    above_idle_W: Num = None
    per_inference_above_idle_mJ: Num = None
    per_inference_mJ: Num = None
    energy_above_idle_J: Num = None
    energy_J: Num = None
    per_control_step: PerStep | None = None


@record
class TraceRail(Record):
    t_s: list | None = None
    W: list | None = None


@record
class Trace(Record):
    rails: dict[str, TraceRail] | None = None
    idle_s: Pair = None
    window_s: Pair = None
    how: str | None = None


@record
class Sampling(Record):
    rate_hz: Num = None
    achieved_hz: Num = None


@record
class Sensor(Record):
    samples: int | None = None
    update_period_s: Num = None


@record
class Power(Record):
    source: str | None = None
    estimate: bool | None = None
    method: str | None = None
    rails: dict[str, PowerFigures] | None = None
    total: PowerFigures | None = None
    total_rails: list | None = None
    total_how: str | None = None
    trace: Trace | None = None
    sampling: Sampling | None = None
    sensor: Sensor | None = None
    idle_s: Num = None
    window_s: Num = None
    control_steps: Num = None
    other_sources: dict[str, Power] | None = None
    unavailable_sources: dict | None = None


@record
class Memory(Record):
    peak_rss_bytes: int | None = None
    rss_after_load_bytes: int | None = None
    gpu_process_bytes: int | None = None
    peak_source: str | None = None
    peak_tree_rss_bytes: int | None = None
    peak_process_rss_bytes: int | None = None


@record
class Zone(Record):
    max_C: Num = None


@record
class Range(Record):
    min: Num = None
    max: Num = None


@record
class PowerMode(Record):
    id: Any = None
    name: str | None = None


@record
class Thermal(Record):
    zones: dict[str, Zone] | None = None
    cpu_mhz: Range | None = None
    gpu_mhz: Range | None = None
    nvpmodel: PowerMode | None = None
    jetson_clocks: bool | None = None
    throttling: bool | None = None


@record
class Named(Record):
    """A block that names something: a domain {id}, a backend {name, device, providers}."""

    id: str | None = None
    name: str | None = None
    device: str | None = None
    providers: list | None = None
    version: str | None = None


@record
class Reliability(Record):
    dispersion_iqr: Num = None
    risk_cvar5: Num = None


@record
class ReturnStats(Record):
    mean: Num = None
    ci95: Pair = None


@record
class Episodes(Record):
    """One policy's task figures over its episodes (validate's reference/deployed, hil's SIL/HIL, sim2sim's A/B)."""

    RENAME: ClassVar[dict[str, str]] = {"return": "return_"}
    episodes: int | None = None
    success_rate: Num = None
    success_ci95: Pair = None
    falls: int | None = None
    return_: ReturnStats | None = None
    reliability: Reliability | None = None
    metrics: dict | None = None


@record
class Paired(Record):
    """The paired verdict: the deployed policy (or HIL) against the reference (or SIL) on the same seeds."""

    verdict: str | None = None
    mean_return_difference: Num = None
    ci90: Pair = None
    margin: Num = None
    margin_source: str | None = None
    basis: str | None = None
    success_mcnemar_p: Num = None
    success_only_reference: int | None = None
    success_only_deployed: int | None = None
    episodes_needed: int | None = None


@record
class PerEpisode(Record):
    seeds: list | None = None
    reference: list | None = None
    deployed: list | None = None
    sil: list | None = None
    hil: list | None = None


@record
class Failure(Record):
    seed: Any = None
    policy: str | None = None
    domain: str | None = None
    reason: str | None = None


# -- the envelope's blocks ---------------------------------------------------------------------------------------


@record
class Host(Record):
    device: str | None = None
    cpu: str | None = None
    physical_cores: int | None = None
    logical_cores: int | None = None
    memory_bytes: int | None = None
    os: str | None = None
    gpus: list | None = None
    jetson: Any = None
    versions: dict | None = None


@record
class Model(Record):
    path: str | None = None
    sha256: str | None = None
    format: str | None = None
    precision: str | None = None


@record
class ReportConfig(Record):
    """The settings a report was measured with, as written (the command's configuration, at the JSON edge)."""

    device: str | None = None
    backend: str | None = None
    precision: str | None = None
    domain: str | None = None
    rate_hz: Num = None
    batch: int | None = None
    stress: int | None = None
    episodes: int | None = None
    to: str | None = None  # sim2sim's second domain
    reference: str | None = None
    bus: Any = None  # hil --bus: the robot edgeperf played
