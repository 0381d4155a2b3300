"""`edgeperf hil`'s configuration (edgeperf driving a policy `edgeperf serve` answers; `hil --bus`, edgeperf as the
robot on DDS, is edgeperf/bus/'s)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeperf.config.base import Config
from edgeperf.config.validate import check_paired
from edgeperf.errors import BadInput

MODES = ("realtime", "lockstep")
FALLBACKS = ("hold", "zero", "default")  # what a missed deadline applies
MAX_CONNECT_TIMEOUT_S = 3600


@dataclass(frozen=True)
class HilConfig(Config):
    """HIL episodes in `domain` against the server at `connect`, or (with `host`) one edgeperf starts on that
    device over ssh with `model`; `model` also adds the SIL comparison (the same artifact here).

    `deadline_ms` None: 80% of the domain's period (the run resolves it against the domain). `chunking`: an
    edgeperf.validation.chunks.ChunkExecution (its timing follows the mode). The server's token is no config:
    it is never written anywhere."""

    domain: str
    connect: str | None = None
    model: str | Path | None = None
    host: str | None = None
    remote_edgeperf: str = "edgeperf"
    ssh_options: tuple[str, ...] = field(default=())
    token_file: str | Path | None = None
    connect_timeout: float = 5.0
    episodes: int = 10
    seed: int = 0
    mode: str = "realtime"
    on_miss: str = "hold"
    deadline_ms: float | None = None
    margin: float | None = None
    workers: int | None = None
    chunking: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "ssh_options", tuple(self.ssh_options or ()))

    def check(self) -> HilConfig:
        """Every option that can be checked before the domain is made and anything connects: the server's, then
        the run's."""
        if (self.connect is None) == (self.host is None):
            raise BadInput("give the server with --connect HOST:PORT, or --host USER@ROBOT MODEL to start one there")
        ct = self.connect_timeout
        if not (isinstance(ct, (int, float)) and math.isfinite(ct) and 0 < ct <= MAX_CONNECT_TIMEOUT_S):
            raise BadInput(f"--connect-timeout must be above 0 and at most {MAX_CONNECT_TIMEOUT_S} s, got {ct}")
        if self.host is not None and self.model is None:
            raise BadInput("--host copies the model to the robot and serves it there: give the MODEL too")
        return self.check_run()

    def check_run(self) -> HilConfig:
        """The episodes' options (the demo checks them before it has a server)."""
        check_paired(self.episodes, self.seed, self.workers, self.margin)
        if self.mode not in MODES:
            raise BadInput(f"--mode {self.mode!r}: choose {' or '.join(MODES)}")
        if self.on_miss not in FALLBACKS:
            raise BadInput(f"--on-miss {self.on_miss!r}: choose {', '.join(FALLBACKS)}")
        if self.mode == "lockstep" and self.deadline_ms is not None:
            raise BadInput("--deadline applies to --mode realtime: lockstep waits for every action")
        if self.chunking is not None and self.deadline_ms is not None:
            raise BadInput(
                "--deadline is the wait for one action per step; with --chunk-exec a chunk's reply takes over at "
                "the nearest control step after it arrives (as validate rounds latency)"
            )
        return self

    def to_dict(self) -> dict:
        """The report's `config` (edgeperf.hil/1), of the config as it ran: the domain's id, the address reached
        (for --host, the tunnel's end here), and the deadline resolved (none with chunks: each reply takes over
        at the next step)."""
        d = {
            "domain": self.domain,
            "connect": self.connect,
            "mode": self.mode,
            "on_miss": self.on_miss,
            "deadline_ms": None if self.chunking else self.deadline_ms,
            "episodes": self.episodes,
            "seed": self.seed,
            "sil_model": str(self.model) if self.model else None,
        }
        if self.host is not None:
            d["host"] = {"host": self.host, "via": "ssh tunnel to the device's loopback"}
        return d

    @classmethod
    def from_dict(cls, d: dict) -> HilConfig:
        names = ("domain", "connect", "mode", "on_miss", "deadline_ms", "episodes", "seed")
        kw = {k: d[k] for k in names if k in d}
        host = (d.get("host") or {}).get("host")
        return cls(model=d.get("sil_model"), host=host, **kw)
