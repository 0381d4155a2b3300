"""The open proxy cost of a placement: wirelength, density and congestion, each reported, numpy throughout.

After circuit_training's proxy (its plc_wrapper_main is closed; TILOS' plc_client_os re-derived it). Ours, on a
grid of `columns` x `rows` cells of cw x ch microns, pins at node centre + offset:

wirelength   sum over nets of weight x HPWL (half-perimeter of the pins' bounding box), divided by
             sum over nets of weight x (canvas width + canvas height).
density      each cell's occupied area (hard macros and standard-cell clusters, overlaps counted twice) over the
             cell's area; 0.5 x the mean of the densest k = max(1, floor(10% of the cells)) cells.
congestion   routing demand per grid edge, in tracks: each pin sits in the cell holding its position; a net of
             two pins is routed as an L (horizontal along the driver's row, then vertical along the sink's
             column), of three pins as two Ls through the pins sorted by column, of more pins as a star of Ls
             from the driver to each sink. A segment adds the net's weight to every cell boundary it crosses
             (a net inside one cell crosses none). A hard macro blocks `macro_routing_allocation` tracks per
             micron of its extent along every boundary it spans. Demand plus blockage is divided by the
             boundary's capacity (routes_per_micron x the boundary's length); the cost is the mean of the top
             k = max(1, floor(10% of all horizontal and vertical boundaries)) values.
proxy        wirelength + density + 0.5 x congestion (the density term already carries its 0.5); reward = -proxy.

Where we deviate from circuit_training, on purpose: no congestion smoothing (its smooth_range), no separate
top-5% congestion share; L routes and stars on pin cells without its per-case T shapes for three pins; the
density counts every cell; orientations are not modelled (all macros N).

Standard-cell clusters are placed, once the macros are, by `force_directed`: FD_ITERATIONS Jacobi steps of the
star model from their initial locations, each cluster moving to the weight-averaged centroid of the other pins
of its nets, kept inside the canvas. Attraction only (circuit_training's force-directed placer also repels):
clusters crowd where their nets pull them, and the density term sees it.
"""

from __future__ import annotations

import numpy as np

from edgeperf.domains.floorplan.netlist import Netlist

TOP_SHARE = 0.10
DENSITY_WEIGHT = 0.5
CONGESTION_WEIGHT = 0.5
FD_ITERATIONS = 10


def top_mean(values: np.ndarray, share: float = TOP_SHARE) -> float:
    """Mean of the largest max(1, floor(share x n)) values."""
    v = np.ravel(values)
    k = max(1, int(np.floor(share * len(v) + 1e-9)))
    return float(np.partition(v, len(v) - k)[len(v) - k :].mean())


