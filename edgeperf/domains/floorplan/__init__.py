"""Chip floorplanning (macro placement) on an open proxy cost: `floorplan/toy`, `floorplan/ariane-like`, and any
netlist file as `floorplan:PATH` (.json in edgeperf's format, .pb.txt in circuit_training's; see netlist.py).

An agent places a netlist's hard macros one per step, largest first, each on a grid cell (env.py); at the end
the standard-cell clusters are placed by a force-directed step and the proxy cost (cost.py) is the reward's
negative. The named netlists are generated from seed 0 (generate.py): toy as circuit_training's
toy_macro_stdcell (2 macros, 12 clusters, 12 ports, 20 x 10 grid), ariane-like at Ariane's size (133 macros, 800
clusters, 35 x 33 grid).

Success (info["success"]): every macro placed on a feasible cell (inside the canvas, no overlap). Paired
validation judges the proxy cost: the return is -proxy, and the equivalence margin is EQUIVALENCE_MARGIN proxy
units. The bundled references are the imitation-trained CNNs (policy.py; scripts/train_floorplan.py).

gymnasium (the `sim` extra) loads when an env is made; torch only for the reference networks.
"""

from __future__ import annotations

import functools
from pathlib import Path

from edgeperf.domains.base import Domain
from edgeperf.errors import BadInput

EQUIVALENCE_MARGIN = 0.01  # proxy-cost units (a placement's proxy is ~1-2 here)
CONTROL_HZ = 1.0  # nominal: a placement step has no deadline
SUCCESS_RULE = (
    "every macro placed on a feasible cell (inside the canvas, no overlap); equivalent when the mean paired "
    f"proxy-cost difference is within {EQUIVALENCE_MARGIN} of the reference's"
)
DESCRIPTIONS = {
    "floorplan/toy": "macro placement, toy netlist (2 macros, 12 clusters, 12 ports, 20 x 10 grid)",
    "floorplan/ariane-like": "macro placement, Ariane-sized netlist (133 macros, 800 clusters, 35 x 33 grid)",
}


@functools.lru_cache(maxsize=8)
def _board(key: str):
    from edgeperf.domains.floorplan import env, generate, netlist

    if key.startswith("floorplan/"):
        return env.Board(generate.GENERATORS[key.split("/", 1)[1]](0))
    return env.Board(netlist.load(key))


def board(domain_id: str):
    """The (cached) Board of a domain id: floorplan/NAME or floorplan:PATH."""
    if domain_id in DESCRIPTIONS:
        return _board(domain_id)
    if domain_id.startswith("floorplan:"):
        return _board(str(Path(domain_id[len("floorplan:") :]).resolve()))
    raise BadInput(f"unknown floorplan domain '{domain_id}'; known: {', '.join(DESCRIPTIONS)}, floorplan:PATH")


def make_env(domain_id: str, seed: int | None = None, **options):
    from edgeperf.domains.floorplan.env import FloorplanEnv

    b = board(domain_id)
    return FloorplanEnv(b.netlist, b, seed=seed, **options)


def domain(domain_id: str) -> Domain:
    b = board(domain_id)  # a bad netlist file fails here, once, with its one line

    def make(seed: int, **options):
        env = make_env(domain_id, seed=seed, **options)
        env.action_space.seed(seed)
        return env

    named = domain_id in DESCRIPTIONS
    n = b.netlist
    return Domain(
        id=domain_id,
        description=DESCRIPTIONS.get(domain_id)
        or f"macro placement, {n.name} ({n.n_macros} macros, {n.n_clusters} clusters, {n.columns} x {n.rows} grid)",
        make_env=make,
        control_hz=CONTROL_HZ,
        equivalence_margin=EQUIVALENCE_MARGIN,
        reference=f"reference:{domain_id}" if named else None,
        success_rule=SUCCESS_RULE,
        episode_s=None,
    )


METHODS = ("imitation", "ppo")


def _split(spec: str) -> tuple[str, str]:
    """ "floorplan/ariane-like" -> (id, "imitation"); "floorplan/ariane-like+ppo" -> (id, "ppo")."""
    domain_id, _, method = spec.partition("+")
    method = method or "imitation"
    if method not in METHODS:
        raise BadInput(f"reference:{spec}: unknown learner '{method}'; known: " + ", ".join(f"+{m}" for m in METHODS))
    return domain_id, method


def load_reference(spec: str):
    """The bundled placement network of a named domain (`floorplan/toy`, `floorplan/ariane-like`; `+ppo` for the
    PPO-trained one): a torch module, observation -> cell index (float32)."""
    from edgeperf.domains.floorplan.policy import load_reference as _load

    return _load(*_split(spec))


def obs_shape(spec: str) -> tuple[int, int, int]:
    from edgeperf.domains.floorplan.env import CHANNELS

    n = board(_split(spec)[0]).netlist
    return (CHANNELS, n.rows, n.columns)
