"""`edgeperf demo`'s configuration: which stages edgeperf.deploy runs, and how long."""

from __future__ import annotations

from dataclasses import dataclass

from edgeperf.config.base import Config
from edgeperf.config.validate import check_paired
from edgeperf.errors import BadInput

MAX_STAGE_EPISODES = 10_000
MAX_DURATION_S = 24 * 3600


@dataclass(frozen=True)
class DeployConfig(Config):
    """Export -> profile (`duration` seconds in a control loop) -> validate (`episodes` paired) in `domain`,
    then, for each count above 0, HIL (`hil_episodes`, at least 2: paired), sim-to-sim in the domain's MuJoCo
    twin (`sim2sim_episodes`) and the plan (`plan_episodes`)."""

    domain: str
    duration: float = 20.0
    episodes: int = 6
    hil_episodes: int = 2
    sim2sim_episodes: int = 0
    plan_episodes: int = 0

    def check(self) -> DeployConfig:
        """The counts and the duration (the domain, its twin and HIL's options against it: edgeperf.deploy)."""
        check_paired(self.episodes, 0, None, None)
        if self.hil_episodes and self.hil_episodes < 2:
            raise BadInput(f"--hil-episodes must be 0 (no HIL stage) or at least 2 (paired), got {self.hil_episodes}")
        n = self.sim2sim_episodes
        if n and not 2 <= n <= MAX_STAGE_EPISODES:
            raise BadInput(f"--sim2sim-episodes must be 0 (no sim-to-sim stage) or 2 to {MAX_STAGE_EPISODES}, got {n}")
        if not (self.duration > 0 and self.duration < MAX_DURATION_S):
            raise BadInput(f"--duration must be a positive number of seconds (under a day), got {self.duration}")
        n = self.plan_episodes
        if n and not 2 <= n <= MAX_STAGE_EPISODES:
            raise BadInput(f"--plan-episodes must be 0 (no plan stage) or 2 to {MAX_STAGE_EPISODES}, got {n}")
        return self
