import numpy as np
import pytest

from edgeperf.validation import statistics as st


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


@pytest.mark.parametrize("n", [3, 6, 30])
def test_t_interval_covers_the_mean_at_the_nominal_rate_even_for_few_episodes(n):
    rng = np.random.default_rng(n)
    hits = sum(lo <= 3.0 <= hi for lo, hi in (st.mean_ci(rng.normal(3.0, 1.0, n), 0.95) for _ in range(2000)))
    assert 0.935 <= hits / 2000 <= 0.965


def test_tost_is_not_fooled_at_the_margin_with_few_pairs():
    """True mean difference exactly at the margin: 'equivalent' at most ~5% of the time (alpha), also at n=6."""
    rng = np.random.default_rng(7)
    ok = np.ones(6, bool)
    rate = np.mean(
        [st.equivalence(rng.normal(5.0, 3.0, 6), 5.0, ok, ok)["verdict"] == "equivalent" for _ in range(1000)]
    )
    assert rate <= 0.065


@pytest.mark.parametrize(
    ("confidence", "n", "t_table"),
    [(0.95, 2, 12.706), (0.95, 3, 4.303), (0.95, 6, 2.571), (0.90, 6, 2.015), (0.95, 30, 2.045), (0.90, 30, 1.699)],
)
def test_t_intervals_match_the_printed_t_table(confidence, n, t_table):
    """Half-width / standard error is Student's t quantile (values from a printed table, 3 decimals)."""
    x = np.arange(n, dtype=float) ** 1.5
    lo, hi = st.mean_ci(x, confidence)
    assert (hi - lo) / 2 / (x.std(ddof=1) / np.sqrt(n)) == pytest.approx(t_table, abs=1e-3)


def test_wilson_and_mcnemar_match_known_values():
    # Wilson score 95% for 3 of 7 and 12 of 20, from the closed form (p + z^2/2n +- z sqrt(...)) / (1 + z^2/n)
    assert st.wilson(3, 7) == pytest.approx((0.1582, 0.7495), abs=1e-4)
    assert st.wilson(12, 20) == pytest.approx((0.3866, 0.7812), abs=1e-4)
    assert st.wilson(0, 0) == (0.0, 1.0)
    # exact two-sided binomial on the discordant pairs: 2 * P(X <= 3 | n=11, p=1/2) = 2 * 232 / 2048
    assert st.mcnemar_p(3, 8) == pytest.approx(2 * 232 / 2048)
    assert st.mcnemar_p(5, 5) == 1.0


def test_episodes_needed_make_equivalent_likely_at_the_stated_power():
    """Run the number it asks for, from a policy as good as the reference (true difference 0, the same spread):
    TOST then says equivalent in about POWER (80%) of the runs (43 asked here: 85% measured; a count that asked
    too few, or power counted on both tests, falls outside)."""
    d = np.array([1.0, -1.0] * 5)  # mean 0, sd 1.054: inconclusive against a margin of 0.5
    v = st.equivalence(d, 0.5, np.ones(10, bool), np.ones(10, bool))
    assert v["verdict"] == "inconclusive"
    n = v["episodes_needed"]
    rng = np.random.default_rng(0)
    hits = sum(st.equivalence(rng.normal(0, d.std(ddof=1), n), 0.5)["verdict"] == "equivalent" for _ in range(1000))
    assert 0.75 <= hits / 1000 <= 0.85, (n, hits)


def test_a_steady_small_sample_asks_for_more_episodes_than_it_had():
    d = np.array([0.10, 0.46])  # two episodes inside the margin, but t with 1 degree of freedom is 6.3: inconclusive
    v = st.equivalence(d, 1.0)
    assert v["verdict"] == "inconclusive" and v["episodes_needed"] >= 3


def test_lost_successes_are_never_equivalent():
    ref, dep = np.ones(20, bool), np.array([True] * 15 + [False] * 5)
    v = st.equivalence(np.zeros(20), 5.0, ref, dep)  # returns equal, 5 successes lost: McNemar p = 0.0625
    assert v["verdict"] != "equivalent"


def test_nonfinite_actions_are_different():
    ok = np.ones(6, bool)
    assert st.equivalence(np.zeros(6), 5.0, ok, ok, nonfinite_deployed=1)["verdict"] == "different"


def test_reliability_and_intervals():
    r = np.arange(100.0)
    assert st.cvar(r, 0.05) == pytest.approx(2.0)  # mean of the worst 5
    assert st.iqr(r) == pytest.approx(49.5)
    lo, hi = st.wilson(10, 10)
    assert hi == pytest.approx(1.0) and 0.65 < lo < 0.75
    assert st.mcnemar_p(0, 0) == 1.0 and st.mcnemar_p(6, 0) == pytest.approx(2 / 64)


def test_a_derived_margin_follows_the_reference_spread_and_scale():
    """No task knowledge: half the reference's return SD, at least 5% of its mean (breaks if either is dropped:
    a zero-spread original would get no margin, a widely varying one a margin below its own noise)."""
    from edgeperf.validation.paired import derived_margin

    margin, why = derived_margin({"mean": -300.0, "std": 80.0})
    assert margin == 40.0 and "standard deviation" in why
    margin, why = derived_margin({"mean": 1000.0, "std": 2.0})
    assert margin == 50.0 and "5% of the reference's mean" in why
    assert derived_margin({"mean": 0.0, "std": 0.0})[0] == 1e-6
