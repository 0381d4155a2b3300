"""Reliability across training runs: the metrics of Chan et al. 2020, "Measuring the Reliability of
Reinforcement Learning Algorithms", which A2Perf reports, computed as their rl-reliability-metrics library does.

Within a run (each curve of (step, value) points):
- detrending: first differences divided by the step gap, dy/dt at each point but the first (so runs logged at
  different intervals compare);
- dispersion across time: the IQR of those differences in each trailing window (t - W, t] of W = 5 x the run's
  median step gap g (5 differences on an evenly logged curve), at every step t >= t1 + W - g, t1 the first
  difference's step (full windows only); reported as the median over the windows;
- short-term risk: CVaR of the differences, lower tail, alpha 0.05 (the mean of the differences at or below
  their 5th percentile: the worst drops from one point to the next);
- long-term risk: CVaR of the drawdown (running maximum minus the value), upper tail at 0.95 (the mean of the
  drawdowns at or above their 95th percentile: the worst lasting losses from a peak).
Across runs:
- dispersion across runs: each curve low-pass filtered (Butterworth, order 8, cutoff 0.01 of the Nyquist
  frequency of the point index, forward and backward: zero phase), then the IQR across runs at each step every
  run has; reported as the median over those steps and at the last one;
- risk across runs: CVaR, lower tail, alpha 0.05, of the runs' final values (unfiltered): with fewer than 20
  runs that is the worst run's.
Percentiles interpolate linearly (numpy's default, as scipy.stats.scoreatpercentile does in the library).

One departure from the library: it builds the filter as (b, a) polynomials, which at order 8 and cutoff 0.01 lose
0.7% of the DC gain to rounding (a constant curve of 3 comes back 0.07 off); here it is second-order sections
(scipy.signal.butter(output="sos") and sosfiltfilt), the same filter computed stably (exact on a constant).
No normalisation of the values (the library's optional curve_range baseline is not applied): figures are in the
curve's own units (differences per unit of step).
"""

from __future__ import annotations

import numpy as np

from edgeperf.analysis.curves import Curve
from edgeperf.errors import BadInput, require

WINDOW_GAPS = 5  # the dispersion window, in median step gaps
ALPHA = 0.05  # CVaR tail for short-term risk and risk across runs; long-term risk uses the upper 1 - ALPHA
LOWPASS_CUTOFF = 0.01  # of the Nyquist frequency of the point index
LOWPASS_ORDER = 8


def parameters() -> dict:
    """Every parameter, for the report's config."""
    return {
        "reference": "Chan et al. 2020, Measuring the Reliability of Reinforcement Learning Algorithms (ICLR)",
        "detrend": "first differences divided by the step gap (dy/dt)",
        "dispersion_across_time": {
            "statistic": "IQR of the detrended values in each window, median over windows",
            "window": f"trailing (t - W, t], W = {WINDOW_GAPS} x the run's median step gap",
            "window_gaps": WINDOW_GAPS,
        },
        "short_term_risk": {"statistic": "CVaR of the detrended values", "tail": "lower", "alpha": ALPHA},
        "long_term_risk": {
            "statistic": "CVaR of the drawdown (running max - value)",
            "tail": "upper",
            "quantile": 1 - ALPHA,
        },
        "dispersion_across_runs": {
            "statistic": "IQR across runs at each shared step of the low-pass filtered curves, median over steps",
            "lowpass": {
                "filter": "Butterworth, second-order sections",
                "order": LOWPASS_ORDER,
                "cutoff": LOWPASS_CUTOFF,
                "cutoff_unit": "Nyquist frequency of the point index",
                "direction": "forward and backward (scipy.signal.sosfiltfilt, zero phase)",
                "padding": "odd, min(points - 1, scipy's default padlen)",
            },
        },
        "risk_across_runs": {"statistic": "CVaR of the final values (unfiltered)", "tail": "lower", "alpha": ALPHA},
        "align": "with --align N, the across-run figures use every run resampled (linear interpolation) at the "
        "multiples of N inside its span; the within-run figures always use the points as logged",
        "percentiles": "linear interpolation",
    }


