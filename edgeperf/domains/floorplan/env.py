"""The macro placement environment (gymnasium API): one hard macro per step, largest first, onto a grid cell.

Action: the index of a grid cell, row x columns + column (row 0 at the bottom), as one float32 value (Box of
shape (1,), rounded); the macro's centre goes to the cell's centre. With discrete=True the action space is
Discrete(rows x columns) instead (for MaskablePPO) and `action_masks()` gives the feasible cells.

A cell is feasible for the current macro when the macro, centred there, lies inside the canvas and overlaps
no macro placed before (fixed macros included; touching edges is not overlapping). An infeasible action, or a
macro left with no feasible cell, ends the episode: reward -INFEASIBLE_COST, info["success"] False and the
reason in info["failure_reason"].

Observation (float32, shape (7, rows, columns), every value in [0, 1], row 0 at the bottom):

    [0] macro density: the share of each cell covered by macros placed so far (fixed ones included)
    [1] feasibility mask of the current macro (1 = it may go there); the bundled networks mask with it
    [2] the current macro's net connectivity: per cell, the summed weight of the pins it shares a net with
        whose location is known (placed or fixed macros, ports, clusters at their initial locations),
        divided by the largest cell's value
    [3] standard-cell density at the clusters' initial locations, clipped to 1 (static)
    [4] the current macro's width / canvas width      } the current node's features, as constant planes
    [5] the current macro's height / canvas height    }
    [6] the share of the macros placed so far         }

Reward: 0 per step; at the end -(wirelength + density + 0.5 x congestion) (cost.proxy_cost), the terms in
info["metrics"] with "proxy". The episode is deterministic given the actions (the seed seeds only the action
space's sampling).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from edgeperf.domains.floorplan import cost
from edgeperf.domains.floorplan.netlist import EPS, Netlist
from edgeperf.errors import require

gym = require("gymnasium", "sim", "for the floorplan domain")

CHANNELS = 7
INFEASIBLE_COST = 10.0


class Board:
    """What every episode on one netlist shares: the placement order, cell centres, each macro's net partners."""

    def __init__(self, netlist: Netlist):
        self.netlist = n = netlist
        self.order = n.placement_order()
        cw, ch = n.cell
        self.cx = (np.arange(n.columns) + 0.5) * cw
        self.cy = (np.arange(n.rows) + 0.5) * ch
        node, net = n.pin_node, n.pin_net
        self.partners = {}  # macro -> (pin indices of other nodes on its nets, their weights)
        for m in self.order:
            nets = np.unique(net[node == m])
            pins = np.flatnonzero(np.isin(net, nets) & (node != m))
            self.partners[int(m)] = (pins, n.net_weight[net[pins]])
        self.cluster_density = (
            np.clip(cost.occupancy(n, n.cluster_xy, n.cluster_size) / (cw * ch), 0, 1)
            if n.n_clusters
            else np.zeros((n.rows, n.columns))
        )

    def mask(self, m: int, macro_xy: np.ndarray, placed: np.ndarray) -> np.ndarray:
        """(rows, cols) bool: where macro m's centre may go."""
        n = self.netlist
        w, h = n.macro_size[m]
        ok_x = (self.cx - w / 2 >= -EPS) & (self.cx + w / 2 <= n.width + EPS)
        ok_y = (self.cy - h / 2 >= -EPS) & (self.cy + h / 2 <= n.height + EPS)
        ok = ok_y[:, None] & ok_x[None, :]
        if placed.any():
            xy, size = macro_xy[placed], n.macro_size[placed]
            bx = np.abs(self.cx[None, :] - xy[:, :1]) < (w + size[:, :1]) / 2 - EPS  # (P, cols)
            by = np.abs(self.cy[None, :] - xy[:, 1:]) < (h + size[:, 1:]) / 2 - EPS  # (P, rows)
            ok &= (by.T.astype(np.float32) @ bx.astype(np.float32)) == 0
        return ok

    def connectivity(self, m: int, node_xy: np.ndarray, known: np.ndarray) -> np.ndarray:
        n = self.netlist
        pins, weights = self.partners[m]
        keep = known[n.pin_node[pins]]
        out = np.zeros((n.rows, n.columns))
        if keep.any():
            p = node_xy[n.pin_node[pins[keep]]] + n.pin_offset[pins[keep]]
            cw, ch = n.cell
            col = np.clip((p[:, 0] // cw).astype(int), 0, n.columns - 1)
            row = np.clip((p[:, 1] // ch).astype(int), 0, n.rows - 1)
            np.add.at(out, (row, col), weights[keep])
            out /= out.max()
        return out


class FloorplanEnv(gym.Env):
    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, netlist: Netlist, board: Board | None = None, seed: int | None = None, discrete: bool = False):
        self.netlist = netlist
        self.board = board or Board(netlist)
        self.n_cells = netlist.rows * netlist.columns
        self.observation_space = gym.spaces.Box(0.0, 1.0, (CHANNELS, netlist.rows, netlist.columns), np.float32)
        self.action_space = (
            gym.spaces.Discrete(self.n_cells)
            if discrete
            else gym.spaces.Box(0.0, float(self.n_cells - 1), (1,), np.float32)
        )
        self._seed = seed
        self.reset(seed=seed)

    # -- gymnasium -------------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options=None):
        super().reset(seed=seed)
        n = self.netlist
        self.macro_xy = np.where(n.macro_fixed[:, None], n.macro_xy, np.nan)
        self.placed = n.macro_fixed.copy()
        self.step_k = 0
        self.macro_map = cost.occupancy(n, self.macro_xy[self.placed], n.macro_size[self.placed]) / np.prod(n.cell)
        self._update_mask()
        return self._obs(), {}

    def step(self, action):
        n = self.netlist
        m = self.current
        idx = int(np.rint(float(np.asarray(action, dtype=np.float64).ravel()[0])))
        if not (0 <= idx < self.n_cells) or not self._mask.ravel()[idx]:
            return self._fail(f"macro {n.macro_names[m]} was put on cell {idx}, which is not feasible for it")
        row, col = divmod(idx, n.columns)
        self.macro_xy[m] = (self.board.cx[col], self.board.cy[row])
        self.placed[m] = True
        self.macro_map += cost.occupancy(n, self.macro_xy[m : m + 1], n.macro_size[m : m + 1]) / np.prod(n.cell)
        self.step_k += 1
        if self.step_k == len(self.board.order):
            terms = cost.proxy_cost(n, self.macro_xy)
            info = {"success": True, "failure_reason": "", "metrics": dict(terms), "placement": self.macro_xy.copy()}
            return self._obs(final=True), -terms["proxy"], True, False, info
        self._update_mask()
        if not self._mask.any():
            return self._fail(f"no feasible cell is left for macro {n.macro_names[self.current]}")
        return self._obs(), 0.0, False, False, {}

    def action_masks(self) -> np.ndarray:
        return self._mask.ravel().copy()

    # -- internals -------------------------------------------------------------------------------------------
    @property
    def current(self) -> int:
        return int(self.board.order[min(self.step_k, len(self.board.order) - 1)])

    def _update_mask(self) -> None:
        self._mask = self.board.mask(self.current, self.macro_xy, self.placed)

    def _fail(self, why: str):
        metrics = {"proxy": INFEASIBLE_COST, "macros_placed": float(self.step_k)}
        info = {"success": False, "failure_reason": why, "metrics": metrics}
        return self._obs(final=True), -INFEASIBLE_COST, True, False, info

    def _obs(self, final: bool = False) -> np.ndarray:
        n = self.netlist
        m = self.current
        obs = np.zeros(self.observation_space.shape, dtype=np.float32)
        obs[0] = np.clip(self.macro_map, 0, 1)
        obs[3] = self.board.cluster_density
        obs[6] = self.step_k / len(self.board.order)
        if not final:
            known = np.concatenate([self.placed, np.ones(n.n_clusters + len(n.port_names), dtype=bool)])
            node_xy = n.node_xy(np.nan_to_num(self.macro_xy))
            obs[1] = self._mask
            obs[2] = self.board.connectivity(m, node_xy, known)
            obs[4] = n.macro_size[m, 0] / n.width
            obs[5] = n.macro_size[m, 1] / n.height
        return obs
