"""Seeded synthetic netlists: `toy` (as circuit_training's toy_macro_stdcell) and `ariane_like` (Ariane-sized).

How a netlist is drawn (numpy's default_rng(seed), so a seed gives the same netlist on every machine):
every node gets a hidden location (macros and clusters uniform on the canvas, ports uniform on its boundary);
each net's driver is a random node and its sinks are drawn among the driver's nearest nodes in that hidden
layout (so a good placement exists: the hidden one, up to overlaps), its degree 2 + a geometric draw, capped;
a net that touches a macro uses one of that macro's pins, spread over its boundary. Clusters start at their
hidden location plus noise (the global placement circuit_training's initial.plc carries); macros are unplaced.
"""

from __future__ import annotations

import numpy as np

from edgeperf.domains.floorplan.netlist import Netlist, check

NEAREST = 16  # sinks are drawn among this many nearest nodes of the driver


def synthetic(  # noqa: PLR0913 - one keyword-only knob per statistic of the netlist it draws
    name: str,
    seed: int,
    *,
    width: float,
    height: float,
    columns: int,
    rows: int,
    macro_shapes: list[tuple[float, float]],
    n_macros: int,
    n_clusters: int,
    cluster_area: float,
    n_ports: int,
    nets_per_node: float,
    pins_per_macro: int,
    max_degree: int = 8,
) -> Netlist:
    rng = np.random.default_rng(seed)
    shapes = np.asarray(macro_shapes, dtype=np.float64)
    macro_size = shapes[rng.integers(0, len(shapes), n_macros)]
    side = np.sqrt(cluster_area)
    cluster_size = np.full((n_clusters, 2), side)
    hidden = np.concatenate(
        [rng.uniform([0, 0], [width, height], (n_macros + n_clusters, 2)), _boundary(rng, n_ports, width, height)]
    )
    cluster_xy = np.clip(
        hidden[n_macros : n_macros + n_clusters] + rng.normal(0, 0.05 * min(width, height), (n_clusters, 2)),
        side / 2,
        [width - side / 2, height - side / 2],
    )
    n_nodes = len(hidden)
    dist = np.linalg.norm(hidden[:, None, :] - hidden[None, :, :], axis=2)
    np.fill_diagonal(dist, np.inf)
    near = np.argsort(dist, axis=1)[:, :NEAREST]
    # each macro's pins: evenly around its boundary (offsets from its centre)
    t = (np.arange(pins_per_macro) + 0.5) / pins_per_macro
    pin_offsets = []
    for w, h in macro_size:
        pin_offsets.append(np.array([_perimeter_point(u, w, h) for u in t]))
    n_nets = round(nets_per_node * n_nodes)
    drivers = rng.integers(0, n_nodes, n_nets)
    # every macro drives at least one net, so that none is unconnected
    drivers[:n_macros] = np.arange(n_macros)
    degrees = np.minimum(2 + rng.geometric(0.5, n_nets) - 1, max_degree)
    starts, nodes, offsets = [0], [], []
    for d, deg in zip(drivers, degrees, strict=True):
        sinks = rng.choice(near[d], size=deg - 1, replace=False)
        for node in (d, *sinks):
            nodes.append(node)
            offsets.append(pin_offsets[node][rng.integers(pins_per_macro)] if node < n_macros else (0.0, 0.0))
        starts.append(len(nodes))
    netlist = Netlist(
        name=name,
        width=float(width),
        height=float(height),
        columns=columns,
        rows=rows,
        macro_names=[f"M{i}" for i in range(n_macros)],
        macro_size=macro_size,
        macro_xy=np.full((n_macros, 2), np.nan),
        macro_fixed=np.zeros(n_macros, dtype=bool),
        cluster_names=[f"C{i}" for i in range(n_clusters)],
        cluster_size=cluster_size,
        cluster_xy=cluster_xy,
        port_names=[f"P{i}" for i in range(n_ports)],
        port_xy=hidden[n_macros + n_clusters :],
        net_weight=np.ones(n_nets),
        net_start=np.array(starts, dtype=np.int64),
        pin_node=np.array(nodes, dtype=np.int64),
        pin_offset=np.array(offsets, dtype=np.float64),
        source=f"generated: {name}, seed {seed}",
    )
    check(netlist)
    return netlist


def _boundary(rng, n, width, height) -> np.ndarray:
    u = rng.uniform(0, 2 * (width + height), n)
    points = np.array([_perimeter_point(v / (2 * (width + height)), width, height) for v in u])
    return points + np.array([width / 2, height / 2])


def _perimeter_point(u: float, w: float, h: float) -> tuple[float, float]:
    """A point at fraction u of the way round a w x h rectangle centred at 0 (counter-clockwise from the
    lower-left corner)."""
    s = u * 2 * (w + h)
    if s < w:
        return (s - w / 2, -h / 2)
    if s < w + h:
        return (w / 2, s - w - h / 2)
    if s < 2 * w + h:
        return (w / 2 - (s - w - h), h / 2)
    return (-w / 2, h / 2 - (s - 2 * w - h))


def toy(seed: int = 0) -> Netlist:
    """2 macros, 12 clusters, 12 ports on a 200 x 100 micron canvas, 20 x 10 grid."""
    return synthetic(
        "toy",
        seed,
        width=200.0,
        height=100.0,
        columns=20,
        rows=10,
        macro_shapes=[(30.0, 40.0)],
        n_macros=2,
        n_clusters=12,
        cluster_area=60.0,
        n_ports=12,
        nets_per_node=1.5,
        pins_per_macro=4,
    )


def ariane_like(seed: int = 0) -> Netlist:
    """133 macros, 800 clusters, 100 ports on a 350 x 330 micron canvas, 35 x 33 grid (Ariane's sizes)."""
    return synthetic(
        "ariane-like",
        seed,
        width=350.0,
        height=330.0,
        columns=35,
        rows=33,
        macro_shapes=[(14.0, 18.0), (18.0, 14.0), (16.0, 16.0), (12.0, 24.0), (24.0, 12.0), (10.0, 10.0)],
        n_macros=133,
        n_clusters=800,
        cluster_area=45.0,
        n_ports=100,
        nets_per_node=3.0,
        pins_per_macro=8,
    )


GENERATORS = {"toy": toy, "ariane-like": ariane_like}