def cvar(x, alpha: float = ALPHA, tail: str = "lower") -> float:
    """Conditional value at risk as rl-reliability-metrics computes it: the mean of the values at or beyond the
    alpha (lower tail) or 1 - alpha (upper tail) percentile, itself interpolated linearly."""
    x = np.asarray(x, dtype=np.float64)
    if tail == "lower":
        return float(x[x <= np.percentile(x, 100 * alpha)].mean())
    return float(x[x >= np.percentile(x, 100 * (1 - alpha))].mean())


def iqr(x, axis=None):
    q75, q25 = np.percentile(x, [75, 25], axis=axis)
    return q75 - q25


def detrend(c: Curve) -> tuple[np.ndarray, np.ndarray]:
    """(steps[1:], dy/dt)."""
    return c.steps[1:], np.diff(c.values) / np.diff(c.steps)


def window_iqrs(c: Curve, window_gaps: float = WINDOW_GAPS) -> tuple[float, np.ndarray]:
    """(W, the IQR of the detrended values in each full trailing window (t - W, t])."""
    t, d = detrend(c)
    if len(t) == 0:
        return float("nan"), np.empty(0)
    gap = float(np.median(np.diff(c.steps)))
    w = window_gaps * gap
    # Full windows only: on an evenly logged curve the first holds the first window_gaps differences.
    ends = t[t >= t[0] + w - gap - _slack(w)]
    out = np.array([iqr(d[(t > e - w) & (t <= e)]) for e in ends])
    return w, out


def _slack(w: float) -> float:
    # t[0] + W lands on a logged step only up to rounding (float steps): allow it.
    return 1e-9 * max(1.0, abs(w))


def lowpass(values: np.ndarray) -> np.ndarray:
    signal = require("scipy.signal", "sim", "for the low-pass filter of dispersion across runs", package="scipy")
    sos = signal.butter(LOWPASS_ORDER, LOWPASS_CUTOFF, output="sos")
    default = 3 * (2 * len(sos) + 1 - min((sos[:, 2] == 0).sum(), (sos[:, 5] == 0).sum()))
    return signal.sosfiltfilt(sos, values, padlen=min(len(values) - 1, default))


def run_metrics(c: Curve) -> tuple[dict, dict]:
    """(figures, unmeasured) of one run."""
    out = {
        "name": c.name,
        "source": c.source,
        "points": len(c.steps),
        "first_step": float(c.steps[0]),
        "last_step": float(c.steps[-1]),
        "final_value": float(c.values[-1]),
    }
    missing = {}
    if len(c.steps) < 2:
        for k in ("dispersion_across_time", "short_term_risk"):
            missing[k] = "one point: no difference to take"
        out["long_term_risk"] = 0.0  # a single point has a drawdown, and it is 0
        return out, missing
    gap = float(np.median(np.diff(c.steps)))
    w, iqrs = window_iqrs(c)
    out["median_step_gap"] = gap
    out["window"] = w
    if len(iqrs):
        out["dispersion_across_time"] = float(np.median(iqrs))
        out["windows"] = len(iqrs)
    else:
        missing["dispersion_across_time"] = (
            f"the run's {len(c.steps) - 1} differences span {c.steps[-1] - c.steps[1]:g} steps, less than one "
            f"window of {w:g} ({WINDOW_GAPS} x its median step gap {gap:g})"
        )
    out["short_term_risk"] = cvar(detrend(c)[1], ALPHA, "lower")
    out["long_term_risk"] = cvar(np.maximum.accumulate(c.values) - c.values, ALPHA, "upper")
    return out, missing


