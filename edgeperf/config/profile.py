"""`edgeperf profile`'s configuration: what `edgeperf.profile`, the CLI, a fresh process and a remote device run."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields

from edgeperf.config.base import Config, as_tuple
from edgeperf.errors import BadInput

# Bounds on numeric options, checked against this machine before any work.
MAX_DURATION_S = 7 * 24 * 3600  # a thermal soak needs an hour; a week is the longest run worth waiting for
# No inference Python can drive takes under ~0.5 us: 10^12 of them cannot finish within a week.
MAX_COUNT = 10**12
THREADS_PER_CORE = 4  # intra-op threads past the cores only time-slice them; 4x leaves room to show that
DEFAULT_SPIN_US = 200.0  # the periodic loop spins (not sleeps) this long before a release (profilers/latency.py)

# `--power`: these modes, or names of edgeperf.profilers.power.SOURCES (a test keeps the two lists equal; the
# registry imports every source's module, which a configuration must not).
POWER_MODES = ("auto", "any", "estimate", "off")
POWER_SOURCES = ("ina3221", "jtop", "rapl", "nvml", "hwmon", "battery")
MAX_POWER_RATE_HZ = 1000.0
MAX_IDLE_S = 600


def usable_cores() -> int:
    """The logical cores this process may run on (its affinity mask, which a container may narrow)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def check_power(mode: str, rate_hz: float, idle_s: float) -> None:
    """--power, --power-rate and --idle (profile's and measure's)."""
    if not (math.isfinite(rate_hz) and 0 < rate_hz <= MAX_POWER_RATE_HZ):
        raise BadInput(
            f"--power-rate must be a sampling rate in Hz, above 0 and at most {MAX_POWER_RATE_HZ:g}, got {rate_hz}"
        )
    if not (math.isfinite(idle_s) and 0 <= idle_s <= MAX_IDLE_S):
        raise BadInput(f"--idle must be a number of seconds from 0 to {MAX_IDLE_S}, got {idle_s}")
    if mode in POWER_MODES:
        return
    unknown = [n for n in mode.split(",") if n.strip() not in POWER_SOURCES]
    if unknown or not mode.strip():
        raise BadInput(
            f"--power {mode!r}: expected one of {', '.join(POWER_MODES)} or power source names "
            f"({', '.join(POWER_SOURCES)}), comma-separated"
        )


