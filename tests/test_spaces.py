"""Spaces as classes that become metadata dicts at the edge, and the observation sampler parity and calibration
share."""

import json
from pathlib import Path

import numpy as np
import pytest

from edgeperf import artifact, spaces
from edgeperf.errors import BadInput

REPORTS = Path(__file__).parent / "fixtures" / "reports"


def test_bounded_box_keeps_its_bounds_compactly():
    assert spaces.box([-1, -1, -8], [1, 1, 8], (3,)).to_dict() == {
        "type": "box",
        "shape": [3],
        "low": [-1.0, -1.0, -8.0],
        "high": [1.0, 1.0, 8.0],
    }
    img = spaces.box(0, 255, (3, 8, 8))
    assert img.low == 0.0 and img.high == 255.0  # one number for all 192 elements
    assert img.shape == (3, 8, 8) and img.input_dtype == "float32"


def test_low_and_high_only_ever_hold_finite_numbers():
    """Readers (the profiler's observation pool) may sample uniformly between low and high."""
    f32max = float(np.finfo(np.float32).max)
    cart = spaces.box([-4.8, -f32max, -0.42, -np.inf], [4.8, f32max, 0.42, np.inf], (4,))
    assert cart.low is None and cart.high is None
    assert cart.low_partial == (-4.8, None, -0.42, None)
    assert spaces.box(-np.inf, np.inf, (2,)).to_dict() == {"type": "box", "shape": [2], "low": None, "high": None}
    json.dumps(cart.to_dict(), allow_nan=False)  # strict JSON: no Infinity, no NaN
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


def _forms() -> list[spaces.Space]:
    f32max = float(np.finfo(np.float32).max)
    image = spaces.box(0, 255, (8, 8, 3), "uint8")
    vector = spaces.box([-1, -2], [1, 2], (2,))
    return [
        vector,
        spaces.box(-2, 2, (1,)),  # one number for every element
        spaces.box([-4.8, -f32max, -0.42, -np.inf], [4.8, f32max, 0.42, np.inf], (4,)),  # partial bounds
        spaces.box([-1, -np.inf], [np.inf, np.inf], (2,)),  # bounded below in one element only
        spaces.box(-np.inf, np.inf, (3,)),  # unbounded
        image,
        spaces.discrete(4),
        spaces.discrete(3, start=-1),
        spaces.dict_space({"image": image, "state": vector}),
    ]


@pytest.mark.parametrize("space", _forms(), ids=lambda s: f"{s.kind}")
def test_every_form_round_trips_through_json(space):
    text = json.dumps(space.to_dict(), allow_nan=False)
    back = spaces.from_dict(json.loads(text))
    assert back == space and type(back) is type(space)
    assert json.dumps(back.to_dict()) == text  # the dict form (key order included) does not change
    assert spaces.problem(json.loads(text)) is None


def test_the_dict_form_is_the_one_edgeperf_has_always_written():
    """Artifact metadata and reports keep their bytes: partial bounds carry both *_partial keys, a float32 box no
    dtype key, a discrete space its start."""
    cart = spaces.box([-4.8, -np.inf], [4.8, np.inf], (2,))
    assert json.dumps(cart.to_dict()) == (
        '{"type": "box", "shape": [2], "low": null, "high": null, "low_partial": [-4.8, null], '
        '"high_partial": [4.8, null]}'
    )
    below = spaces.box(0.0, np.inf, (2,))
    assert below.to_dict() == {
        "type": "box",
        "shape": [2],
        "low": None,
        "high": None,
        "low_partial": 0.0,
        "high_partial": None,
    }
    image = spaces.box(0, 255, (2, 2, 3), "uint8")
    pixels = '{"type": "box", "shape": [2, 2, 3], "low": 0.0, "high": 255.0, "dtype": "uint8"}'
    assert json.dumps(image.to_dict()) == pixels
    assert json.dumps(spaces.discrete(2).to_dict()) == '{"type": "discrete", "n": 2, "start": 0}'
    masked = spaces.dict_space({"obs": spaces.box(-1, 1, (1,)), "action_mask": image})
    assert json.dumps(masked.to_dict()) == (
        '{"type": "dict", "spaces": {"obs": {"type": "box", "shape": [1], "low": -1.0, "high": 1.0}, '
        '"action_mask": {"type": "box", "shape": [2, 2, 3], "low": 0.0, "high": 255.0, "dtype": "uint8"}}}'
    )
    assert spaces.to_dict(None) is None and spaces.from_dict(None) is None


@pytest.mark.parametrize("name", ["export.json", "export_recurrent.json"])
def test_each_fixture_s_spaces_round_trip_byte_for_byte(name):
    report = json.loads((REPORTS / name).read_text())
    for space in report["results"]["spaces"].values():
        assert spaces.problem(space) is None
        assert json.dumps(spaces.from_dict(space).to_dict()) == json.dumps(space)


def test_metadata_as_an_export_writes_it_round_trips(tmp_path):
    """A PolicySource's spaces become ONNX metadata through artifact.encode, and read back as the same classes."""
    obs = spaces.dict_space({"image": spaces.box(0, 255, (4, 4, 3), "uint8"), "state": spaces.box(-8, 8, (1,))})
    act = spaces.box([-1, -2], [1, 2], (2,))
    props = artifact.encode({"obs_space": spaces.to_dict(obs), "action_space": spaces.to_dict(act)})
    meta = artifact.decode(props)
    assert spaces.from_dict(meta["obs_space"]) == obs and spaces.from_dict(meta["action_space"]) == act
    assert artifact.encode({k: spaces.from_dict(v).to_dict() for k, v in meta.items()}) == props


def test_a_dict_of_unknown_type_is_refused_in_one_line():
    with pytest.raises(BadInput, match="type 'sphere'"):
        spaces.from_dict({"type": "sphere"})
