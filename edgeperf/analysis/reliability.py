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

import os

import numpy as np

from edgeperf.analysis.curves import Curve
from edgeperf.errors import BadInput, require
from edgeperf.results.io import short_path

WINDOW_GAPS = 5  # the dispersion window, in median step gaps
ALPHA = 0.05  # CVaR tail for short-term risk and risk across runs; long-term risk uses the upper 1 - ALPHA
LOWPASS_CUTOFF = 0.01  # of the Nyquist frequency of the point index
LOWPASS_ORDER = 8
ALIGN_MAX_POINTS = 10_000_000  # --align: the most steps a run is resampled at (8 bytes each, a few arrays of them)


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
    """(W, the IQR of the detrended values in each full trailing window (t - W, t]).

    O(n log n) in the curve's points: the windows are index ranges found by binary search (the steps increase);
    windows of up to SORTED_WINDOW_MAX differences (every window of an evenly logged curve) are sorted in blocks of
    equal length, longer ones (a burst of closely logged points) are answered by a wavelet matrix. The figures are
    np.percentile's on each window, as the per-window loop this replaced computed them (identical with numpy 2.4;
    tests/analysis/test_reliability_fast.py compares the two)."""
    t, d = detrend(c)
    if len(t) == 0:
        return float("nan"), np.empty(0)
    gap = float(np.median(np.diff(c.steps)))
    w = window_gaps * gap
    # Full windows only: on an evenly logged curve the first holds the first window_gaps differences.
    ends = np.flatnonzero(t >= t[0] + w - gap - _slack(w))
    # The window ending at t[i] holds the differences j with t[i] - W < t[j] <= t[i]: lo <= j < i + 1.
    hi = ends + 1
    lo = np.searchsorted(t, t[ends] - w, side="right")
    return w, _range_iqrs(d, lo, hi)


SORTED_WINDOW_MAX = 64  # windows up to this many values are sorted; longer ones go to a wavelet matrix
_BLOCK = 1 << 22  # values gathered at once when sorting windows


