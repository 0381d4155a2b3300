"""`edgeperf plan`'s configuration."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from edgeperf.config.base import Config
from edgeperf.config.profile import usable_cores
from edgeperf.config.validate import check_paired
from edgeperf.errors import BadInput

DEFAULT_EPISODES = 12
DEFAULT_DURATION_S = 10.0
MIN_PERIODS = 10  # control periods a candidate's profile spans at least (fewer is no latency distribution)
MAX_DURATION_S = 3600
MAX_RATE_HZ = 100_000


@dataclass(frozen=True)
class PlanConfig(Config):
    """The cheapest deployment that still does the task in `domain`: the candidate grid (`candidates`, default
    the target's), on `device` (here) or `host` (over ssh), each profiled `duration` seconds at `rate` (default
    the domain's control rate) under `stress` co-runners and validated in `episodes` paired episodes from `seed`;
    `budget` the limits a recommendation must meet. `executor` ("local", "ray", or an object with sweep
    executors' run/describe/close), `workers` and `address` say where the steps run."""

    domain: str
    device: str = "auto"
    host: str | None = None
    rate: float | None = None
    budget: str | None = None
    candidates: str | None = None
    episodes: int = DEFAULT_EPISODES
    duration: float = DEFAULT_DURATION_S
    stress: int = 0
    seed: int = 0
    executor: Any = "local"
    workers: int | None = None
    address: str | None = None

    def check(self) -> PlanConfig:
        """The numbers, the rate once resolved (plan resolves a None rate to the domain's first)."""
        rate, duration, stress = self.rate, self.duration, self.stress
        if rate is not None and not (rate > 0 and rate <= MAX_RATE_HZ):
            raise BadInput(f"--rate must be a control rate in Hz above 0 (at most {MAX_RATE_HZ}), got {rate:g}")
        if isinstance(duration, bool) or not (isinstance(duration, (int, float)) and 0 < duration <= MAX_DURATION_S):
            raise BadInput(
                f"--duration must be seconds of profiling per candidate, above 0 and at most {MAX_DURATION_S}, "
                f"got {duration}"
            )
        if rate is not None and rate * duration < MIN_PERIODS:  # at --rate 1e-5, one period lasts 27 hours
            raise BadInput(
                f"--rate {rate:g} Hz for --duration {duration:g} s profiles {rate * duration:.3g} control periods "
                f"per candidate; at least {MIN_PERIODS} make a latency distribution: raise --duration or --rate"
            )
        # Here, profile's own bound (one co-runner per usable core): a larger one failed every profile after the
        # exports. On --host, the device's profile checks.
        most = usable_cores() if self.host is None else 4 * (os.cpu_count() or 1)
        if isinstance(stress, bool) or not isinstance(stress, int) or not 0 <= stress <= most:
            raise BadInput(f"--stress must be co-runner processes from 0 to {most}, got {stress}")
        check_paired(self.episodes, self.seed, None, None)
        return self
