"""Latency in the loop: the deployed policy's action reaches the robot some time after the observation it
was computed from, as on the target computer.

Action k, computed from the observation at t_k = k * period, becomes ready at
ready_k = max(t_k + L_k, ready_{k-1}) (one inference at a time, in order). Within each control step the
robot holds the last ready action until the next one arrives; an env with an `action_delay_s` attribute
switches at physics-substep granularity, any other env at the nearest control step.
"""

from __future__ import annotations

import itertools
import math
import numbers
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.results import figures
from edgeperf.results.kinds import Stats
from edgeperf.results.report import PERCENTILES, load_report, pct_key

MAX_MS = 60_000.0  # a latency beyond a minute is no control loop: a typo, refused before any episode


@dataclass(frozen=True)
class LatencyModel:
    """A latency distribution in seconds: a constant, or quantiles (q in [0, 1] -> seconds) sampled by
    inverse-CDF interpolation."""

    quantiles: tuple[tuple[float, float], ...]
    source: str

    @classmethod
    def constant(cls, ms: float, option: str = "--latency") -> LatencyModel:
        if not (isinstance(ms, numbers.Real) and np.isfinite(ms) and 0 <= ms <= MAX_MS):
            raise BadInput(f"{option} must be a number of milliseconds from 0 to {MAX_MS:g}, got {ms}")
        return cls(((0.0, ms / 1e3), (1.0, ms / 1e3)), f"constant {ms:g} ms")

    @classmethod
    def from_profile(cls, path: str | Path) -> LatencyModel:
        """The measured latency distribution of an `edgeperf profile` report (its percentiles, min and max)."""

        doc = figures.document(load_report(path, kind="profile").to_dict())
        batch = doc.config.batch if doc.config is not None else None
        if (batch or 1) != 1:
            raise BadInput(
                f"{path} profiled batches of {batch}; a control loop infers one observation per step: profile with "
                "--batch 1"
            )
        lat = doc.results.latency_us or Stats()
        keys = ["min", *(pct_key(p) for p in PERCENTILES), "max"]
        values = [lat.at(k) for k in keys]
        missing = [k for k, v in zip(keys, values, strict=True) if v is None]
        if missing:
            raise BadInput(
                f"{path} has no complete latency distribution (results.latency_us lacks {', '.join(missing)}); "
                "give the JSON report of an `edgeperf profile` run"
            )
        for k, v in zip(keys, values, strict=True):
            if (
                isinstance(v, bool)
                or not isinstance(v, numbers.Real)
                or not (math.isfinite(v) and 0 <= v <= MAX_MS * 1e3)
            ):
                raise BadInput(f"{path}: latency_us.{k} is {v!r}; a latency is a number of microseconds >= 0")
        if any(b < a for a, b in itertools.pairwise(values)):
            listed = ", ".join(f"{k} {v:g}" for k, v in zip(keys, values, strict=True))
            raise BadInput(
                f"{path}: its latency percentiles decrease ({listed}); a measured distribution's never do: "
                "is the report edited or corrupt?"
            )
        levels = [0.0, *(p / 100 for p in PERCENTILES), 1.0]
        q = tuple((qq, float(v) / 1e6) for qq, v in zip(levels, values, strict=True))
        return cls(
            q,
            f"measured inference latency from {Path(path).name} (p50 {lat.p50:.0f} us, "
            f"p99 {lat.p99:.0f} us, max {lat.max:.0f} us)",
        )

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        qs, vs = zip(*self.quantiles, strict=True)
        return np.interp(rng.random(n), qs, vs)

    def to_dict(self) -> dict:
        return {"source": self.source, "quantiles_ms": [[q, v * 1e3] for q, v in self.quantiles]}


def parse_sweep(text: str) -> list[float]:
    """`--latency-sweep 0,10,20`: the latencies in ms, each checked like --latency."""
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise BadInput(f"--latency-sweep {text!r}: give milliseconds separated by commas, e.g. 0,10,20") from None
    if not values:
        raise BadInput(f"--latency-sweep {text!r}: give milliseconds separated by commas, e.g. 0,10,20")
    for v in values:
        LatencyModel.constant(v, "--latency-sweep")
    return values


def parse(latency_ms: float | None, latency_from: str | None) -> LatencyModel | None:
    if latency_ms is not None and latency_from:
        raise BadInput("give --latency MS or --latency-from PROFILE.json, not both")
    if latency_from:
        return LatencyModel.from_profile(latency_from)
    return LatencyModel.constant(latency_ms) if latency_ms is not None else None


class DelayedActions:
    """Turns the policy's actions into what the robot receives each control step under a latency model."""

    def __init__(
        self, env, model: LatencyModel | None, period_s: float, rng: np.random.Generator, hold_action: np.ndarray
    ):
        self.base = env.unwrapped
        self.substeps = hasattr(self.base, "action_delay_s")
        self.model, self.period = model, period_s
        self.rng = rng
        self.pending: list[tuple[float, np.ndarray]] = []
        self.current = hold_action
        self.last_ready = 0.0
        self.k = 0

    def __call__(self, action: np.ndarray) -> np.ndarray:
        """The action to step the env with, given the action just computed for step k."""
        t = self.k * self.period
        self.k += 1
        if self.model is None:
            return action
        ready = max(t + float(self.model.sample(self.rng, 1)[0]), self.last_ready)
        self.last_ready = ready
        self.pending.append((ready, action))
        cutoff = t + (self.period if self.substeps else self.period / 2)
        arrived = [p for p in self.pending if p[0] < cutoff]
        self.pending = [p for p in self.pending if p[0] >= cutoff]
        delay = 0.0
        if arrived:
            ready_at, self.current = arrived[-1]  # earlier arrivals in the same step are overtaken at once
            delay = max(0.0, ready_at - t) if self.substeps else 0.0
        if self.substeps:
            self.base.action_delay_s = delay
        return self.current

    def miss(self, fallback: np.ndarray | None = None) -> np.ndarray:
        """A step whose action never came (hardware in the loop: the deadline passed): `fallback` applies from
        the step's start, or the last action holds (None)."""
        self.k += 1
        if fallback is not None:
            self.current = fallback
        if self.substeps:
            self.base.action_delay_s = 0.0
        return self.current
