"""Dispersion across time in O(n log n): the figures are the ones the per-window loop computed (kept here as the
reference, as it was), on random curves of every shape: evenly logged, uneven, tied values, bursts of closely
logged points whose windows are long (the wavelet matrix's path) - and on each path forced. No timing here: the
bar (2 runs of 10^6 points under 10 s) is scripts/bench_reliability.py's."""

from __future__ import annotations

import numpy as np
import pytest

from edgeperf.analysis import reliability as rel
from edgeperf.analysis.curves import curve

TOL = 1e-12


def old_window_iqrs(c, window_gaps=rel.WINDOW_GAPS):
    """window_iqrs before it was made n log n: a mask over the whole curve and np.percentile per window."""
    t, d = rel.detrend(c)
    if len(t) == 0:
        return float("nan"), np.empty(0)
    gap = float(np.median(np.diff(c.steps)))
    w = window_gaps * gap
    ends = t[t >= t[0] + w - gap - rel._slack(w)]
    out = np.array([rel.iqr(d[(t > e - w) & (t <= e)]) for e in ends])
    return w, out


def random_curve(rng, kind: str, n: int, name: str = "run"):
    if kind == "even":
        gaps = np.full(n, float(rng.choice([1, 10, 2048])))
    elif kind == "uneven":  # monitor.csv: episode lengths
        gaps = rng.integers(1, 50, n).astype(float)
    elif kind == "bursts":  # stretches logged 1e-6..1e-3 apart among gaps of 1..10: windows of up to n/4 points
        gaps = 1 + 9 * rng.random(n)
        for start in rng.integers(0, n, 3):
            gaps[start : start + n // 8] = rng.random(len(gaps[start : start + n // 8])) * 1e-3 + 1e-6
    else:  # heavy-tailed gaps, fractional steps
        gaps = rng.exponential(1.0, n) ** 3 + 1e-9
    steps = np.cumsum(gaps) + rng.normal() * 100
    values = np.cumsum(rng.normal(size=n)) * 10 ** rng.uniform(-3, 3)
    if rng.random() < 0.3:
        values = np.round(values)  # ties within windows
    return curve(name, steps, values)


KINDS = ("even", "uneven", "bursts", "heavy")


def _assert_same(new, old):
    (w_new, a), (w_old, b) = new, old
    assert w_new == w_old or (np.isnan(w_new) and np.isnan(w_old))
    assert a.shape == b.shape
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("sorted_max", [rel.SORTED_WINDOW_MAX, 0, 3, 10**9])
def test_window_iqrs_match_the_per_window_loop(monkeypatch, kind, sorted_max):
    # sorted_max 0: every window through the wavelet matrix; 10**9: every window sorted; 3: both in one curve; at
    # the default, the bursts' long windows go to the matrix and the others are sorted.
    monkeypatch.setattr(rel, "SORTED_WINDOW_MAX", sorted_max)
    rng = np.random.default_rng(KINDS.index(kind))
    for n in (1, 2, 3, 6, 7, *rng.integers(8, 600, 25)):
        c = random_curve(rng, kind, int(n))
        _assert_same(rel.window_iqrs(c), old_window_iqrs(c))


def test_long_windows_take_the_wavelet_path_at_the_default():
    # 150 points logged 1e-4 apart among 200 logged 1 apart (median gap 1, W = 5): the windows that end in the
    # burst hold up to 155 differences, past SORTED_WINDOW_MAX; the others 5. Both paths run unforced.
    k = 150
    steps = np.concatenate([np.arange(100.0), 100 + np.arange(k) * 1e-4, 101 + np.arange(100.0)])
    c = curve("burst", steps, np.cumsum(np.random.default_rng(0).normal(size=len(steps))))
    t, _ = rel.detrend(c)
    w = rel.window_iqrs(c)[0]
    sizes = np.array([np.sum((t > e - w) & (t <= e)) for e in t])
    assert sizes.max() > rel.SORTED_WINDOW_MAX and sizes.min() <= rel.SORTED_WINDOW_MAX
    _assert_same(rel.window_iqrs(c), old_window_iqrs(c))


def _close(a, b, where="results"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            _close(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{where}.{i}")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=TOL, abs=TOL), where
    else:
        assert a == b, where


@pytest.mark.parametrize("seed", range(6))
def test_every_reported_figure_is_unchanged(monkeypatch, seed):
    # Whole reports, old and new, over 2-5 runs of random curves (logged at the same steps, so the across-run
    # figures are there too; and aligned).
    rng = np.random.default_rng(100 + seed)
    kind = KINDS[seed % len(KINDS)]
    n = int(rng.integers(20, 400))
    base = random_curve(rng, kind, n)
    runs = [curve(f"seed{i}", base.steps, random_curve(rng, kind, n).values) for i in range(int(rng.integers(2, 6)))]
    for align in (None, float(np.median(np.diff(base.steps))) * 3):
        new = rel.reliability(runs, align=align)
        with monkeypatch.context() as m:
            m.setattr(rel, "window_iqrs", old_window_iqrs)
            old = rel.reliability(runs, align=align)
        _close(new, old)
        assert "dispersion_across_time" in new[0]["within_runs"] or n < 7


def test_wavelet_matrix_kth_against_sorting():
    rng = np.random.default_rng(7)
    for n in (1, 2, 5, 64, 65, 1000):
        x = np.round(rng.normal(size=n) * 3)  # many ties
        wm = rel._WaveletMatrix(x)
        lo = rng.integers(0, n, 300)
        hi = np.minimum(n, lo + 1 + rng.integers(0, n, 300))
        k = (rng.random(300) * (hi - lo)).astype(int)
        want = [np.sort(x[a:b])[j] for a, b, j in zip(lo, hi, k, strict=True)]
        assert wm.kth(lo, hi, k).tolist() == want


def test_quantiles_of_ranges_are_np_percentile_bit_for_bit():
    # The wavelet path interpolates as numpy does (its _lerp, the last value for a range of one).
    rng = np.random.default_rng(8)
    x = rng.normal(size=500) * 1e3
    lo = rng.integers(0, 500, 400)
    hi = np.minimum(500, lo + 1 + rng.integers(0, 200, 400))
    wm = rel._WaveletMatrix(x)
    for q in (0.25, 0.75):
        got = rel._quantile_in(wm, lo, hi, hi - lo, q)
        want = [np.percentile(x[a:b], 100 * q) for a, b in zip(lo, hi, strict=True)]
        assert got.tolist() == want
