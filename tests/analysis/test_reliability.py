"""Chan et al. 2020 metrics on synthetic curves whose answers were worked out by hand (in the comments)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from edgeperf.analysis import reliability as rel
from edgeperf.analysis.curves import curve

TOL = 1e-9


def test_dispersion_across_time_is_detrended_and_scaled_by_the_step_gap():
    # Steps 0, 10, ..., 200; y = 0.2 t + 4 (k odd): first differences alternate +6, -2 over a gap of 10, so
    # dy/dt alternates 0.6, -0.2 (the trend 0.2 is gone). W = 5 x 10 = 50 holds 5 differences: sorted
    # [-.2, -.2, .6, .6, .6] or [-.2, -.2, -.2, .6, .6]; q25 = -0.2, q75 = 0.6 -> IQR 0.8 in every window.
    # 20 differences, 5 per window: 16 full windows.
    k = np.arange(21)
    c = curve("a", 10 * k, 0.2 * 10 * k + 4 * (k % 2))
    figures, missing = rel.run_metrics(c)
    assert missing == {}
    assert figures["window"] == 50
    assert figures["windows"] == 16
    assert abs(figures["dispersion_across_time"] - 0.8) < TOL
    # Short-term risk: 20 values, ten of -0.2; the 5th percentile (position 0.95) is -0.2: CVaR = -0.2.
    assert abs(figures["short_term_risk"] - (-0.2)) < TOL


def test_random_walk_against_an_independent_computation():
    # A seeded random walk on uneven steps; the expected figures use Python's statistics.quantiles (inclusive:
    # the same linear interpolation) and plain loops, not the module's numpy code.
    rng = np.random.default_rng(3)
    steps = np.cumsum(rng.integers(1, 4, 120)).astype(float)
    values = np.cumsum(rng.normal(0.05, 1.0, 120))
    c = curve("walk", steps, values)
    figures, _ = rel.run_metrics(c)

    d = [(values[i] - values[i - 1]) / (steps[i] - steps[i - 1]) for i in range(1, 120)]
    t = list(steps[1:])
    gap = statistics.median([steps[i] - steps[i - 1] for i in range(1, 120)])
    w = 5 * gap
    iqrs = []
    for e in t:
        if e < t[0] + w - gap:
            continue
        win = [d[j] for j in range(len(t)) if e - w < t[j] <= e]
        q = statistics.quantiles(win, n=4, method="inclusive")
        iqrs.append(q[2] - q[0])
    assert figures["windows"] == len(iqrs)
    assert abs(figures["dispersion_across_time"] - statistics.median(iqrs)) < TOL

    def pct(xs, p):  # linear interpolation between order statistics
        xs = sorted(xs)
        pos = p / 100 * (len(xs) - 1)
        lo = int(pos)
        return xs[lo] + (xs[min(lo + 1, len(xs) - 1)] - xs[lo]) * (pos - lo)

    var = pct(d, 5)
    assert abs(figures["short_term_risk"] - statistics.fmean([x for x in d if x <= var])) < TOL
    peak, dd = -np.inf, []
    for v in values:
        peak = max(peak, v)
        dd.append(peak - v)
    var = pct(dd, 95)
    assert abs(figures["long_term_risk"] - statistics.fmean([x for x in dd if x >= var])) < TOL


def test_known_drawdown():
    # 0..10 up, down to 4, up to 12 (25 points, steps 0..24). Drawdowns: 14 zeros, 1..6 on the way down, 5..1 on
    # the way back: sorted, positions 22 and 23 are 5, so the 95th percentile (position 22.8) is 5 and the
    # drawdowns at or above it are 5, 5, 6: long-term risk 16/3 (the maximum drawdown is 6).
    values = [*range(11), *range(9, 3, -1), *range(5, 13)]
    c = curve("dd", np.arange(len(values)), values)
    figures, _ = rel.run_metrics(c)
    assert len(values) == 25
    assert abs(figures["long_term_risk"] - 16 / 3) < TOL
    # Differences: ten +1, six -1, eight +1; the 5th percentile (position 1.15) is -1: CVaR -1.
    assert abs(figures["short_term_risk"] - (-1.0)) < TOL


def test_runs_with_a_known_final_spread():
    # 21 runs: y_i(t) = i + s(t), a shape s shared by all. The filter is linear and exact on a constant, so the
    # filtered runs still differ by i at every step: IQR across the 21 levels 0..20 = 15 - 5 = 10 at every step.
    # Final values i + s(T): the 5th percentile (position 1) is 1 + s(T), the runs at or below it are 0 and 1:
    # risk across runs = 0.5 + s(T).
    steps = np.arange(0, 3000, 20)
    shape = np.sqrt(steps) + 3 * np.sin(steps / 300)
    curves = [curve(f"seed{i}", steps, i + shape) for i in range(21)]
    results, unmeasured, warnings = rel.reliability(curves)
    across = results["across_runs"]
    assert unmeasured == {} and warnings == []
    assert across["shared_steps"] == len(steps)
    assert abs(across["dispersion_across_runs"] - 10) < TOL
    assert abs(across["dispersion_across_runs_at_last_shared_step"] - 10) < TOL
    assert abs(across["risk_across_runs"] - (0.5 + shape[-1])) < TOL
    # Five runs: the 5th percentile (position 0.2) lies between the two lowest: only the lowest is at or below.
    results, _, _ = rel.reliability(curves[2:7])
    assert abs(results["across_runs"]["risk_across_runs"] - (2 + shape[-1])) < TOL
    assert abs(results["across_runs"]["dispersion_across_runs"] - 2) < TOL  # levels 2..6: 5 - 3


def test_lowpass_is_exact_on_a_constant_and_removes_high_frequencies():
    # The (b, a) form of this filter returns a constant 3 as 3 - 0.07: the second-order sections must not.
    assert np.max(np.abs(rel.lowpass(np.full(200, 3.0)) - 3.0)) < TOL
    k = np.arange(2000)
    smooth = rel.lowpass(5.0 + (-1.0) ** k)  # alternation at the Nyquist frequency, 100x above the cutoff
    # No alternation left (unfiltered, consecutive points differ by 2); the level stays 5 away from the ends
    # (the short padding leaves a slow transient of a few hundred points at cutoff 0.01).
    middle = smooth[500:-500]
    assert np.max(np.abs(np.diff(middle))) < 1e-3
    assert np.max(np.abs(middle - 5.0)) < 0.02


def test_cvar_tails():
    x = np.arange(1.0, 101.0)  # 1..100: 5th percentile 5.95, 95th 95.05
    assert rel.cvar(x, 0.05, "lower") == pytest.approx(3.0, abs=TOL)  # mean of 1..5
    assert rel.cvar(x, 0.05, "upper") == pytest.approx(98.0, abs=TOL)  # mean of 96..100


def test_different_lengths_and_no_shared_steps_say_what_is_computed():
    long = curve("long", np.arange(0, 101), np.arange(0, 101) * 0.1)
    short = curve("short", np.arange(0, 51), np.arange(0, 51) * 0.2)
    results, unmeasured, warnings = rel.reliability([long, short])
    across = results["across_runs"]
    assert across["shared_steps"] == 51 and across["last_shared_step"] == 50
    # Values at step 50: 5.0 and 10.0 (not long's final 10.0 at step 100).
    assert across["final_values"] == pytest.approx([5.0, 10.0])
    assert any("end at different steps" in w for w in warnings)
    assert unmeasured == {}

    odd = curve("odd", [1, 3, 5, 7, 9, 11, 13], np.arange(7.0))
    even = curve("even", [0, 2, 4, 6, 8, 10, 12], np.arange(7.0))
    results, unmeasured, _ = rel.reliability([odd, even])
    assert results["across_runs"] == {}
    assert "share no step" in unmeasured["across_runs.dispersion_across_runs"]
    assert "across_runs.risk_across_runs" in unmeasured
    assert all("dispersion_across_time" in r for r in results["runs"])  # within-run figures still computed


def test_too_short_for_a_window_is_unmeasured_not_zero():
    results, unmeasured, _ = rel.reliability([curve("tiny", [0, 1, 2], [0.0, 1.0, 0.5])])
    assert "dispersion_across_time" not in results["runs"][0]
    assert "less than one window" in unmeasured["runs.0.dispersion_across_time"]
    assert "short_term_risk" in results["runs"][0]


def test_align_resamples_runs_whose_steps_never_coincide():
    # Two runs logged at odd and at even steps (never the same one). Resampled every 10, a line stays exact
    # on the grid (linear interpolation), inside each run's span only.
    a = curve("a", np.arange(1, 200, 2), np.arange(1, 200, 2) * 1.0)
    assert rel.resample(a, 10).steps.tolist() == list(range(10, 191, 10))
    assert rel.resample(a, 10).values == pytest.approx(np.arange(10, 191, 10), abs=TOL)
    # Constant runs at 5 and 7: the filter is exact on them, so the spread is IQR{5, 7} = 0.5 x 2 = 1 at every
    # shared step of the grid.
    a = curve("a", np.arange(1, 200, 2), np.full(100, 5.0))
    b = curve("b", np.arange(0, 201, 2), np.full(101, 7.0))
    results, unmeasured, _ = rel.reliability([a, b])
    assert "share no step" in unmeasured["across_runs.dispersion_across_runs"]
    results, unmeasured, warnings = rel.reliability([a, b], align=10)
    across = results["across_runs"]
    assert unmeasured == {} and across["aligned_to"] == 10
    assert across["first_shared_step"] == 10 and across["last_shared_step"] == 190 and across["shared_steps"] == 19
    assert abs(across["dispersion_across_runs"] - 1.0) < TOL
    # a's grid ends at 190 (its span at 199), b's at 200: the finals compared are at 190, and the worse of the
    # two is the risk across runs.
    assert across["final_values"] == pytest.approx([5.0, 7.0]) and across["risk_across_runs"] == 5.0
    assert any("end at different steps" in w for w in warnings)
