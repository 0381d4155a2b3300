"""The `results` of each report kind as frozen dataclasses (results/record.py): profile, export, validate, hil,
measure, sim2sim, doctor, reliability, generalize, devices. `read(kind, results)` holds the dict to the kind's
versioned schema (results/report.py RESULTS) and returns its class; `to_dict()` gives the same JSON back.

A block declares the fields edgeperf's readers (figures, compare, check, the terminal and HTML views) use; a field
a report does not carry is None. To add a report kind: its schema in report.py, its class here, in KINDS.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from edgeperf.results.io import validate
from edgeperf.results.record import Record
from edgeperf.results.report import results_schema

Num = float | int | None
Pair = list | None  # [low, high]: a confidence interval as the report writes it


def frozen(cls):
    return dataclass(frozen=True, kw_only=True)(cls)


# -- blocks shared by several kinds ------------------------------------------------------------------------------


@frozen
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


@frozen
class PerStep(Record):
    mJ: Num = None


@frozen
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


@frozen
class TraceRail(Record):
    t_s: list | None = None
    W: list | None = None


@frozen
class Trace(Record):
    rails: dict[str, TraceRail] | None = None
    idle_s: Pair = None
    window_s: Pair = None
    how: str | None = None


@frozen
class Sampling(Record):
    rate_hz: Num = None
    achieved_hz: Num = None


@frozen
class Sensor(Record):
    samples: int | None = None
    update_period_s: Num = None


@frozen
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


@frozen
class Memory(Record):
    peak_rss_bytes: int | None = None
    rss_after_load_bytes: int | None = None
    gpu_process_bytes: int | None = None
    peak_source: str | None = None
    peak_tree_rss_bytes: int | None = None
    peak_process_rss_bytes: int | None = None


@frozen
class Zone(Record):
    max_C: Num = None


@frozen
class Range(Record):
    min: Num = None
    max: Num = None


@frozen
class PowerMode(Record):
    id: Any = None
    name: str | None = None


@frozen
class Thermal(Record):
    zones: dict[str, Zone] | None = None
    cpu_mhz: Range | None = None
    gpu_mhz: Range | None = None
    nvpmodel: PowerMode | None = None
    jetson_clocks: bool | None = None
    throttling: bool | None = None


@frozen
class Named(Record):
    """A block that names something: a domain {id}, a backend {name, device, providers}."""

    id: str | None = None
    name: str | None = None
    device: str | None = None
    providers: list | None = None
    version: str | None = None


@frozen
class Reliability(Record):
    dispersion_iqr: Num = None
    risk_cvar5: Num = None


@frozen
class ReturnStats(Record):
    mean: Num = None
    ci95: Pair = None


@frozen
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


@frozen
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


@frozen
class PerEpisode(Record):
    seeds: list | None = None
    reference: list | None = None
    deployed: list | None = None
    sil: list | None = None
    hil: list | None = None


@frozen
class Failure(Record):
    seed: Any = None
    policy: str | None = None
    domain: str | None = None
    reason: str | None = None


# -- profile -----------------------------------------------------------------------------------------------------


@frozen
class Deadline(Record):
    periods: int | None = None
    misses: int | None = None
    miss_rate: Num = None
    period_us: Num = None
    deadline_us: Num = None
    longest_miss_streak: int | None = None
    response_us: Stats | None = None
    start_delay_us: Stats | None = None
    period_jitter_us: Stats | None = None
    lateness_us: Stats | None = None


@frozen
class Chunk(Record):
    RENAME: ClassVar[dict[str, str]] = {"async": "async_"}
    horizon: int | None = None
    steps_per_chunk: int | None = None
    p99_ms: Num = None
    budget_ms: Num = None
    p99_share_of_budget: Num = None
    latency_is: str | None = None
    budget_rule: str | None = None
    sync: dict | None = None
    async_: dict | None = None


@frozen
class ColdStart(Record):
    open_ms: Num = None
    first_inference_us: Num = None


@frozen
class Cpu(Record):
    process_utilisation_percent: Num = None
    stress_processes: int | None = None


@frozen
class Observations(Record):
    distribution: str | None = None
    source: str | None = None


@frozen
class Warmup(Record):
    iterations: int | None = None


@frozen
class ProfileResults(Record):
    latency_us: Stats | None = None
    deadline: Deadline | None = None
    memory: Memory | None = None
    throughput_per_s: Num = None
    wall_s: Num = None
    power: Power | None = None
    thermal: Thermal | None = None
    backend: Named | None = None
    scenario: str | None = None
    clock: str | None = None
    cold_start: ColdStart | None = None
    warmup: Warmup | None = None
    cpu: Cpu | None = None
    observations: Observations | None = None
    chunk: Chunk | None = None
    recurrent_state: dict | None = None


# -- export ------------------------------------------------------------------------------------------------------


@frozen
class Tolerance(Record):
    atol: Num = None
    rtol: Num = None
    scale_per_dim: list | None = None
    rule: str | None = None


@frozen
class RecurrentParity(Record):
    kind: str | None = None
    sequences: int | None = None
    steps: int | None = None
    max_abs_error_per_step: list | None = None
    drift_ratio: Num = None
    drift_rule: str | None = None


@frozen
class Parity(Record):
    passed: bool | None = None
    observations: int | None = None
    observation_source: str | None = None
    units: str | None = None
    max_abs_error: Num = None
    p99_abs_error: Num = None
    max_abs_error_per_dim: list | None = None
    p99_abs_error_per_dim: list | None = None
    tolerance: Tolerance | None = None
    recurrent: RecurrentParity | None = None


@frozen
class ExportResults(Record):
    size_bytes: int | None = None
    export_s: Num = None
    parity: Parity | None = None
    spaces: dict | None = None


# -- validate ----------------------------------------------------------------------------------------------------


@frozen
class SweepPoint(Record):
    latency_ms: Num = None
    success_rate: Num = None
    success_ci95: Pair = None
    falls: int | None = None
    mean_return: Num = None


@frozen
class LatencySweep(Record):
    points: tuple[SweepPoint, ...] | None = None
    fails_from_ms: Num = None
    rule: str | None = None


@frozen
class Divergence(Record):
    p50: Num = None
    p99: Num = None
    max: Num = None
    nonfinite_steps: int | None = None
    trajectories_separated: int | None = None
    first_separation_step_median: Num = None


@frozen
class LoopLatency(Record):
    """The latency validate put in the loop, and where it came from."""

    source: str | None = None


@frozen
class ValidateResults(Record):
    episodes: int | None = None
    domain: Named | None = None
    mode: str | None = None
    reference: Episodes | None = None
    deployed: Episodes | None = None
    paired: Paired | None = None
    per_episode: PerEpisode | None = None
    action_divergence: Divergence | None = None
    latency: LoopLatency | None = None
    latency_sweep: LatencySweep | None = None
    failures: tuple[Failure, ...] | None = None
    wall_s: Num = None
    workers: int | None = None


# -- hil ---------------------------------------------------------------------------------------------------------


@frozen
class Link(Record):
    steps: int | None = None
    queries: int | None = None
    misses: int | None = None
    deadline_ms: Num = None
    longest_miss_streak: int | None = None
    stale_replies: int | None = None
    reconnects: int | None = None
    gaps: list | None = None
    round_trip_us: Stats | None = None
    network_us: Stats | None = None
    server_us: Stats | None = None
    inference_us: Stats | None = None
    stale_round_trip_us: Stats | None = None
    loop_start_delay_us: Stats | None = None
    clock_offset_us: Stats | None = None

    @property
    def exchanges(self) -> int | None:
        """One per control step, or one per chunk query for a chunk policy."""
        return self.steps or self.queries


@frozen
class HilChunks(Record):
    horizon: int | None = None
    mode: str | None = None
    steps: int | None = None
    timing: str | None = None
    reply_steps: Stats | None = None


@frozen
class HilResults(Record):
    domain: Named | None = None
    mode: str | None = None
    link: Link | None = None
    hil: Episodes | None = None
    sil: Episodes | None = None
    paired: Paired | None = None
    per_episode: PerEpisode | None = None
    server: dict | None = None
    chunks: HilChunks | None = None
    wall_s: Num = None
    simulated_s: Num = None


# -- measure -----------------------------------------------------------------------------------------------------


@frozen
class MeasureResults(Record):
    command: list | None = None
    exit_code: int | None = None
    wall_s: Num = None
    memory: Memory | None = None
    power: Power | None = None
    thermal: Thermal | None = None


# -- sim2sim and doctor ------------------------------------------------------------------------------------------


@frozen
class Shift(Record):
    a: Num = None
    b: Num = None
    standardized: Num = None


@frozen
class Transfer(Record):
    verdict: str | None = None
    return_difference: Num = None
    return_difference_ci90: Pair = None
    success_rate_difference: Num = None
    success_difference_ci90: Pair = None
    moved_most: str | None = None
    metric_shifts: dict[str, Shift] | None = None


@frozen
class Level(Record):
    level: Num = None
    success_rate: Num = None
    success_ci95: Pair = None
    falls: int | None = None
    return_mean: Num = None


@frozen
class Robustness(Record):
    domain: str | None = None
    what: str | None = None
    levels: tuple[Level, ...] | None = None


@frozen
class Sides(Record):
    a: Named | None = None
    b: Named | None = None


@frozen
class Sim2SimResults(Record):
    episodes: int | None = None
    domains: Sides | None = None
    a: Episodes | None = None
    b: Episodes | None = None
    transfer: Transfer | None = None
    robustness: Robustness | None = None
    failures: tuple[Failure, ...] | None = None


@frozen
class Trial(Record):
    successes: int | None = None
    episodes: int | None = None
    falls: int | None = None
    success_rate: Num = None
    mean_return: Num = None
    failure: str | None = None


@frozen
class Finding(Record):
    family: str | None = None
    fix: str | None = None
    screen: Trial | None = None
    confirm: Trial | None = None


@frozen
class Term(Record):
    term: str | None = None
    slot: list | None = None
    max_error: Num = None
    skipped: str | None = None
    matches: bool | None = None
    explanation: str | None = None


@frozen
class Recording(Record):
    steps: int | None = None
    layout: Any = None
    terms: tuple[Term, ...] | None = None


@frozen
class Search(Record):
    coverage: Num = None
    tried: int | None = None
    candidates: int | None = None
    not_tried: dict | None = None
    wall_s: Num = None


@frozen
class Tolerated(Record):
    tolerated_ms: Num = None
    profile_p99_ms: Num = None


@frozen
class DoctorResults(Record):
    verdict: str | None = None
    summary: str | None = None
    baseline: Trial | None = None
    search: Search | None = None
    findings: tuple[Finding, ...] | None = None
    recording: Recording | None = None
    latency: Tolerated | None = None
    fixed_spec: Model | None = None


# -- many runs (analysis/) and devices ---------------------------------------------------------------------------


@frozen
class AcrossRuns(Record):
    median_final_value: Num = None
    dispersion_across_runs: Num = None
    risk_across_runs: Num = None


@frozen
class ReliabilityResults(Record):
    n_runs: int | None = None
    across_runs: AcrossRuns | None = None


@frozen
class Aggregate(Record):
    tasks: int | None = None
    sum_of_mean_returns: Num = None
    mean_success_rate: Num = None


@frozen
class GeneralizeResults(Record):
    aggregate: Aggregate | None = None


@frozen
class DevicesResults(Record):
    """A devices document carries its figures outside `results`: the page shows them as a table."""


KINDS: dict[str, type[Record]] = {
    "profile": ProfileResults,
    "export": ExportResults,
    "validate": ValidateResults,
    "hil": HilResults,
    "measure": MeasureResults,
    "sim2sim": Sim2SimResults,
    "doctor": DoctorResults,
    "reliability": ReliabilityResults,
    "generalize": GeneralizeResults,
    "devices": DevicesResults,
}


def read(kind: str, results: dict, *, source: str = "report") -> Record:
    """A report's `results` as its kind's class, held to the kind's schema first (BadInput names the field)."""
    validate(results, results_schema(kind), f"{source}: results")
    return KINDS[kind].from_dict(results)


