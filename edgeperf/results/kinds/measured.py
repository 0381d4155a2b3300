"""The results of the reports that measure an artifact: profile, export, measure."""

from __future__ import annotations

from typing import ClassVar

from edgeperf.results.kinds.blocks import Memory, Named, Num, Power, Stats, Thermal
from edgeperf.results.record import Record, record

# -- profile -----------------------------------------------------------------------------------------------------


@record
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


@record
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


@record
class ColdStart(Record):
    open_ms: Num = None
    first_inference_us: Num = None


@record
class Cpu(Record):
    process_utilisation_percent: Num = None
    stress_processes: int | None = None


@record
class Observations(Record):
    distribution: str | None = None
    source: str | None = None


@record
class Warmup(Record):
    iterations: int | None = None


@record
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


@record
class Tolerance(Record):
    atol: Num = None
    rtol: Num = None
    scale_per_dim: list | None = None
    rule: str | None = None


@record
class RecurrentParity(Record):
    kind: str | None = None
    sequences: int | None = None
    steps: int | None = None
    max_abs_error_per_step: list | None = None
    drift_ratio: Num = None
    drift_rule: str | None = None


@record
class Parity(Record):
    passed: bool | None = None
    observations: int | None = None
    observation_source: str | None = None
    units: str | None = None
    max_abs_error: Num = None
    p99_abs_error: Num = None
    max_abs_error_per_dim: list | None = None
    p99_abs_error_per_dim: list | None = None
    elements_out_of_tolerance: int | None = None
    tolerance: Tolerance | None = None
    recurrent: RecurrentParity | None = None
    # a discrete policy: the chosen action agrees, or not (errors are of the logits)
    action_kind: str | None = None
    agreement_rate: Num = None
    disagreements: int | None = None
    disagreements_on_near_ties: int | None = None


@record
class Calibration(Record):
    observations: int | None = None
    source: str | None = None
    method: str | None = None


@record
class Quantization(Record):
    mode: str | None = None
    quantized_nodes: int | None = None
    calibration: Calibration | None = None


@record
class ExportResults(Record):
    size_bytes: int | None = None
    export_s: Num = None
    parity: Parity | None = None
    quantization: Quantization | None = None
    files: list | None = None
    spaces: dict | None = None


# -- measure -----------------------------------------------------------------------------------------------------


@record
class MeasureResults(Record):
    command: list | None = None
    exit_code: int | None = None
    wall_s: Num = None
    memory: Memory | None = None
    power: Power | None = None
    thermal: Thermal | None = None
