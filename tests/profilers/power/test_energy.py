"""The arithmetic: trapezoid on power, differences on counters with wrap-around, idle subtraction."""

import pytest

from edgeperf.profilers.energy import Series, add_figures, energy_between, rail_figures, unwrap

S = 1_000_000_000  # ns per second


def test_trapezoid_on_a_ramp_cut_exactly_at_the_window():
    # 0 W at t=0 rising 1 W/s to 10 W at t=10 s, sampled every second; window [2.5 s, 7.5 s].
    s = Series("power", [i * S for i in range(11)], [float(i) for i in range(11)])
    # Exact integral of t over [2.5, 7.5] = (7.5^2 - 2.5^2) / 2 = 25 J; linear signal: trapezoid is exact.
    assert energy_between(s, int(2.5 * S), int(7.5 * S)) == pytest.approx(25.0)


def test_window_not_bracketed_by_samples_has_no_figure():
    s = Series("power", [1 * S, 2 * S], [5.0, 5.0])
    assert energy_between(s, 0, 2 * S) is None
    assert energy_between(s, S, 3 * S) is None
    assert energy_between(Series("power", [S], [5.0]), S, S) is None


def test_counter_wraps_at_max_energy_range():
    wrap = 262143.32885  # J, from max_energy_range_uj
    values = [wrap - 10.0, wrap - 2.0, 3.0, 9.0]  # wraps between the 2nd and 3rd reading
    cum, wraps, resets = unwrap(values, wrap)
    assert (wraps, resets) == (1, 0)
    assert cum[-1] - cum[0] == pytest.approx(19.0)
    s = Series("energy", [0, S, 2 * S, 3 * S], values, wrap_J=wrap)
    assert energy_between(s, 0, 3 * S) == pytest.approx(19.0)
    assert energy_between(s, S, 2 * S) == pytest.approx(5.0)  # 2 J to the wrap, 3 J after it


def test_counter_without_range_that_falls_is_a_reset():
    cum, wraps, resets = unwrap([100.0, 110.0, 4.0, 6.0], None)
    assert (wraps, resets) == (0, 1)
    assert cum[-1] - cum[0] == pytest.approx(16.0)


def test_idle_subtracted_per_inference_and_per_control_step():
    # 2 W idle for 2 s, then 5 W for 4 s during which 1000 inferences ran.
    t = [i * S // 2 for i in range(13)]  # every 0.5 s, 0..6 s
    p = [2.0 if ti <= 2 * S else 5.0 for ti in t]
    s = Series("power", t, p)
    f = rail_figures(s, (int(2.5 * S), int(6 * S)), (0, 2 * S), 1000, steps=1000)
    assert f["idle_W"] == pytest.approx(2.0)
    assert f["active_W"] == pytest.approx(5.0)
    assert f["energy_J"] == pytest.approx(17.5)  # 5 W x 3.5 s
    assert f["energy_above_idle_J"] == pytest.approx(10.5)  # (5 - 2) W x 3.5 s
    assert f["per_inference_above_idle_mJ"] == pytest.approx(10.5)
    assert f["per_inference_mJ"] == pytest.approx(17.5)
    assert f["per_control_step"] == {"mJ": pytest.approx(17.5), "above_idle_mJ": pytest.approx(10.5)}
    assert f["samples_in_window"] == 8 and f["idle_samples"] == 5


def test_board_total_adds_rails():
    a = {"idle_W": 1.0, "active_W": 2.0, "energy_J": 4.0}
    b = {"idle_W": 0.5, "active_W": 1.0, "energy_J": 2.0, "per_inference_mJ": 3.0}
    assert add_figures([a, b]) == {"idle_W": 1.5, "active_W": 3.0, "energy_J": 6.0}


def _trace_energy(tr: dict, t_ns: list[int]) -> float:
    """The energy a trace accounts for: each point's mean power times its span (spans tile the samples)."""
    import numpy as np

    edges = np.unique(np.linspace(0, len(t_ns) - 1, len(tr["W"]) + 1).round().astype(int))
    spans = np.diff(np.asarray(t_ns)[edges]) / S
    return float(np.sum(np.asarray(tr["W"]) * spans))


def test_power_trace_is_downsampled_without_losing_energy():
    import numpy as np

    from edgeperf.profilers.energy import power_trace

    t = [i * S // 100 for i in range(2001)]  # 20 s at 100 Hz
    w = list(2.0 + np.sin(np.arange(2001) / 50.0))
    s = Series("power", t, w)
    tr = power_trace(s, t0_ns=0, points=300)
    assert len(tr["t_s"]) == len(tr["W"]) <= 300
    assert tr["t_s"][0] > 0 and tr["t_s"][-1] < 20  # span midpoints, from t0
    assert _trace_energy(tr, t) == pytest.approx(energy_between(s, 0, 20 * S), rel=1e-4)
    assert max(tr["W"]) <= 3.0 + 1e-6 and min(tr["W"]) >= 1.0 - 1e-6


def test_power_trace_of_a_counter_across_a_wrap():
    from edgeperf.profilers.energy import power_trace

    wrap = 100.0
    values = [(5.0 * i) % wrap for i in range(50)]  # 5 J a second, wraps every 20 s
    s = Series("energy", [i * S for i in range(50)], values, wrap_J=wrap)
    tr = power_trace(s, t0_ns=0, points=10)
    assert tr["W"] == pytest.approx([5.0] * len(tr["W"]))  # no negative spike at the wraps
    assert power_trace(Series("power", [S], [1.0]), 0) is None
