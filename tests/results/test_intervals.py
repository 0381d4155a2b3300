"""results/intervals.py, the one home of the quantile interval and the t and normal quantiles: the exact values
(scipy's, and the textbook table's), with scipy and without it."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from edgeperf.results import intervals as iv

# Student's t at 97.5% from the textbook table (3 decimals), df 1..10, 19, 30
TABLE = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228,
         19: 2.093, 30: 2.042}  # fmt: skip


@pytest.fixture(params=["scipy", "no scipy"])
def scipy_or_not(request, monkeypatch):
    if request.param == "scipy":
        pytest.importorskip("scipy.stats")
    else:
        monkeypatch.setitem(sys.modules, "scipy", None)  # `from scipy import stats` raises ImportError
    return request.param


def test_t_quantiles_are_the_tables(scipy_or_not):
    for df, t in TABLE.items():
        assert iv.t_quantile(0.975, df) == pytest.approx(t, abs=6e-4), df
        assert iv.t_quantile(0.025, df) == pytest.approx(-t, abs=6e-4), df


def test_without_scipy_t_is_scipys_to_1e12():
    """The exact fallback against scipy.stats.t.ppf over the degrees of freedom and levels intervals use. The
    Cornish-Fisher expansion compare had before was 1.5% low at df 3 (4.097 for 4.157 at p = 0.98734)."""
    stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 41), 100, 500]:
        for p in (0.5, 0.6, 0.9, 0.95, 0.975, math.sqrt(0.95) / 2 + 0.5, 0.99, 0.999, 0.01):
            assert iv._t_quantile_exact(p, df) == pytest.approx(stats.t.ppf(p, df), rel=1e-12, abs=1e-12), (p, df)
    assert iv._t_quantile_exact(0.98734, 3) == pytest.approx(4.1565, abs=1e-4)


def test_without_scipy_non_integer_degrees_of_freedom_are_refused(monkeypatch):
    monkeypatch.setitem(sys.modules, "scipy", None)
    with pytest.raises(ValueError, match="integer degrees of freedom"):
        iv.t_quantile(0.975, 4.5)


def test_normal_quantiles_are_exact():
    assert iv.two_sided_z(0.95) == pytest.approx(1.959963984540054, abs=1e-12)
    assert iv.two_sided_z(0.90) == pytest.approx(1.6448536269514722, abs=1e-12)
    stats = pytest.importorskip("scipy.stats")
    for p in (0.001, 0.1, 0.5, 0.9, 0.975, 0.999):
        assert iv.normal_quantile(p) == pytest.approx(stats.norm.ppf(p), abs=1e-12)


def test_quantile_interval_ranks_use_the_exact_z():
    """profile's p99_ci95 took z from a 4-digit table (1.9600 for 1.959964); where n*q +- z*sqrt(n q (1-q)) falls
    between the two, the bound's rank was one off. Found by search, checked against the definition."""
    z = 1.959963984540054
    found = 0
    for n in range(1000, 200_000, 7):
        half, rounded = z * math.sqrt(n * 0.99 * 0.01), 1.96 * math.sqrt(n * 0.99 * 0.01)
        want = (math.floor(n * 0.99 - half) - 1, math.ceil(n * 0.99 + half) - 1)
        if want != (math.floor(n * 0.99 - rounded) - 1, math.ceil(n * 0.99 + rounded) - 1):
            found += 1
            assert iv.quantile_ci_ranks(n, 0.99, 0.95) == want, n
    assert found  # there are such n, and the ranks are the exact z's


def test_quantile_interval_is_inside_the_data_or_none():
    x = np.arange(1000.0)
    lo, hi = iv.quantile_ci(x, 0.5, 0.95)
    assert lo < 500 < hi and iv.quantile_ci(x, 0.5, 0.99)[1] - iv.quantile_ci(x, 0.5, 0.99)[0] > hi - lo
    assert iv.quantile_ci(np.arange(50.0), 0.99) is None  # the upper rank would be past the 50th value


def test_small_integer_degrees_of_freedom_cost_no_scipy_import():
    """compare's batch-means interval runs on every `edgeperf compare`: loading scipy.stats for it cost 0.7 s."""
    code = (
        "import sys; from edgeperf.results import intervals as iv; t = iv.t_quantile(0.975, 9);"
        "assert 'scipy' not in sys.modules, 'scipy imported'; print(t)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert float(out) == pytest.approx(2.262, abs=6e-4)