@dataclass(frozen=True)
class ProfileConfig(Config):
    """How to profile a model (the model itself, where timings and plots go, and progress are not config).

    Stream scenario by default; periodic when `rate` is given (deadline = period unless `deadline_ms`).
    `power`: auto (measured sources; absent with the reason when there are none), any (measured, else a
    labelled estimate), estimate, off, or source names; sampled at `power_rate_hz` after an `idle_s` baseline.
    `device` is the computer the profile must run on; `accelerator` where the backend runs on it."""

    backend: str = field(default="auto", metadata={"flag": "--backend"})
    device: str = field(default="auto", metadata={"flag": "--device"})
    accelerator: str = field(default="auto", metadata={"flag": "--accelerator"})
    rate: float | None = field(default=None, metadata={"flag": "--rate"})
    deadline_ms: float | None = field(default=None, metadata={"flag": "--deadline"})
    iterations: int = field(default=1000, metadata={"flag": "--iterations"})
    duration: float = field(default=5.0, metadata={"flag": "--duration"})
    warmup: int = field(default=100, metadata={"flag": "--warmup"})
    threads: int = field(default=1, metadata={"flag": "--threads"})
    batch: int = field(default=1, metadata={"flag": "--batch"})
    shape: tuple[int, ...] | None = field(default=None, metadata={"flag": "--shape"})
    observations: str = field(default="random", metadata={"flag": "--observations"})
    stress: int = field(default=0, metadata={"flag": "--stress"})
    seed: int = 0
    spin_us: float = DEFAULT_SPIN_US
    power: str = field(default="auto", metadata={"flag": "--power"})
    power_rate_hz: float = field(default=10.0, metadata={"flag": "--power-rate"})
    idle_s: float = field(default=2.0, metadata={"flag": "--idle"})
    chunk_steps: int | None = field(default=None, metadata={"flag": "--chunk-steps"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", as_tuple(self.shape))

    @property
    def scenario(self) -> str:
        return "periodic" if self.rate else "stream"

    @property
    def period_ns(self) -> int | None:
        return round(1e9 / self.rate) if self.rate else None

    @property
    def deadline_ns(self) -> int | None:
        """Each release's deadline after it: `deadline_ms`, else the period (None for a stream)."""
        if not self.rate:
            return None
        return round(self.deadline_ms * 1e6) if self.deadline_ms else self.period_ns

    def check(self, *, this_machine: bool = True) -> ProfileConfig:
        """Every option, before any work (the model is checked when it opens). this_machine=False: the profile
        runs on another device (--host), which checks --threads and --stress against its own cores."""
        iterations, duration, warmup = self.iterations, self.duration, self.warmup
        threads, batch, rate, deadline_ms, stress = self.threads, self.batch, self.rate, self.deadline_ms, self.stress
        for name, value, low in (
            ("iterations", iterations, 1),
            ("warmup", warmup, 0),
            ("threads", threads, 1),
            ("batch", batch, 1),
        ):
            if value < low:
                raise BadInput(f"--{name} must be at least {low}, got {value}")
        for name, value in (("iterations", iterations), ("warmup", warmup)):
            if value > MAX_COUNT:
                raise BadInput(
                    f"--{name} {value} is more than {MAX_COUNT:.0e} inferences, which cannot finish within a week; "
                    "for a long soak give --duration S instead"
                )
        if not (math.isfinite(duration) and 0 <= duration <= MAX_DURATION_S):
            raise BadInput(
                f"--duration must be a finite number of seconds from 0 to {MAX_DURATION_S} (a week), got {duration}"
            )
        cores = usable_cores() if this_machine else None
        if cores is not None and threads > THREADS_PER_CORE * cores:
            raise BadInput(
                f"--threads {threads} is more than {THREADS_PER_CORE}x the {cores} logical cores this process may "
                f"use; threads beyond the cores only take turns on them: give at most {THREADS_PER_CORE * cores}"
            )
        # stress == cores keeps every core busy (the policy shares one): the worst case worth measuring; more
        # co-runners than cores only measure the scheduler.
        if cores is not None and not 0 <= stress <= cores:
            raise BadInput(
                f"--stress must be 0 to {cores} co-runner processes (one per logical core this process may use), "
                f"got {stress}"
            )
        if rate is not None and not (math.isfinite(rate) and 0 < rate <= 100_000):
            raise BadInput(f"--rate must be a control rate in Hz, above 0 and at most 100000, got {rate}")
        if rate is not None and batch > 1:
            raise BadInput(
                f"--rate runs a control loop that infers one observation per period, but --batch {batch} feeds "
                f"{batch} per inference: give --rate or --batch, not both"
            )
        if rate is not None and iterations / rate > MAX_DURATION_S:
            raise BadInput(
                f"--iterations {iterations} at --rate {rate:g} Hz take {iterations / rate / 86400:.3g} days, beyond "
                "the one-week limit: give fewer --iterations"
            )
        if deadline_ms is not None:
            if rate is None:
                raise BadInput("--deadline applies to a periodic run: give --rate HZ too")
            if not (math.isfinite(deadline_ms) and deadline_ms > 0):
                raise BadInput(f"--deadline must be a positive number of milliseconds, got {deadline_ms}")
        check_power(self.power, self.power_rate_hz, self.idle_s)
        if self.observations != "random" and not self.observations.startswith("domain:"):
            raise BadInput(
                f"--observations {self.observations!r}: give 'random' (sampled from the model's input space) or "
                "domain:ID (the model's own observations in a domain, e.g. domain:quadruped/trot)"
            )
        return self

    def to_dict(self) -> dict:
        """The report's `config` (edgeperf.profile/1): `device` and `backend` as resolved by the run."""
        on = self.power != "off"
        return {
            "scenario": self.scenario,
            "backend": self.backend,
            "device": self.device,
            "accelerator": self.accelerator,
            "rate_hz": self.rate,
            "deadline_ms": self.deadline_ms,
            "iterations": self.iterations,
            "duration_s": self.duration,
            "warmup": self.warmup,
            "threads": self.threads,
            "batch": self.batch,
            "shape": list(self.shape) if self.shape else None,
            "observations": self.observations,
            "stress": self.stress,
            "seed": self.seed,
            "power": self.power,
            "power_rate_hz": self.power_rate_hz if on else None,
            "idle_s": self.idle_s if on else None,
        }

    @classmethod
    def from_dict(cls, d: dict) -> ProfileConfig:
        """A report's `config` back (what it leaves out, `spin_us` and a power-off run's rate and idle, are the
        defaults; `chunk_steps` lives in the report's results)."""
        renamed = {"rate_hz": "rate", "duration_s": "duration"}
        names = {f.name for f in fields(cls)}
        kw = {renamed.get(k, k): v for k, v in d.items() if renamed.get(k, k) in names}
        for k in ("power_rate_hz", "idle_s"):
            if kw.get(k) is None:
                kw.pop(k, None)
        return cls(**kw)

    def to_argv(self) -> list[str]:
        """`edgeperf profile`'s options for this config, the defaults left out (a remote device runs the CLI,
        whose edgeperf may be another version). A field the CLI has no option for must be its default."""
        args = []
        for f in fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            flag = f.metadata.get("flag")
            if flag is None:
                raise TypeError(f"{f.name}={value!r} has no `edgeperf profile` option: leave it at its default")
            if self.power == "off" and f.name in ("power_rate_hz", "idle_s"):
                continue
            if f.name == "power" and value == "off":
                args.append("--no-power")
                continue
            text = ",".join(map(str, value)) if f.name == "shape" else str(value)
            args += [flag, text]
        return args
