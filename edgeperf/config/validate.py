"""`edgeperf validate`'s configuration, and the paired options every paired command shares (validate, hil,
sim2sim, doctor, plan, generalize, the demo)."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass
from typing import Any

from edgeperf.config.base import Config
from edgeperf.errors import BadInput

# Bounds checked before any episode runs: beyond them a run is a typo, not a plan (hours of simulation).
MAX_EPISODES = 10_000
WORKERS_PER_CORE = 4
SEED_LIMIT = 2**32  # numpy and gymnasium take seeds in [0, 2**32)


def _whole(v) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)  # numpy's integers are Integral


def check_paired(episodes, seed, workers, margin) -> None:
    """The paired options (--episodes, --seed, --workers, --margin), before anything runs."""
    if not _whole(episodes) or not 2 <= episodes <= MAX_EPISODES:
        raise BadInput(f"--episodes must be from 2 (paired statistics need two) to {MAX_EPISODES}, got {episodes}")
    if not _whole(seed) or not 0 <= seed <= SEED_LIMIT - episodes:
        raise BadInput(
            f"--seed must be from 0 to {SEED_LIMIT - episodes} (episode k uses seed + k, below 2**32), got {seed}"
        )
    most = WORKERS_PER_CORE * (os.cpu_count() or 1)
    if workers is not None and (not _whole(workers) or not 1 <= workers <= most):
        raise BadInput(
            f"--workers must be from 1 to {most} ({WORKERS_PER_CORE} per core here), got {workers}; "
            "leave it out for one per core"
        )
    if margin is not None and not (isinstance(margin, int | float) and math.isfinite(margin) and margin > 0):
        raise BadInput(f"--margin must be a positive, finite number of return units, got {margin}")


def described(value: Any) -> Any:
    """A latency model or chunk execution as the report records it (its source line, its dict); what a report
    gave back (already that) as it is."""
    if value is None or isinstance(value, str | dict):
        return value
    return value.source if hasattr(value, "source") else value.to_dict()


@dataclass(frozen=True)
class ValidateConfig(Config):
    """Paired validation of a deployed policy against its reference in `domain`.

    `latency`: the delay of every deployed action, an edgeperf.validation.latency.LatencyModel (the library
    builds one from milliseconds or a profile report); `chunking`: an edgeperf.validation.chunks.ChunkExecution
    for a policy that returns action chunks. Both are objects of the layer above: the report records their
    description, and a config read back from a report holds that description. `reference` None: the domain's
    bundled policy; `workers` None: one per core; `margin` None: the domain's. The report records them
    resolved. `vecnormalize` and `trust_pickle` concern how SB3 policies load (not recorded)."""

    domain: str
    reference: str | None = None
    episodes: int = 20
    seed: int = 0
    latency: Any = None
    sweep_ms: tuple[float, ...] | None = None
    workers: int | None = None
    margin: float | None = None
    chunking: Any = None
    vecnormalize: str | None = None
    trust_pickle: bool = False

    def __post_init__(self) -> None:
        if self.sweep_ms is not None:
            object.__setattr__(self, "sweep_ms", tuple(self.sweep_ms))

    def check(self) -> ValidateConfig:
        check_paired(self.episodes, self.seed, self.workers, self.margin)
        return self

    def to_dict(self) -> dict:
        """The report's `config` (edgeperf.validate/1), of the config as it ran (the paired engine resolves the
        domain's id, the reference, the workers and the margin)."""
        return {
            "domain": self.domain,
            "reference": self.reference,
            "episodes": self.episodes,
            "seed": self.seed,
            "workers": self.workers,
            "margin": self.margin,
            "latency": described(self.latency),
            "latency_sweep_ms": list(self.sweep_ms) if self.sweep_ms is not None else None,
            "chunking": described(self.chunking),
        }

    @classmethod
    def from_dict(cls, d: dict) -> ValidateConfig:
        names = ("domain", "reference", "episodes", "seed", "workers", "margin", "latency", "chunking")
        kw = {k: d[k] for k in names if k in d}
        return cls(sweep_ms=d.get("latency_sweep_ms"), **kw)
