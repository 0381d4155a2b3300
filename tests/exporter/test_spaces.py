"""Spaces as metadata, and the observation sampler parity and calibration share."""

import json

import numpy as np

from edgeperf.exporter import spaces


def test_bounded_box_keeps_its_bounds_compactly():
    assert spaces.box([-1, -1, -8], [1, 1, 8], (3,)) == {
        "type": "box",
        "shape": [3],
        "low": [-1.0, -1.0, -8.0],
        "high": [1.0, 1.0, 8.0],
    }
    img = spaces.box(0, 255, (3, 8, 8))
    assert img["low"] == 0.0 and img["high"] == 255.0  # one number for all 192 elements


def test_low_and_high_only_ever_hold_finite_numbers():
    """Readers (the profiler's observation pool) may sample uniformly between low and high."""
    f32max = float(np.finfo(np.float32).max)
    cart = spaces.box([-4.8, -f32max, -0.42, -np.inf], [4.8, f32max, 0.42, np.inf], (4,))
    assert cart["low"] is None and cart["high"] is None
    assert cart["low_partial"] == [-4.8, None, -0.42, None]
    assert spaces.box(-np.inf, np.inf, (2,)) == {"type": "box", "shape": [2], "low": None, "high": None}
    json.dumps(cart, allow_nan=False)  # strict JSON: no Infinity, no NaN
    low, high = spaces.bounds(cart, (4,))
    assert np.isnan(low[1]) and low[0] == -4.8 and high[2] == 0.42


def test_sampler_per_element():
    cart = spaces.box([-4.8, -np.inf], [4.8, np.inf], (2,))
    x, how = spaces.sample(cart, (2,), 2000, seed=0)
    assert x.dtype == np.float32 and x.shape == (2000, 2)
    assert np.all(np.abs(x[:, 0]) <= 4.8) and x[:, 0].std() > 2.0  # uniform in [-4.8, 4.8]
    assert abs(x[:, 1].std() - 1.0) < 0.1  # standard normal where unbounded
    assert "1 of 2" in how
    y, _ = spaces.sample(cart, (2,), 2000, seed=0)
    np.testing.assert_array_equal(x, y)
    _, how = spaces.sample(None, (3,), 4, seed=0)
    assert how == "standard normal (no observation space known)"


def test_old_style_space_without_type_is_read():
    low, high = spaces.bounds({"low": -2.0, "high": 2.0}, (3,))
    assert low.tolist() == [-2.0] * 3 and high.tolist() == [2.0] * 3
