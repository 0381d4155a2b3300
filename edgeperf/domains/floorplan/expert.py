"""Placers that read the env (privileged, not the observation): the greedy wirelength expert and a random placer.

Greedy: the current macro goes to the feasible cell that adds the least weighted HPWL to its nets, counting the
pins whose location is known (placed or fixed macros, ports, clusters at their initial locations); a net with
no known pin yet costs nothing. Per net and per own pin, HPWL is separable in x and y, so the cost of every cell
is a (columns,) and a (rows,) vector added: one numpy pass per step. Ties go to the lowest cell index.
"""

from __future__ import annotations

import numpy as np


def greedy_action(env) -> int:
    """The greedy expert's cell for the env's current macro."""
    cost = np.where(env.unwrapped._mask, _cost_map(env), np.inf).ravel()
    return int(np.argmin(cost))


def _cost_map(env) -> np.ndarray:
    """(rows, cols): the weighted HPWL the current macro adds to its nets, centred on each cell."""
    e = env.unwrapped
    n, board = e.netlist, e.board
    m = e.current
    mask = e._mask
    node, net = n.pin_node, n.pin_net
    own = np.flatnonzero(node == m)
    pins, _ = board.partners[m]
    known = np.concatenate([e.placed, np.ones(n.n_clusters + len(n.port_names), dtype=bool)])
    pins = pins[known[node[pins]]]
    cost = np.zeros(mask.shape)
    if len(pins) and len(own):
        node_xy = n.node_xy(np.nan_to_num(e.macro_xy))
        p = node_xy[node[pins]] + n.pin_offset[pins]
        nets, inv = np.unique(net[pins], return_inverse=True)
        lo = np.full((len(nets), 2), np.inf)
        hi = np.full((len(nets), 2), -np.inf)
        np.minimum.at(lo, inv, p)
        np.maximum.at(hi, inv, p)
        slot = {int(k): i for i, k in enumerate(nets)}
        for pin in own:  # a macro has a handful of pins
            i = slot.get(int(net[pin]))
            if i is None:
                continue
            w = n.net_weight[net[pin]]
            px = board.cx + n.pin_offset[pin, 0]
            py = board.cy + n.pin_offset[pin, 1]
            cx = np.maximum(hi[i, 0], px) - np.minimum(lo[i, 0], px)
            cy = np.maximum(hi[i, 1], py) - np.minimum(lo[i, 1], py)
            cost += w * (cy[:, None] + cx[None, :])
    return cost


def random_action(env, rng: np.random.Generator) -> int:
    """A uniformly random feasible cell."""
    return int(rng.choice(np.flatnonzero(env.unwrapped.action_masks())))


def play(env, choose) -> tuple[float, dict]:
    """One episode with choose(env) -> cell index; (return, final info)."""
    env.reset()
    total = 0.0
    while True:
        _, reward, terminated, truncated, info = env.step(np.array([choose(env)], dtype=np.float32))
        total += reward
        if terminated or truncated:
            return total, info
