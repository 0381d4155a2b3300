"""A domain where memory matters (Pendulum without its velocity): validate judges the faithful recurrent
artifact equivalent and one whose state is not carried different, with real episodes."""

from __future__ import annotations

import numpy as np
import pytest

from tests.recurrent_helpers import forget_state

pytest.importorskip("torch")
pytest.importorskip("gymnasium")
pytest.importorskip("onnx")

DOMAIN = "pendulum/no-velocity"


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    d = tmp_path_factory.mktemp("pnv")
    faithful = d / "pnv.onnx"
    report = export(f"reference:{DOMAIN}", faithful)
    assert report.results["parity"]["passed"]
    return faithful, forget_state(faithful, d / "forgetful.onnx")


def test_the_domain_hides_the_velocity_and_its_reference_needs_memory():
    from edgeperf.domains import base
    from edgeperf.pipeline import open_policy

    domain = base.make(DOMAIN)
    env = domain.env(0)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2,) and env.observation_space.shape == (2,)
    env.close()
    with open_policy(f"reference:{DOMAIN}", threads=1) as policy:
        assert policy.io.state  # its memory, in buffers (the rsl_rl form)
        before, now = (np.array([np.cos(t), np.sin(t)], np.float32) for t in (3.1, 3.0))
        policy.run(before)
        swinging = policy.run(now)  # it saw the pendulum move: velocity -2 rad/s, pump against it
        policy.reset()
        still = policy.run(now)  # no memory: velocity 0
    assert swinging[0] == pytest.approx(-2.0) and still[0] == pytest.approx(2.0)


def test_validate_judges_the_faithful_artifact_equivalent_and_a_forgetful_one_different(artifacts):
    from edgeperf.pipeline import validate

    faithful, forgetful = artifacts
    good = validate(faithful, DOMAIN, episodes=8, workers=1)
    assert good.results["paired"]["verdict"] == "equivalent", good.results["paired"]
    assert good.results["deployed"]["success_rate"] >= 0.75
    bad = validate(forgetful, DOMAIN, episodes=8, workers=1)
    assert bad.results["paired"]["verdict"] == "different", bad.results["paired"]
    assert bad.results["deployed"]["success_rate"] < good.results["deployed"]["success_rate"]


def test_every_episode_starts_from_zero_state(artifacts):
    """rollout.episode resets the session: episode 2 of a reused session equals a fresh session's episode 2."""
    from edgeperf.domains import base
    from edgeperf.runtime.session import Session
    from edgeperf.validation.rollout import episode

    faithful, _ = artifacts
    domain = base.make(DOMAIN)
    with Session.open(faithful) as reused:
        episode(domain, reused, 0)
        again, _, _ = episode(domain, reused, 1)
    with Session.open(faithful) as fresh:
        first, _, _ = episode(domain, fresh, 1)
    assert again.ret == first.ret


def test_on_policy_observations_reset_the_policy_at_each_episode():
    """profile --observations domain:ID drives the model through episodes: a recurrent one starts each from zeros."""
    from edgeperf.validation.rollout import collect_observations

    resets = []
    obs, _ = collect_observations(
        DOMAIN, lambda o: np.zeros((len(o), 1), np.float32), 50, 0, 3, reset=lambda: resets.append(1)
    )
    assert len(resets) == 3 and obs.shape == (50, 2)
