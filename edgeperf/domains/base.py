"""The Domain contract and its registry.

A Domain is an id (`quadruped/trot`, `gym:Pendulum-v1`), a factory of gymnasium envs seeded per episode, the
control rate, how success is judged, the equivalence margin paired validation uses, and optionally a bundled
reference policy. Domains register by string entry point ("module:function"), so listing them imports
nothing heavy; pybullet and gymnasium load when a domain is built.

Episode outcome contract: on the final step (terminated or truncated) an env puts in `info`
  "success": bool             the domain's task criterion (not mere survival)
  "fall": bool                 (optional) the episode ended by a fall
  "failure_reason": str        (optional) why it failed, in words
and any number of float metrics under "metrics" (e.g. {"tracking_error": .., "energy": ..}).

Latency in the loop: an env whose unwrapped object has an `action_delay_s` attribute applies each new action
that many seconds into its step (the previous action holds until then); see domains/latency.py.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from edgeperf.errors import BadInput


@dataclass(frozen=True)
class Domain:
    id: str
    description: str
    make_env: Callable[..., Any]  # make_env(seed: int, **options) -> gymnasium.Env
    control_hz: float
    equivalence_margin: float  # in return units: |mean paired difference| under this is "equivalent"
    reference: str | None = None  # a policy source (e.g. "reference:quadruped/trot") that solves the domain
    success_rule: str = ""  # the task criterion, in words, for reports
    episode_s: float | None = None
    options: dict = field(default_factory=dict)  # defaults passed to make_env

    def env(self, seed: int, **options):
        return self.make_env(seed, **{**self.options, **options})


# id -> "module:function" returning a Domain; "gym:" ids are built on demand from gymnasium's registry.
_REGISTRY: dict[str, str] = {}


def register(domain_id: str, entry_point: str) -> None:
    _REGISTRY[domain_id] = entry_point


def ids() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def make(domain_id: str) -> Domain:
    """The Domain for an id; BadInput with a "did you mean" for an unknown one."""
    _load_builtin()
    if domain_id.startswith("gym:"):
        from edgeperf.domains.gym import gym_domain

        return gym_domain(domain_id[4:])
    if domain_id not in _REGISTRY:
        close = difflib.get_close_matches(domain_id, list(_REGISTRY), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise BadInput(
            f"unknown domain '{domain_id}'{hint} Known: {', '.join(sorted(_REGISTRY))}, or gym:ENV_ID for any "
            "installed gymnasium environment"
        )
    module, _, fn = _REGISTRY[domain_id].partition(":")
    return getattr(importlib.import_module(module), fn)(domain_id)


def _load_builtin() -> None:
    importlib.import_module("edgeperf.domains.builtin")  # registers on first import; a no-op afterwards