# -- the envelope ------------------------------------------------------------------------------------------------


@frozen
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


@frozen
class Model(Record):
    path: str | None = None
    sha256: str | None = None
    format: str | None = None
    precision: str | None = None


@frozen
class ReportConfig(Record):
    """The settings a report was measured with, as written (the command's configuration, at the JSON edge)."""

    device: str | None = None
    backend: str | None = None
    precision: str | None = None
    domain: str | None = None
    rate_hz: Num = None
    batch: int | None = None
    stress: int | None = None


@frozen
class Document(Record):
    """A whole report: the envelope typed, `results` as its kind's class (`kind` is '' for an unknown schema)."""

    schema: str | None = None
    run_id: str | None = None
    created_at: str | None = None
    edgeperf_version: str | None = None
    host: Host | None = None
    model: Model | None = None
    config: ReportConfig | None = None
    results: Any = None
    unmeasured: dict | None = None
    warnings: list | None = None

    @property
    def kind(self) -> str:
        """'profile' for 'edgeperf.profile/1'."""
        return str(self.schema or "").split(".", 1)[-1].split("/", 1)[0]

    def why(self, *keys: str, default: str | None = None) -> str | None:
        """The reason the report gives for the first of `keys` it could not measure, else `default`."""
        un = self.unmeasured if isinstance(self.unmeasured, dict) else {}
        return next((str(un[k]) for k in keys if un.get(k)), default)

    @classmethod
    def read(cls, report: dict, *, source: str = "report") -> Document:
        """The report dict typed; its `results` held to the kind's schema (a kind without a class stays a dict)."""
        doc = cls.from_dict(report)
        if doc.kind in KINDS and isinstance(doc.results, dict):
            doc = dataclasses.replace(doc, results=read(doc.kind, doc.results, source=source))
        return doc