def _range_iqrs(d: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """iqr(d[lo[k]:hi[k]]) for every k (each range non-empty)."""
    out = np.empty(len(lo))
    size = hi - lo
    short = size <= SORTED_WINDOW_MAX
    for m in np.unique(size[short]):
        which = np.flatnonzero(size == m)
        rows = max(1, _BLOCK // int(m))
        for s in range(0, len(which), rows):
            k = which[s : s + rows]
            q75, q25 = np.percentile(d[lo[k, None] + np.arange(m)], [75, 25], axis=1)
            out[k] = q75 - q25
    long = np.flatnonzero(~short)
    if len(long):
        # Only the span the long windows cover goes into the matrix.
        first, last = int(lo[long].min()), int(hi[long].max())
        wm = _WaveletMatrix(d[first:last])
        a, b, m = lo[long] - first, hi[long] - first, size[long]
        q75, q25 = (_quantile_in(wm, a, b, m, q) for q in (0.75, 0.25))
        out[long] = q75 - q25
    return out


def _quantile_in(wm: _WaveletMatrix, lo: np.ndarray, hi: np.ndarray, size: np.ndarray, q: float) -> np.ndarray:
    """The q-quantile of each range as np.percentile computes it (method linear, numpy's _quantile and _lerp)."""
    virtual = (size - 1) * q
    below = np.floor(virtual)
    # At or past the last value numpy takes the last one for both neighbours, its index as -1 (so gamma + 1).
    last = virtual >= size - 1
    gamma = np.where(last, virtual + 1, virtual - below)
    k = np.where(last, size - 1, below).astype(np.intp)
    a, b = wm.kth(lo, hi, k), wm.kth(lo, hi, np.where(last, k, k + 1))
    # numpy's _lerp, operation for operation: a + (b - a) t, or b - (b - a)(1 - t) where t >= 0.5.
    diff = b - a
    out = a + diff * gamma
    upper = gamma >= 0.5
    out[upper] = (b - diff * (1 - gamma))[upper]
    return out


class _WaveletMatrix:
    """The k-th smallest value of any index range of an array, O(log n) per query, answered for many ranges at once
    (numpy over the queries, one pass per bit). Built on the values' ranks (a permutation: ties broken by
    position), one level per bit from the highest: each level records, for every prefix, how many of its entries
    have a 0 at that bit, then reorders the entries stably, zeros first."""

    def __init__(self, x: np.ndarray):
        n = len(x)
        order = np.argsort(x, kind="stable")
        self.sorted = x[order]
        rank = np.empty(n, np.intp)
        rank[order] = np.arange(n)
        self.levels = []
        for bit in range(max(1, (n - 1).bit_length()) - 1, -1, -1):
            one = ((rank >> bit) & 1).astype(bool)
            zeros = np.zeros(n + 1, np.intp)
            np.cumsum(~one, out=zeros[1:])
            self.levels.append((bit, zeros, int(zeros[-1])))
            rank = np.concatenate((rank[~one], rank[one]))

    def kth(self, lo: np.ndarray, hi: np.ndarray, k: np.ndarray) -> np.ndarray:
        """The k-th smallest (0-based) of x[lo:hi], element-wise."""
        lo, hi, k = (np.asarray(v, np.intp).copy() for v in (lo, hi, k))
        rank = np.zeros(len(lo), np.intp)
        for bit, zeros, n_zeros in self.levels:
            zlo, zhi = zeros[lo], zeros[hi]
            count = zhi - zlo  # zeros at this bit in the range: the smaller half
            right = k >= count
            rank[right] |= 1 << bit
            k[right] -= count[right]
            lo = np.where(right, n_zeros + lo - zlo, zlo)
            hi = np.where(right, n_zeros + hi - zhi, zhi)
        return self.sorted[rank]


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
    _refuse_one_file_twice(curves)
    if align is not None:
        for c in curves:  # before any work: a grid too fine for memory, or one that misses a run
            _grid(c, align)
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


def _refuse_one_file_twice(curves: list[Curve]) -> None:
    """Two RUNs that are one file (a.csv and ./a.csv, a link, a log directory and its events file) would count
    one run twice: BadInput naming both."""
    seen: dict = {}
    for c in curves:
        for f in c.files:
            try:
                st = os.stat(f)
                key = (st.st_dev, st.st_ino)  # os.path.samefile's test: hard links too
            except OSError:
                key = f  # the resolved path
            other = seen.setdefault(key, c)
            if other is not c:
                raise BadInput(
                    f"runs {short_path(other.name)} and {short_path(c.name)} are one file ({short_path(f)}): "
                    "each run counts once; give it once"
                )


def _grid(c: Curve, every: float) -> tuple[float, float]:
    """(first, last) multiple of `every` inside the run's span, in units of `every`; BadInput when there is none
    or more than ALIGN_MAX_POINTS of them (the valid --align of a run: from about span / ALIGN_MAX_POINTS to its
    span)."""
    if not (np.isfinite(every) and every > 0):
        raise BadInput(f"--align must be a positive step interval, got {every}")
    with np.errstate(over="ignore"):  # a tiny interval: steps / every overflows to inf, refused below
        first, last = float(np.ceil(c.steps[0] / every)), float(np.floor(c.steps[-1] / every))
    count = last - first + 1  # nan or inf where steps / every overflowed
    lo, hi = float(c.steps[0]), float(c.steps[-1])
    if count < 1:
        raise BadInput(
            f"--align {every:g} leaves run {short_path(c.name)} no step to resample at: no multiple of {every:g} lies "
            f"within its steps {lo:g} to {hi:g}" + (f"; give at most {hi - lo:g} (its span)" if hi > lo else "")
        )
    if not count <= ALIGN_MAX_POINTS:
        least = (hi - lo) / (ALIGN_MAX_POINTS - 1)
        unit = 10.0 ** (np.floor(np.log10(least)) - 2)
        shown = float(np.ceil(least / unit) * unit)  # 3 significant digits, rounded up
        if shown < least:
            shown += unit
        many = f"{count:,.0f}" if count < 1e12 else f"{count:.3g}" if np.isfinite(count) else "too many"
        raise BadInput(
            f"--align {every:g} would resample run {short_path(c.name)} (steps {lo:g} to {hi:g}) at {many} steps; "
            f"give an interval of at least {shown:g} (at most {ALIGN_MAX_POINTS:,} steps a run)"
        )
    return first, last


def resample(c: Curve, every: float) -> Curve:
    """The run at the multiples of `every` inside its span, interpolated linearly between its points."""
    first, last = _grid(c, every)
    grid = np.arange(first, last + 1) * every
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
