"""Energy over a time window from sampled power or energy counters, and the per-inference figures.

Power rails (watts) are integrated with the trapezoid rule over the piecewise-linear signal through the
samples, cut exactly at the window's ends (interpolated there). Energy counters (joules) are unwrapped (a
counter that falls back by about its range wrapped at `wrap_J`, e.g. RAPL's max_energy_range_uj) and
interpolated at the window's ends. A window the samples do not bracket has no figure (never a 0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Series:
    """One rail's samples on the perf_counter_ns clock: watts (`kind="power"`) or a counter in joules."""

    kind: str  # "power" or "energy"
    t_ns: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    wrap_J: float | None = None

    def add(self, t_ns: int, value: float) -> None:
        self.t_ns.append(t_ns)
        self.values.append(value)

    def count_between(self, a: int, b: int) -> int:
        t = np.asarray(self.t_ns)
        return int(((t >= a) & (t <= b)).sum())


def unwrap(values, wrap_J: float | None) -> tuple[np.ndarray, int, int]:
    """A monotonic counter from raw readings: (cumulative joules, wraps at wrap_J, other resets).

    A drop is a wrap when the counter has a known range; otherwise (or when the drop cannot be a wrap) it
    is taken as a reset to 0, and the energy before it is kept.
    """
    v = np.asarray(values, dtype=float)
    out = v.copy()
    offset, wraps, resets = 0.0, 0, 0
    for i in range(1, len(v)):
        if v[i] < v[i - 1]:
            if wrap_J and v[i - 1] <= wrap_J:
                offset += wrap_J
                wraps += 1
            else:
                offset += v[i - 1]
                resets += 1
        out[i] = v[i] + offset
    return out, wraps, resets


def _brackets(t: np.ndarray, a: int, b: int) -> bool:
    return len(t) >= 2 and t[0] <= a and t[-1] >= b > a


def energy_between(series: Series, a: int, b: int) -> float | None:
    """Joules between a and b (perf_counter_ns), or None when the samples do not cover [a, b]."""
    t = np.asarray(series.t_ns, dtype=np.int64)
    if not _brackets(t, a, b):
        return None
    if series.kind == "energy":
        e, _, _ = unwrap(series.values, series.wrap_J)
        ea, eb = np.interp([a, b], t, e)
        return float(eb - ea)
    p = np.asarray(series.values, dtype=float)
    inside = (t > a) & (t < b)
    ts = np.concatenate(([a], t[inside], [b])).astype(float)
    ps = np.concatenate((np.interp([a], t, p), p[inside], np.interp([b], t, p)))
    return float(np.sum((ps[1:] + ps[:-1]) * np.diff(ts)) / 2 / 1e9)


TRACE_POINTS = 300  # per rail in a report's power trace: enough to see a chart, small beside the report


def power_trace(series: Series, t0_ns: int, points: int = TRACE_POINTS) -> dict | None:
    """A rail's power over time for a chart: at most `points` {t_s (from t0), W} pairs, each the exact mean power
    over a span of consecutive samples (the trapezoid integral of a power rail, the difference of an unwrapped
    energy counter; 5 significant digits), so downsampling loses detail but not energy. None below two samples."""
    t = np.asarray(series.t_ns, dtype=np.int64)
    if len(t) < 2:
        return None
    if series.kind == "energy":
        cum, _, _ = unwrap(series.values, series.wrap_J)
    else:
        p = np.asarray(series.values, dtype=float)
        cum = np.concatenate(([0.0], np.cumsum((p[1:] + p[:-1]) / 2 * np.diff(t) / 1e9)))
    edges = np.unique(np.linspace(0, len(t) - 1, min(points, len(t) - 1) + 1).round().astype(int))
    dt = np.diff(t[edges]) / 1e9
    keep = dt > 0
    watts = np.diff(cum[edges])[keep] / dt[keep]
    mid = ((t[edges][:-1] + t[edges][1:]) / 2 - t0_ns)[keep] / 1e9
    return {"t_s": [round(float(x), 4) for x in mid], "W": [float(f"{w:.5g}") for w in watts]}


def mean_power(series: Series, a: int, b: int) -> float | None:
    e = energy_between(series, a, b)
    return None if e is None else e / ((b - a) / 1e9)


def rail_figures(
    series: Series, window: tuple[int, int], idle: tuple[int, int] | None, n: int, steps: int | None = None
) -> dict:
    """idle W, active W, energy in the window, and per inference (and per control step) above idle."""
    a, b = window
    dur = (b - a) / 1e9
    out: dict = {"kind": "power" if series.kind == "power" else "energy counter"}
    energy = energy_between(series, a, b)
    idle_W = mean_power(series, *idle) if idle else None
    if series.kind == "energy":
        _, wraps, resets = unwrap(series.values, series.wrap_J)
        if wraps:
            out["counter_wraps"] = wraps
        if resets:
            out["counter_resets"] = resets
    out["samples_in_window"] = series.count_between(a, b)
    if idle:
        out["idle_samples"] = series.count_between(*idle)
    if idle_W is not None:
        out["idle_W"] = idle_W
    if energy is None:
        return out
    out["active_W"] = energy / dur
    out["energy_J"] = energy
    out["per_inference_mJ"] = 1e3 * energy / n
    if idle_W is not None:
        above = energy - idle_W * dur
        if abs(above) <= 1e-9 * abs(energy):  # floating-point residue of a constant signal, not a figure
            above = 0.0
        out["above_idle_W"] = above / dur
        out["energy_above_idle_J"] = above
        out["per_inference_above_idle_mJ"] = 1e3 * above / n
    if steps:
        step = {"mJ": 1e3 * energy / steps}
        if idle_W is not None:
            step["above_idle_mJ"] = 1e3 * out["energy_above_idle_J"] / steps
        out["per_control_step"] = step
    return out


def add_figures(parts: list[dict]) -> dict:
    """The sum of several rails' figures (a board total over rails that do not overlap)."""
    keys = (
        "idle_W",
        "active_W",
        "energy_J",
        "per_inference_mJ",
        "above_idle_W",
        "energy_above_idle_J",
        "per_inference_above_idle_mJ",
    )
    out: dict = {}
    for k in keys:
        if parts and all(k in p for p in parts):
            out[k] = float(sum(p[k] for p in parts))
    steps = [p.get("per_control_step") for p in parts]
    if parts and all(steps):
        out["per_control_step"] = {k: float(sum(s[k] for s in steps)) for k in steps[0] if all(k in s for s in steps)}
    return out
