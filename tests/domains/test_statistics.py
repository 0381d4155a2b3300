import numpy as np
import pytest

from edgeperf.domains import statistics as st


def test_identical_policies_are_equivalent():
    v = st.equivalence(np.zeros(10), 5.0, np.ones(10, bool), np.ones(10, bool))
    assert v["verdict"] == "equivalent" and v["ci90"] == [0.0, 0.0]


def test_a_large_shift_is_different():
    d = -30 + np.random.default_rng(0).normal(0, 5, 20)
    assert st.equivalence(d, 5.0, np.ones(20, bool), np.ones(20, bool))["verdict"] == "different"


def test_success_lost_in_many_pairs_is_different_even_with_equal_returns():
    ref = np.ones(20, bool)
    dep = np.array([True] * 12 + [False] * 8)
    v = st.equivalence(np.zeros(20), 5.0, ref, dep)
    assert v["verdict"] == "different" and v["success_only_reference"] == 8 and v["success_mcnemar_p"] < 0.01


def test_noisy_small_sample_is_inconclusive_with_an_estimate():
    d = np.array([10.0, -10.0, 8.0, -8.0, 6.0, -6.0])  # mean 0, but too few and too noisy for a 5-unit margin
    v = st.equivalence(d, 5.0, np.ones(6, bool), np.ones(6, bool))
    assert v["verdict"] == "inconclusive"
    assert 20 < v["episodes_needed"] < 40


def test_bootstrap_ci_covers_the_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(2)
    hits = 0
    for i in range(200):
        lo, hi = st.bootstrap_mean_ci(rng.normal(3.0, 1.0, 30), 0.95, seed=i)
        hits += lo <= 3.0 <= hi
    assert 0.88 <= hits / 200 <= 0.99


def test_reliability_and_intervals():
    r = np.arange(100.0)
    assert st.cvar(r, 0.05) == pytest.approx(2.0)  # mean of the worst 5
    assert st.iqr(r) == pytest.approx(49.5)
    lo, hi = st.wilson(10, 10)
    assert hi == pytest.approx(1.0) and 0.65 < lo < 0.75
    assert st.mcnemar_p(0, 0) == 1.0 and st.mcnemar_p(6, 0) == pytest.approx(2 / 64)
