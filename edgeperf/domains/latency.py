"""Latency in the loop: the deployed policy's action reaches the robot some time after the observation it
was computed from, as on the target computer.

Action k, computed from the observation at t_k = k * period, becomes ready at
ready_k = max(t_k + L_k, ready_{k-1}) (one inference at a time, in order). Within each control step the
robot holds the last ready action until the next one arrives; an env with an `action_delay_s` attribute
switches at physics-substep granularity, any other env at the nearest control step.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.profilers.stats import PERCENTILES, pct_key


@dataclass(frozen=True)
class LatencyModel:
    """A latency distribution in seconds: a constant, or quantiles (q in [0, 1] -> seconds) sampled by
    inverse-CDF interpolation."""

    quantiles: tuple[tuple[float, float], ...]
    source: str

    @classmethod
    def constant(cls, ms: float) -> LatencyModel:
        if not (np.isfinite(ms) and ms >= 0):
            raise BadInput(f"--latency must be a number of milliseconds >= 0, got {ms}")
        return cls(((0.0, ms / 1e3), (1.0, ms / 1e3)), f"constant {ms:g} ms")

    @classmethod
    def from_profile(cls, path: str | Path) -> LatencyModel:
        """The measured latency distribution of an `edgeperf profile` report (its percentiles, min and max)."""
        from edgeperf.results.report import load_report

        report = load_report(path, kind="profile")
        if (report.config.get("batch") or 1) != 1:
            raise BadInput(
                f"{path} profiled batches of {report.config['batch']}; a control loop infers one "
                "observation per step: profile with --batch 1"
            )
        lat = report.results.get("latency_us") or {}
        points = [(0.0, lat.get("min"))] + [(p / 100, lat.get(pct_key(p))) for p in PERCENTILES]
        points.append((1.0, lat.get("max")))
        if any(v is None for _, v in points):
            raise BadInput(f"{path} has no complete latency distribution (latency_us percentiles)")
        q = tuple((qq, float(v) / 1e6) for qq, v in points)
        return cls(
            q,
            f"measured inference latency from {Path(path).name} (p50 {lat['p50']:.0f} us, "
            f"p99 {lat['p99']:.0f} us, max {lat['max']:.0f} us)",
        )

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        qs, vs = zip(*self.quantiles, strict=True)
        return np.interp(rng.random(n), qs, vs)

    @property
    def is_zero(self) -> bool:
        return all(v == 0 for _, v in self.quantiles)

    def to_dict(self) -> dict:
        return {"source": self.source, "quantiles_ms": [[q, v * 1e3] for q, v in self.quantiles]}


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
