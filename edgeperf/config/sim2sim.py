"""`edgeperf sim2sim`'s configuration."""

from __future__ import annotations

from dataclasses import dataclass

from edgeperf.config.base import Config
from edgeperf.config.validate import check_paired
from edgeperf.errors import BadInput


@dataclass(frozen=True)
class Sim2simConfig(Config):
    """The same policy in `domain` and in `to` for `episodes` episodes from `seed` (not paired: the worlds
    differ). `randomize`: (quantity, levels), the transfer measured at each level of one quantity of `to`
    (edgeperf.validation.sim2sim.parse_randomize reads `--randomize KEY=V1,V2`). `workers` None: one per core."""

    domain: str
    to: str
    episodes: int = 10
    seed: int = 0
    workers: int | None = None
    randomize: tuple[str, tuple[float, ...]] | None = None

    def __post_init__(self) -> None:
        if self.randomize is not None:
            key, levels = self.randomize
            object.__setattr__(self, "randomize", (key, tuple(levels)))

    def check(self) -> Sim2simConfig:
        check_paired(self.episodes, self.seed, self.workers, None)
        if self.domain == self.to:
            raise BadInput(f"--domain and --to are both {self.domain}: sim-to-sim compares two different domains")
        return self

    def to_dict(self) -> dict:
        """The report's `config` (edgeperf.sim2sim/1), of the config as it ran (the workers resolved)."""
        r = self.randomize
        return {
            "domain": self.domain,
            "to": self.to,
            "episodes": self.episodes,
            "seed": self.seed,
            "workers": self.workers,
            "randomize": {"quantity": r[0], "levels": list(r[1])} if r else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Sim2simConfig:
        r = d.get("randomize")
        kw = {k: d[k] for k in ("domain", "to", "episodes", "seed", "workers") if k in d}
        return cls(randomize=(r["quantity"], r["levels"]) if r else None, **kw)
