"""`gym:ENV_ID`: any installed gymnasium environment as a domain.

Success is the environment's own criterion where it has one (spec.reward_threshold on the return), a known
task criterion for the classic-control tasks edgeperf knows (Pendulum: upright at the end), and survival to
the time limit otherwise; the report states which.
"""

from __future__ import annotations

import numpy as np

from edgeperf.domains.base import Domain
from edgeperf.errors import BadInput, require

# Task knowledge gymnasium does not carry: (equivalence margin in return units, success rule in words).
KNOWN = {
    "Pendulum-v1": (20.0, "the pendulum is upright (cos theta > 0.95) over the last 50 steps (2.5 s)"),
    "CartPole-v1": (10.0, "return >= 475 (gymnasium's reward threshold)"),
    "MountainCarContinuous-v0": (5.0, "return >= 90 (gymnasium's reward threshold)"),
}
PENDULUM_FINAL_STEPS = 50


class _Outcome:
    """Adds the episode-outcome contract (info['success'], 'failure_reason', 'metrics') to a gymnasium env."""

    def __init__(self, env, rule: str, threshold: float | None):
        gym = require("gymnasium", "sim", "for gym domains")
        self.env = env
        self.rule, self.threshold = rule, threshold
        self._ret = 0.0
        self._upright: list[bool] = []
        self.Wrapper = gym.Wrapper

    def wrap(self):
        outer = self

        class OutcomeWrapper(self.Wrapper):
            def reset(self, **kw):
                outer._ret, outer._upright = 0.0, []
                return self.env.reset(**kw)

            def step(self, action):
                obs, reward, terminated, truncated, info = self.env.step(action)
                outer._ret += float(reward)
                if outer.rule == "pendulum":
                    outer._upright.append(bool(obs[0] > 0.95))
                if terminated or truncated:
                    info = {**info, **outer.outcome(terminated, truncated)}
                return obs, reward, terminated, truncated, info

        return OutcomeWrapper(self.env)

    def outcome(self, terminated: bool, truncated: bool) -> dict:
        if self.rule == "pendulum":
            ok = len(self._upright) >= PENDULUM_FINAL_STEPS and all(self._upright[-PENDULUM_FINAL_STEPS:])
            why = "" if ok else "not upright over the last 50 steps"
        elif self.threshold is not None:
            ok = self._ret >= self.threshold
            why = "" if ok else f"return {self._ret:.1f} < {self.threshold:g}"
        else:
            ok = truncated and not terminated
            why = "" if ok else "terminated before the time limit"
        return {"success": ok, "failure_reason": why, "metrics": {}}


def family(domain_id: str) -> Domain:
    """`gym:ENV_ID` (the family builtin.py registers)."""
    return gym_domain(domain_id.removeprefix("gym:"))


def gym_domain(env_id: str) -> Domain:
    gym = require("gymnasium", "sim", "for gym domains")
    module, sep, name = env_id.rpartition(":")
    if sep:  # gymnasium's `module:EnvId`: the module registers the env when imported (gym.make does the same)
        import importlib

        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise BadInput(f"gym:{env_id}: cannot import {module} ({exc})") from None
    try:
        spec = gym.spec(name)
    except Exception:
        close = [i for i in gym.registry if i.lower().startswith(env_id.lower().split("-")[0])][:3]
        hint = f"; did you mean {', '.join('gym:' + c for c in close)}?" if close else ""
        raise BadInput(f"gymnasium has no environment '{env_id}'{hint}") from None
    probe = gym.make(env_id)
    try:
        base = probe.unwrapped
        dt = getattr(base, "dt", None) or getattr(base, "tau", None)
        control_hz = 1.0 / dt if dt else float(probe.metadata.get("render_fps") or 0) or 50.0
        steps = spec.max_episode_steps
    finally:
        probe.close()
    margin, rule_text = KNOWN.get(env_id, (None, None))
    rule = "pendulum" if env_id.startswith("Pendulum") else ("threshold" if spec.reward_threshold else "survive")
    if rule_text is None:
        rule_text = (
            f"return >= {spec.reward_threshold:g} (gymnasium's reward threshold)"
            if spec.reward_threshold
            else "reaching the time limit without termination"
        )

    def make_env(seed: int, **options):
        env = _Outcome(gym.make(env_id, **options), rule, spec.reward_threshold).wrap()
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return env

    return Domain(
        id=f"gym:{env_id}",
        description=f"gymnasium {env_id}",
        make_env=make_env,
        control_hz=control_hz,
        equivalence_margin=margin if margin is not None else float("nan"),
        reference=f"reference:gym:{env_id}" if env_id in REFERENCES else None,
        success_rule=rule_text,
        episode_s=steps / control_hz if steps else None,
    )


# Bundled reference policies for gym domains: env id -> file in edgeperf/domains/references.
REFERENCES = {"Pendulum-v1": "pendulum.pt"}


def pendulum_expert(obs: np.ndarray) -> np.ndarray:
    """Energy-pumping swing-up with a PD catch near the top: the teacher of the bundled Pendulum policy."""
    c, s, w = (float(v) for v in obs)
    if c > 0.8:
        u = -(10.0 * np.arctan2(s, c) + 2.0 * w)
    else:
        energy = 0.5 * w * w + 15.0 * c  # 15 = 3g/2l: the energy of resting upright
        u = 2.0 * np.sign(w * (15.0 - energy)) if abs(w) > 1e-3 else 2.0
    return np.clip(np.array([u], dtype=np.float32), -2.0, 2.0)
