import json

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.validation.latency import DelayedActions, LatencyModel, parse


class _Env:
    def __init__(self, substeps):
        self.unwrapped = self
        if substeps:
            self.action_delay_s = 0.0


def _actions(n):
    return [np.array([float(k)]) for k in range(n)]


def test_no_latency_passes_actions_through():
    d = DelayedActions(_Env(True), None, 0.02, np.random.default_rng(0), np.zeros(1))
    assert [d(a)[0] for a in _actions(3)] == [0.0, 1.0, 2.0]


def test_constant_delay_below_the_period_switches_inside_the_step():
    env = _Env(True)
    d = DelayedActions(env, LatencyModel.constant(5), 0.02, np.random.default_rng(0), np.zeros(1))
    assert d(np.array([7.0]))[0] == 7.0
    assert env.action_delay_s == pytest.approx(0.005)


def test_delay_of_two_and_a_half_periods():
    env = _Env(True)
    d = DelayedActions(env, LatencyModel.constant(50), 0.02, np.random.default_rng(0), np.full(1, -1.0))
    got = []
    for a in _actions(6):
        got.append((d(a)[0], round(env.action_delay_s, 4)))
    # action k is ready at 20k + 50 ms: it arrives 10 ms into step k + 2
    assert got == [(-1.0, 0.0), (-1.0, 0.0), (0.0, 0.01), (1.0, 0.01), (2.0, 0.01), (3.0, 0.01)]


def test_env_without_substeps_rounds_to_whole_steps():
    env = _Env(False)
    d = DelayedActions(env, LatencyModel.constant(25), 0.02, np.random.default_rng(0), np.full(1, -1.0))
    # 25 ms = 1.25 periods: ready 5 ms into the next step, within its first half -> applies from that step
    assert [d(a)[0] for a in _actions(4)] == [-1.0, 0.0, 1.0, 2.0]


def test_latency_from_a_profile_report(tmp_path, example_onnx):
    from edgeperf.profilers.run import profile

    profile(example_onnx, iterations=300, duration=0, warmup=10).write(tmp_path / "p.json")
    m = parse(None, str(tmp_path / "p.json"))
    lat = json.loads((tmp_path / "p.json").read_text())["results"]["latency_us"]
    s = m.sample(np.random.default_rng(0), 20_000) * 1e6
    assert lat["min"] <= s.min() and s.max() <= lat["max"]
    assert np.median(s) == pytest.approx(lat["p50"], rel=0.05)


def test_bad_latency_arguments(tmp_path, example_onnx):
    with pytest.raises(BadInput, match="not both"):
        parse(5.0, "p.json")
    with pytest.raises(BadInput, match="from 0 to 60000"):
        parse(-1.0, None)
    with pytest.raises(BadInput, match="does not exist"):
        parse(None, str(tmp_path / "missing.json"))
