import numpy as np
import pytest

from edgeperf.profilers.stats import latency_stats, order_statistic_ci


def test_percentiles_match_numpy_and_are_in_microseconds():
    ns = np.random.default_rng(0).lognormal(mean=9, sigma=0.3, size=20_000)
    s, warnings = latency_stats(ns)
    us = ns / 1e3
    assert s["count"] == 20_000
    for key, q in (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9)):
        assert s[key] == pytest.approx(np.percentile(us, q))
    assert s["min"] <= s["p50"] <= s["p99"] <= s["max"]
    assert s["cov"] == pytest.approx(us.std(ddof=1) / us.mean())
    assert warnings == []


def test_p99_interval_covers_the_true_quantile():
    """Coverage of the order-statistic interval over many samples of a known distribution (~95% nominal)."""
    rng = np.random.default_rng(1)
    true = -np.log(0.01)  # p99 of Exp(1)
    hits = sum(
        lo <= true <= hi
        for lo, hi in (order_statistic_ci(np.sort(rng.exponential(size=3000)), 0.99) for _ in range(400))
    )
    assert 0.90 <= hits / 400 <= 0.99


def test_short_run_warns_about_the_tail():
    _, warnings = latency_stats(np.full(500, 1000.0))
    assert any("p99 rests on 5.0 samples" in w and "1000 iterations" in w for w in warnings)
    assert not latency_stats(np.full(20_000, 1000.0))[1]
    assert order_statistic_ci(np.arange(50.0), 0.99) is None
    assert "p99_ci95" not in latency_stats(np.arange(50.0))[0]


def test_noisy_run_warns():
    ns = np.concatenate([np.full(5000, 1000.0), np.full(100, 50_000.0)])
    assert any("noisy" in w for w in latency_stats(ns)[1])


def test_empty():
    s, w = latency_stats(np.array([]))
    assert s == {"count": 0} and w
