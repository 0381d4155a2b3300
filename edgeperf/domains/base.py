"""The Domain contract and its registry.

A Domain is an id (`quadruped/trot`, `gym:Pendulum-v1`), a factory of gymnasium envs seeded per episode, the
control rate, how success is judged, the equivalence margin paired validation uses, and optionally a bundled
reference policy. Domains register by string entry point ("module:function"), so listing them imports
nothing heavy; pybullet and gymnasium load when a domain is built. A third-party package registers its own:
`--domain mypkg.domains:cartpole` imports `mypkg.domains` (which calls `register("cartpole", ...)`), then
makes `cartpole`, as gymnasium's make("pkg.module:Env-v0") does.

Episode outcome contract: on the final step (terminated or truncated) an env puts in `info`
  "success": bool             the domain's task criterion (not mere survival); an env that never reports it
                               has no success criterion: validation then compares returns only, and says so
  "fall": bool                 (optional) the episode ended by a fall
  "failure_reason": str        (optional) why it failed, in words
and any number of float metrics under "metrics" (e.g. {"tracking_error": .., "energy": ..}).

Latency in the loop: an env whose unwrapped object has an `action_delay_s` attribute applies each new action
that many seconds into its step (the previous action holds until then); see validation/latency.py.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import warnings
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
    # A person's time to the same decision (ms), for domains where a person is the yardstick (web navigation):
    # validate sets the policy's decision latency against it.
    human_reaction_ms: float | None = None
    human_reaction_source: str = ""
    # (term, size) of the observation in order, where the domain builds it from named terms (deploy specs):
    # a policy whose input size differs is told which term holds how many values
    observation_terms: tuple[tuple[str, int], ...] = ()

    def env(self, seed: int, **options):
        return self.make_env(seed, **{**self.options, **options})


# id -> "module:function" returning a Domain; families of ids ("gym:", "mujoco:") by prefix -> "module:function".
# Both are strings, so this module imports no domain (the domains import it for Domain).
_REGISTRY: dict[str, str] = {}
_FAMILIES: dict[str, str] = {}


def register(domain_id: str, entry_point: str) -> None:
    """Register `entry_point` ("module:function", called with the id, returning a Domain) under `domain_id`."""
    if domain_id in _REGISTRY:
        warnings.warn(
            f"domain '{domain_id}' is registered again: {entry_point} replaces {_REGISTRY[domain_id]}", stacklevel=2
        )
    _REGISTRY[domain_id] = entry_point


def register_family(prefix: str, entry_point: str) -> None:
    """Register `entry_point` ("module:function", called with the whole id) for every id that starts with
    `prefix`: ids built on demand (`gym:ENV_ID`, `mujoco:SPEC_FILE`), not one by one."""
    _FAMILIES[prefix] = entry_point


def _call(entry_point: str, domain_id: str) -> Domain:
    module, _, fn = entry_point.partition(":")
    return getattr(importlib.import_module(module), fn)(domain_id)


def make(domain_id: str) -> Domain:
    """The Domain for an id (`quadruped/trot`, `gym:ENV`, `floorplan:NETLIST`, `mujoco:SPEC`, or `module:ID` for
    a domain a module registers);
    BadInput with a "did you mean" for an unknown one."""
    _load_builtin()
    family = next((ep for prefix, ep in _FAMILIES.items() if domain_id.startswith(prefix)), None)
    if family and domain_id not in _REGISTRY:  # an id registered one by one wins over its family
        return _call(family, domain_id)
    module, sep, name = domain_id.rpartition(":")
    if sep:
        if not module:
            raise BadInput(f"--domain {domain_id}: give MODULE:ID, e.g. mypkg.domains:cartpole")
        _import_plugin(module, domain_id)
    if name not in _REGISTRY:
        close = difflib.get_close_matches(name, list(_REGISTRY), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        where = f"{module} registers no domain '{name}'" if sep else f"unknown domain '{name}'"
        raise BadInput(
            f"{where}{hint} Known: {', '.join(sorted(_REGISTRY))}, gym:ENV_ID for any installed gymnasium "
            "environment, mujoco:SPEC for a robot's deploy spec, or MODULE:ID for a domain that MODULE registers"
        )
    domain = _call(_REGISTRY[name], name)
    # The id a worker process (or a later run) can make again: with its module when the user named one.
    return dataclasses.replace(domain, id=domain_id) if sep else domain


def _import_plugin(module: str, domain_id: str) -> None:
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise BadInput(
            f"--domain {domain_id}: cannot import {module} ({exc}); is the package that provides it installed?"
        ) from None
    except Exception as exc:  # the plugin's own import failed: its message, in one line
        raise BadInput(f"--domain {domain_id}: importing {module} failed: {type(exc).__name__}: {exc}") from None


def _load_builtin() -> None:
    importlib.import_module("edgeperf.domains.builtin")  # registers on first import; a no-op afterwards