def reliability(curves: list[Curve], align: float | None = None) -> tuple[dict, dict, list[str]]:
    """(results, unmeasured, warnings) over the runs' curves. align: for the across-run figures, resample every
    run onto the grid 0, align, 2 align, ... (linear interpolation within each run's own span) first: for runs
    logged at steps that do not coincide (monitor.csv's episode ends)."""
    if align is not None and not (np.isfinite(align) and align > 0):
        raise BadInput(f"--align must be a positive step interval, got {align}")
    if not curves:
        raise BadInput("give at least one run")
    names = [c.name for c in curves]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise BadInput(f"run {dup} is given twice; each run counts once")
    runs, unmeasured, warnings = [], {}, []
    for i, c in enumerate(curves):
        figures, missing = run_metrics(c)
        runs.append(figures)
        for k, why in missing.items():
            unmeasured[f"runs.{i}.{k}"] = f"{c.name}: {why}"
    results = {"runs": runs, "n_runs": len(curves)}
    within = {}
    for k in ("dispersion_across_time", "short_term_risk", "long_term_risk"):
        vals = [r[k] for r in runs if k in r]
        if vals:
            within[k] = {"median": float(np.median(vals)), "runs": len(vals)}
    results["within_runs"] = within

    across, missing = across_runs([resample(c, align) for c in curves] if align else curves, warnings)
    if align:
        across["aligned_to"] = align
    results["across_runs"] = across
    unmeasured.update({f"across_runs.{k}": why for k, why in missing.items()})
    return results, unmeasured, warnings


def resample(c: Curve, every: float) -> Curve:
    """The run at the multiples of `every` inside its span, interpolated linearly between its points."""
    grid = np.arange(np.ceil(c.steps[0] / every), np.floor(c.steps[-1] / every) + 1) * every
    return Curve(c.name, grid, np.interp(grid, c.steps, c.values), f"{c.source}, resampled every {every:g}")


def across_runs(curves: list[Curve], warnings: list[str]) -> tuple[dict, dict]:
    if len(curves) < 2:
        why = "one run: dispersion and risk across runs need two or more"
        return {}, {"dispersion_across_runs": why, "risk_across_runs": why}
    shared = curves[0].steps
    for c in curves[1:]:
        shared = np.intersect1d(shared, c.steps)
    lengths = {(len(c.steps), c.steps[0], c.steps[-1]) for c in curves}
    if len(shared) == 0:
        why = (
            "the runs share no step ("
            + "; ".join(f"{c.name}: {c.steps[0]:g}..{c.steps[-1]:g}, {len(c.steps)} points" for c in curves[:4])
            + "); log them at the same steps (evaluate every N timesteps) or give --align N to compare across runs"
        )
        return {}, {"dispersion_across_runs": why, "risk_across_runs": why}
    out = {"shared_steps": len(shared), "first_shared_step": float(shared[0]), "last_shared_step": float(shared[-1])}
    at = np.array([lowpass(c.values)[np.searchsorted(c.steps, shared)] for c in curves])
    spread = iqr(at, axis=0)
    out["dispersion_across_runs"] = float(np.median(spread))
    out["dispersion_across_runs_at_last_shared_step"] = float(spread[-1])
    ends = {float(c.steps[-1]) for c in curves}
    if len(ends) == 1:
        finals = np.array([c.values[-1] for c in curves])
        out["final_step"] = float(shared[-1])
    else:
        # Final values at different steps are not comparable: take each run's value at the last shared step.
        finals = np.array([c.values[np.searchsorted(c.steps, shared[-1])] for c in curves])
        out["final_step"] = float(shared[-1])
        warnings.append(
            f"the runs end at different steps ({', '.join(f'{e:g}' for e in sorted(ends))}): risk across runs "
            f"compares each run's value at the last step they all share ({shared[-1]:g})"
        )
    if len(lengths) > 1 and len(shared) < max(len(c.steps) for c in curves):
        warnings.append(
            f"the runs differ in length or logged steps: dispersion across runs uses the {len(shared)} steps "
            "they all share; within-run figures use each run's own points"
        )
    out["final_values"] = [float(v) for v in finals]
    out["risk_across_runs"] = cvar(finals, ALPHA, "lower")
    out["median_final_value"] = float(np.median(finals))
    return out, {}
