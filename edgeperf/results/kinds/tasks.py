"""The results of the reports that run a policy on its task: validate, hil, sim2sim, doctor."""

from __future__ import annotations

from typing import Any

from edgeperf.results.kinds.blocks import Episodes, Failure, Model, Named, Num, Pair, Paired, PerEpisode, Stats
from edgeperf.results.record import Record, record

# -- validate ----------------------------------------------------------------------------------------------------


@record
class SweepPoint(Record):
    latency_ms: Num = None
    success_rate: Num = None
    success_ci95: Pair = None
    falls: int | None = None
    mean_return: Num = None


@record
class LatencySweep(Record):
    points: tuple[SweepPoint, ...] | None = None
    fails_from_ms: Num = None
    rule: str | None = None


@record
class Divergence(Record):
    p50: Num = None
    p99: Num = None
    max: Num = None
    nonfinite_steps: int | None = None
    trajectories_separated: int | None = None
    first_separation_step_median: Num = None


@record
class LoopLatency(Record):
    """The latency validate put in the loop, and where it came from."""

    source: str | None = None


@record
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


@record
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


@record
class HilChunks(Record):
    horizon: int | None = None
    mode: str | None = None
    steps: int | None = None
    timing: str | None = None
    reply_steps: Stats | None = None


@record
class Stopped(Record):
    """Where the user's controller went silent (hil --bus)."""

    step: int | None = None
    episode: int | None = None
    seed: Any = None


@record
class Bus(Record):
    controller_stopped: Stopped | None = None


@record
class HilResults(Record):
    domain: Named | None = None
    mode: str | None = None
    episodes: int | None = None
    episodes_run: int | None = None
    nonfinite_episodes: list | None = None
    bus: Bus | None = None
    link: Link | None = None
    hil: Episodes | None = None
    sil: Episodes | None = None
    paired: Paired | None = None
    per_episode: PerEpisode | None = None
    server: dict | None = None
    chunks: HilChunks | None = None
    wall_s: Num = None
    simulated_s: Num = None


# -- sim2sim and doctor ------------------------------------------------------------------------------------------


@record
class Shift(Record):
    a: Num = None
    b: Num = None
    standardized: Num = None


@record
class Transfer(Record):
    verdict: str | None = None
    return_difference: Num = None
    return_difference_ci90: Pair = None
    success_rate_difference: Num = None
    success_difference_ci90: Pair = None
    moved_most: str | None = None
    metric_shifts: dict[str, Shift] | None = None


@record
class Level(Record):
    level: Num = None
    success_rate: Num = None
    success_ci95: Pair = None
    falls: int | None = None
    return_mean: Num = None


@record
class Robustness(Record):
    domain: str | None = None
    what: str | None = None
    levels: tuple[Level, ...] | None = None


@record
class Sides(Record):
    a: Named | None = None
    b: Named | None = None


@record
class Sim2SimResults(Record):
    episodes: int | None = None
    domains: Sides | None = None
    a: Episodes | None = None
    b: Episodes | None = None
    transfer: Transfer | None = None
    robustness: Robustness | None = None
    failures: tuple[Failure, ...] | None = None


@record
class Trial(Record):
    successes: int | None = None
    episodes: int | None = None
    falls: int | None = None
    success_rate: Num = None
    mean_return: Num = None
    failure: str | None = None


@record
class Finding(Record):
    family: str | None = None
    fix: str | None = None
    screen: Trial | None = None
    confirm: Trial | None = None


@record
class Term(Record):
    term: str | None = None
    slot: list | None = None
    max_error: Num = None
    skipped: str | None = None
    matches: bool | None = None
    explanation: str | None = None


@record
class Recording(Record):
    steps: int | None = None
    layout: Any = None
    terms: tuple[Term, ...] | None = None


@record
class Search(Record):
    coverage: Num = None
    tried: int | None = None
    candidates: int | None = None
    not_tried: dict | None = None
    wall_s: Num = None


@record
class Tolerated(Record):
    tolerated_ms: Num = None
    profile_p99_ms: Num = None


@record
class DoctorResults(Record):
    verdict: str | None = None
    summary: str | None = None
    baseline: Trial | None = None
    search: Search | None = None
    findings: tuple[Finding, ...] | None = None
    recording: Recording | None = None
    latency: Tolerated | None = None
    fixed_spec: Model | None = None