def interval_overlap(lo: np.ndarray, hi: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """(n, bins): the length of [lo_i, hi_i] inside each bin [edges_k, edges_k+1]."""
    return np.clip(np.minimum(hi[:, None], edges[None, 1:]) - np.maximum(lo[:, None], edges[None, :-1]), 0.0, None)


def edges(netlist: Netlist) -> tuple[np.ndarray, np.ndarray]:
    return np.linspace(0.0, netlist.width, netlist.columns + 1), np.linspace(0.0, netlist.height, netlist.rows + 1)


def occupancy(netlist: Netlist, xy: np.ndarray, size: np.ndarray) -> np.ndarray:
    """(rows, cols): the area of the rectangles (centres xy, sizes) inside each cell (an exact matrix product of
    the x and y overlaps)."""
    xe, ye = edges(netlist)
    ox = interval_overlap(xy[:, 0] - size[:, 0] / 2, xy[:, 0] + size[:, 0] / 2, xe)
    oy = interval_overlap(xy[:, 1] - size[:, 1] / 2, xy[:, 1] + size[:, 1] / 2, ye)
    return oy.T @ ox


def density_map(netlist: Netlist, macro_xy: np.ndarray, cluster_xy: np.ndarray) -> np.ndarray:
    cw, ch = netlist.cell
    area = occupancy(netlist, macro_xy, netlist.macro_size)
    if netlist.n_clusters:
        area = area + occupancy(netlist, cluster_xy, netlist.cluster_size)
    return area / (cw * ch)


def density_cost(netlist: Netlist, macro_xy: np.ndarray, cluster_xy: np.ndarray) -> float:
    return DENSITY_WEIGHT * top_mean(density_map(netlist, macro_xy, cluster_xy))


def pin_xy(netlist: Netlist, node_xy: np.ndarray) -> np.ndarray:
    return node_xy[netlist.pin_node] + netlist.pin_offset


def hpwl(netlist: Netlist, node_xy: np.ndarray) -> np.ndarray:
    """(N,) half-perimeter wirelength of each net (microns)."""
    p = pin_xy(netlist, node_xy)
    s = netlist.net_start[:-1]
    span = np.maximum.reduceat(p, s, axis=0) - np.minimum.reduceat(p, s, axis=0)
    return span.sum(axis=1)


def wirelength_cost(netlist: Netlist, node_xy: np.ndarray) -> float:
    w = netlist.net_weight
    return float((w * hpwl(netlist, node_xy)).sum() / (w.sum() * (netlist.width + netlist.height)))


def pin_cells(netlist: Netlist, node_xy: np.ndarray) -> np.ndarray:
    """(K, 2) the (column, row) of each pin's cell; pins on the far edge belong to the last cell."""
    cw, ch = netlist.cell
    p = pin_xy(netlist, node_xy)
    col = np.clip(np.floor(p[:, 0] / cw), 0, netlist.columns - 1)
    row = np.clip(np.floor(p[:, 1] / ch), 0, netlist.rows - 1)
    return np.stack([col, row], axis=1).astype(np.int64)


def route_segments(netlist: Netlist, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Ls of every net: (from pin index, to pin index, weight) arrays."""
    start, w = netlist.net_start, netlist.net_weight
    degree = np.diff(start)
    src, dst, wt = [], [], []
    two = np.flatnonzero(degree == 2)
    src.append(start[two])
    dst.append(start[two] + 1)
    wt.append(w[two])
    three = np.flatnonzero(degree == 3)
    if len(three):
        idx = start[three][:, None] + np.arange(3)[None, :]
        key = cells[idx, 0] * (netlist.rows + 1) + cells[idx, 1]  # by column, then row
        order = np.take_along_axis(idx, np.argsort(key, axis=1, kind="stable"), axis=1)
        src += [order[:, 0], order[:, 1]]
        dst += [order[:, 1], order[:, 2]]
        wt += [w[three], w[three]]
    many = np.flatnonzero(degree > 3)
    if len(many):
        net_of_pin = np.repeat(many, degree[many])
        pins = np.concatenate([np.arange(start[n], start[n + 1]) for n in many])
        sink = pins != start[net_of_pin]
        src.append(start[net_of_pin][sink])
        dst.append(pins[sink])
        wt.append(w[net_of_pin][sink])
    return np.concatenate(src).astype(np.int64), np.concatenate(dst).astype(np.int64), np.concatenate(wt)


def routing_demand(netlist: Netlist, node_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tracks demanded across each boundary: H (rows, cols - 1) between horizontally adjacent cells, V
    (rows - 1, cols) between vertically adjacent ones."""
    cols, rows = netlist.columns, netlist.rows
    cells = pin_cells(netlist, node_xy)
    a, b, w = route_segments(netlist, cells)
    (c1, r1), (c2, r2) = cells[a].T, cells[b].T
    h = np.zeros((rows, cols + 1))
    lo, hi = np.minimum(c1, c2), np.maximum(c1, c2)
    np.add.at(h, (r1, lo), w)  # horizontal leg along the driver's row: boundaries lo .. hi - 1
    np.add.at(h, (r1, hi), -w)
    v = np.zeros((rows + 1, cols))
    lo, hi = np.minimum(r1, r2), np.maximum(r1, r2)
    np.add.at(v, (lo, c2), w)  # vertical leg along the sink's column
    np.add.at(v, (hi, c2), -w)
    return np.cumsum(h, axis=1)[:, : cols - 1], np.cumsum(v, axis=0)[: rows - 1, :]


def macro_blockage(netlist: Netlist, macro_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Tracks the hard macros block on each boundary (same shapes as routing_demand)."""
    xe, ye = edges(netlist)
    size = netlist.macro_size
    xlo, xhi = macro_xy[:, 0] - size[:, 0] / 2, macro_xy[:, 0] + size[:, 0] / 2
    ylo, yhi = macro_xy[:, 1] - size[:, 1] / 2, macro_xy[:, 1] + size[:, 1] / 2
    ox, oy = interval_overlap(xlo, xhi, xe), interval_overlap(ylo, yhi, ye)
    spans_x = (xlo[:, None] < xe[None, 1:-1]) & (xe[None, 1:-1] < xhi[:, None])  # (M, cols - 1)
    spans_y = (ylo[:, None] < ye[None, 1:-1]) & (ye[None, 1:-1] < yhi[:, None])  # (M, rows - 1)
    ah, av = netlist.macro_routing_allocation
    return ah * (oy.T @ spans_x.astype(float)), av * (spans_y.T.astype(float) @ ox)


def congestion_maps(netlist: Netlist, macro_xy: np.ndarray, cluster_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Demand plus blockage over capacity, per boundary: (H, V)."""
    cw, ch = netlist.cell
    dh, dv = routing_demand(netlist, netlist.node_xy(macro_xy, cluster_xy))
    bh, bv = macro_blockage(netlist, macro_xy)
    rh, rv = netlist.routes_per_micron
    return (dh + bh) / (rh * ch), (dv + bv) / (rv * cw)


def congestion_cost(netlist: Netlist, macro_xy: np.ndarray, cluster_xy: np.ndarray) -> float:
    h, v = congestion_maps(netlist, macro_xy, cluster_xy)
    values = np.concatenate([h.ravel(), v.ravel()])
    return top_mean(values) if len(values) else 0.0


def force_directed(netlist: Netlist, macro_xy: np.ndarray, iterations: int = FD_ITERATIONS) -> np.ndarray:
    """The clusters' locations once the macros sit at macro_xy (see the module docstring)."""
    m, c = netlist.n_macros, netlist.n_clusters
    xy = netlist.cluster_xy.copy()
    if c == 0 or len(netlist.net_weight) == 0:
        return xy
    node, net = netlist.pin_node, netlist.pin_net
    count = np.diff(netlist.net_start).astype(np.float64)
    on_cluster = (node >= m) & (node < m + c)
    cl_pin, cl_net = node[on_cluster] - m, net[on_cluster]
    weight = netlist.net_weight[cl_net]
    total = np.bincount(cl_pin, weights=weight, minlength=c)
    moves = total > 0
    half = netlist.cluster_size / 2
    lo, hi = half, np.array([netlist.width, netlist.height]) - half
    for _ in range(iterations):
        p = pin_xy(netlist, netlist.node_xy(macro_xy, xy))
        sums = np.stack([np.bincount(net, weights=p[:, k], minlength=len(count)) for k in (0, 1)], axis=1)
        others = (sums[cl_net] - p[on_cluster]) / (count[cl_net] - 1)[:, None]
        target = np.stack([np.bincount(cl_pin, weights=weight * others[:, k], minlength=c) for k in (0, 1)], axis=1)
        xy[moves] = np.clip(target[moves] / total[moves, None], lo[moves], hi[moves])
    return xy


def proxy_cost(netlist: Netlist, macro_xy: np.ndarray, place_clusters: bool = True) -> dict:
    """Every term of the proxy cost for a macro placement (clusters placed by force_directed first)."""
    cluster_xy = force_directed(netlist, macro_xy) if place_clusters else netlist.cluster_xy
    wl = wirelength_cost(netlist, netlist.node_xy(macro_xy, cluster_xy))
    density = density_cost(netlist, macro_xy, cluster_xy)
    congestion = congestion_cost(netlist, macro_xy, cluster_xy)
    return {
        "wirelength": wl,
        "density": density,
        "congestion": congestion,
        "proxy": wl + density + CONGESTION_WEIGHT * congestion,
    }
