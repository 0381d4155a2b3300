"""Bad Dict observations: a missing key (named, with the keys expected), an image in the other layout (both
said), float pixels for a uint8 image input, a Dict model on a one-array domain: one line, exit 2."""

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.runtime.session import Session
from tests import dictobs

PLUGIN = "tests.badinput.dict_domains"


@pytest.mark.parametrize(
    ("domain", "words"),
    [
        ("vision-nostate", "lacks key 'state'"),
        ("vision-nostate", "expects keys ['image', 'state'], the dict has ['image']"),
        ("vision-chw", "got CHW 3x48x48, the model expects HWC 48x48x3"),
        ("vision-float", "takes raw uint8 pixels (0..255), got float64"),
        ("gym:Pendulum-v1", "has inputs ['image', 'state']; pass a dict"),
    ],
)
def test_validate_on_a_domain_whose_observation_does_not_fit(bad, dict_onnx, domain, words):
    spec = domain if domain.startswith("gym:") else f"{PLUGIN}:{domain}"
    r = bad(2, "validate", dict_onnx[0], "--domain", spec, "--reference", dict_onnx[0], "--episodes", "2",
            "--workers", "1")  # fmt: skip
    assert words in r.err


def test_export_with_a_domain_of_other_keys(bad, dict_sb3):
    r = bad(2, "export", dict_sb3["zip"], "--vecnormalize", dict_sb3["vecnormalize"], "-o", "x.onnx", "--domain",
            f"{PLUGIN}:vision-nostate", "--trust-pickle")  # fmt: skip
    assert "image" in r.err


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda o: {"image": o["image"]}, "lacks key 'state'"),
        (lambda o: {**o, "image": o["image"].transpose(2, 0, 1)}, "got CHW 3x48x48, the model expects HWC 48x48x3"),
        (lambda o: {**o, "image": o["image"].astype(np.float32) / 255}, "takes raw uint8 pixels"),
        (lambda o: o["image"], "pass a dict with one array each"),
    ],
)
def test_session_run_says_what_is_wrong(dict_onnx, change, words):
    obs = dictobs.one_obs()
    with Session.open(dict_onnx[0]) as s, pytest.raises(BadInput) as exc:
        s.run(change(obs))
    assert words in str(exc.value) and "\n" not in str(exc.value)


def test_integer_state_is_converted_not_refused(dict_onnx):
    """Wrong dtype where it does not matter (ints for a float vector, a float64 state) is converted."""
    obs = dictobs.one_obs()
    with Session.open(dict_onnx[0]) as s:
        a = s.run(obs)
        b = s.run({**obs, "state": obs["state"].astype(np.float64)})
    np.testing.assert_array_equal(a, b)
