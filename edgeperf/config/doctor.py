"""`edgeperf doctor`'s configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from edgeperf.config.base import Config
from edgeperf.config.validate import check_paired
from edgeperf.errors import BadInput

MAX_BUDGET_S = 24 * 3600
MAX_EPISODES = 1000  # each candidate fix is evaluated on every episode: more is a search of days


@dataclass(frozen=True)
class DoctorConfig(Config):
    """Why a policy fails in `domain` (a mujoco:SPEC domain gets its contract searched for the fix): `reference`,
    the original policy to compare with; `recording`, what the robot's training sent, compared term by term;
    `latency_from`, a profile report whose latency is put in the loop; `budget_s`, the search's wall-clock
    budget; episodes from `seed`."""

    domain: str
    reference: str | None = None
    recording: str | Path | None = None
    latency_from: str | Path | None = None
    budget_s: float = 300.0
    episodes: int = 5
    seed: int = 0

    def check(self) -> DoctorConfig:
        budget_s, episodes = self.budget_s, self.episodes
        if not (isinstance(budget_s, (int, float)) and math.isfinite(budget_s) and 0 < budget_s <= MAX_BUDGET_S):
            raise BadInput(f"--budget-s must be a number of seconds above 0 (at most a day), got {budget_s}")
        if not (isinstance(episodes, int) and 2 <= episodes <= MAX_EPISODES):
            raise BadInput(f"--episodes must be from 2 to {MAX_EPISODES}, got {episodes}")
        check_paired(episodes, self.seed, None, None)  # the seed's range, as validate's
        return self

    def to_dict(self) -> dict:
        """The report's `config` (edgeperf.doctor/1)."""
        return {
            "domain": self.domain,
            "reference": self.reference,
            "recording": str(self.recording) if self.recording else None,
            "latency_from": str(self.latency_from) if self.latency_from else None,
            "budget_s": self.budget_s,
            "episodes": self.episodes,
            "seed": self.seed,
        }
