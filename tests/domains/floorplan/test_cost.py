"""The proxy cost's terms against values worked out by hand (to 1e-9), on tiny netlists read from both formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeperf.domains.floorplan import cost, netlist

TOL = 1e-9

# Canvas 100 x 50, grid 10 x 5: cells are 10 x 10. One routing track per micron, macros block half of them.
CANVAS = {
    "width": 100,
    "height": 50,
    "columns": 10,
    "rows": 5,
    "routes_per_micron": [1, 1],
    "macro_routing_allocation": [0.5, 0.5],
}


def make(macros=(), clusters=(), ports=(), nets=(), tmp_path=None) -> netlist.Netlist:
    doc = {
        "format": netlist.FORMAT,
        "name": "t",
        "canvas": CANVAS,
        "macros": list(macros),
        "clusters": list(clusters),
        "ports": list(ports),
        "nets": list(nets),
    }
    n = netlist.from_json(json.dumps(doc), "t.json")
    if macros:
        netlist.check(n)
    return n


A = {"name": "A", "width": 10, "height": 10, "x": 15, "y": 15}  # exactly cell (col 1, row 1)
C = {"name": "C", "width": 4, "height": 5, "x": 60, "y": 25}  # across cells (5, 2) and (6, 2)
P = {"name": "P", "x": 0, "y": 40}


def test_wirelength_is_weighted_hpwl_over_weighted_canvas_half_perimeter():
    n = make(
        [A], [C], [P], [{"weight": 2, "pins": [["A", 5, 0], ["P"]]}, {"weight": 1, "pins": [["P"], ["C"], ["A", 5, 0]]}]
    )
    xy = n.node_xy(n.macro_xy)
    # net 1: pin (20, 15) to (0, 40): 20 + 25 = 45, x2; net 2: x 0..60, y 15..40: 85. (2 + 1) x (100 + 50) = 450.
    assert cost.hpwl(n, xy) == pytest.approx([45, 85], abs=TOL)
    assert abs(cost.wirelength_cost(n, xy) - 175 / 450) < TOL


def test_density_is_half_the_mean_of_the_densest_tenth():
    n = make([A], [C], [P], [{"pins": [["A"], ["P"]]}])
    d = cost.density_map(n, n.macro_xy, n.cluster_xy)
    assert d.shape == (5, 10)
    assert d[1, 1] == pytest.approx(1.0, abs=TOL)  # the macro fills its cell
    assert d[2, 5] == pytest.approx(0.1, abs=TOL) and d[2, 6] == pytest.approx(0.1, abs=TOL)  # 2 x 5 of 100 each
    assert d.sum() == pytest.approx(1.2, abs=TOL)
    # 50 cells: the top 5 are 1, 0.1, 0.1, 0, 0 -> mean 0.24 -> x 0.5
    assert abs(cost.density_cost(n, n.macro_xy, n.cluster_xy) - 0.12) < TOL


def test_top_mean_takes_the_floor_of_ten_percent_and_at_least_one():
    assert cost.top_mean(np.arange(85.0)) == pytest.approx(np.mean(np.arange(77.0, 85.0)), abs=TOL)  # k = 8
    assert cost.top_mean(np.array([3.0, 1.0])) == 3.0  # k = max(1, 0)


def test_two_pin_net_is_an_l_across_the_boundaries_it_crosses():
    # ports in cells (col 1, row 1) and (col 4, row 3): horizontal along row 1 over boundaries 1|2, 2|3, 3|4,
    # then vertical along column 4 over boundaries 1|2, 2|3.
    n = make(
        ports=[{"name": "S", "x": 15, "y": 15}, {"name": "T", "x": 45, "y": 35}],
        nets=[{"weight": 2, "pins": [["S"], ["T"]]}],
    )
    h, v = cost.routing_demand(n, n.node_xy(n.macro_xy))
    assert h.shape == (5, 9) and v.shape == (4, 10)
    want_h = np.zeros((5, 9))
    want_h[1, 1:4] = 2
    want_v = np.zeros((4, 10))
    want_v[1:3, 4] = 2
    np.testing.assert_allclose(h, want_h, atol=TOL)
    np.testing.assert_allclose(v, want_v, atol=TOL)


def test_three_pins_are_two_ls_by_column_and_more_a_star_from_the_driver():
    ports = [{"name": "P0", "x": 75, "y": 5}, {"name": "P1", "x": 5, "y": 25}, {"name": "P2", "x": 35, "y": 45}]
    n = make(ports=ports, nets=[{"pins": [["P0"], ["P1"], ["P2"]]}])
    h, v = cost.routing_demand(n, n.node_xy(n.macro_xy))
    # by column: P1 (c0 r2) -> P2 (c3 r4) -> P0 (c7 r0). L1: row 2 over 0|1..2|3, column 3 over rows 2|3, 3|4.
    # L2: row 4 over 3|4..6|7, column 7 over rows 0|1 .. 3|4.
    want_h = np.zeros((5, 9))
    want_h[2, 0:3] += 1
    want_h[4, 3:7] += 1
    want_v = np.zeros((4, 10))
    want_v[2:4, 3] += 1
    want_v[0:4, 7] += 1
    np.testing.assert_allclose(h, want_h, atol=TOL)
    np.testing.assert_allclose(v, want_v, atol=TOL)
    star = [{"name": f"S{i}", "x": x, "y": y} for i, (x, y) in enumerate([(5, 5), (25, 5), (5, 25), (5, 5)])]
    n = make(ports=star, nets=[{"pins": [["S0"], ["S1"], ["S2"], ["S3"]]}])
    h, v = cost.routing_demand(n, n.node_xy(n.macro_xy))
    # driver S0 in (c0 r0): to S1 (c2 r0) over 0|1, 1|2; to S2 (c0 r2) over rows 0|1, 1|2; S3 shares its cell.
    want_h = np.zeros((5, 9))
    want_h[0, 0:2] = 1
    want_v = np.zeros((4, 10))
    want_v[0:2, 0] = 1
    np.testing.assert_allclose(h, want_h, atol=TOL)
    np.testing.assert_allclose(v, want_v, atol=TOL)


def test_congestion_adds_macro_blockage_over_capacity_and_takes_the_top_tenth():
    wide = {"name": "W", "width": 20, "height": 10, "x": 20, "y": 15}  # x 10..30 spans boundary x = 20 in row 1
    n = make(
        [wide],
        [],
        [{"name": "S", "x": 15, "y": 15}, {"name": "T", "x": 45, "y": 35}],
        [{"weight": 2, "pins": [["S"], ["T"]]}],
    )
    bh, bv = cost.macro_blockage(n, n.macro_xy)
    want = np.zeros((5, 9))
    want[1, 1] = 0.5 * 10  # half a track per micron over the 10 microns of the boundary it covers
    np.testing.assert_allclose(bh, want, atol=TOL)
    np.testing.assert_allclose(bv, 0, atol=TOL)  # y 10..20 spans no horizontal boundary strictly
    h, _ = cost.congestion_maps(n, n.macro_xy, n.cluster_xy)
    assert h[1, 1] == pytest.approx((2 + 5) / 10, abs=TOL)  # capacity 1 track/micron x 10 microns
    # 45 + 40 = 85 boundaries, k = 8: values 0.7, 0.2 x 4, then zeros
    assert abs(cost.congestion_cost(n, n.macro_xy, n.cluster_xy) - (0.7 + 4 * 0.2) / 8) < TOL
    # a macro exactly on its cell spans no boundary: it blocks nothing
    bh, bv = cost.macro_blockage(make([A]), make([A]).macro_xy)
    assert not bh.any() and not bv.any()


def test_force_directed_moves_a_cluster_to_the_weighted_centroid_of_its_nets():
    ports = [{"name": "P0", "x": 0, "y": 0}, {"name": "P1", "x": 100, "y": 50}]
    cl = {"name": "C", "width": 2, "height": 2, "x": 50, "y": 25}
    n = make([A], [cl], ports, [{"weight": 1, "pins": [["C"], ["P0"]]}, {"weight": 3, "pins": [["P1"], ["C"]]}])
    np.testing.assert_allclose(cost.force_directed(n, n.macro_xy, iterations=1), [[75, 37.5]], atol=TOL)
    # pulled to a corner, it stays inside the canvas by its half size
    n = make([A], [cl], ports, [{"pins": [["C"], ["P0"]]}])
    np.testing.assert_allclose(cost.force_directed(n, n.macro_xy), [[1, 1]], atol=TOL)


def test_proxy_is_wirelength_plus_density_plus_half_congestion():
    n = make(
        [A], [C], [P], [{"weight": 2, "pins": [["A", 5, 0], ["P"]]}, {"weight": 1, "pins": [["P"], ["C"], ["A", 5, 0]]}]
    )
    terms = cost.proxy_cost(n, n.macro_xy, place_clusters=False)
    assert abs(terms["wirelength"] - 175 / 450) < TOL
    assert abs(terms["density"] - 0.12) < TOL
    assert abs(terms["proxy"] - (terms["wirelength"] + terms["density"] + 0.5 * terms["congestion"])) < TOL
    # the congestion by hand: net 1 from (c2 r1) to (c0 r4): row 1 over 0|1, 1|2 (x2); column 0 over rows 1|2 ..
    # 3|4 (x2). net 2 (3 pins, by column P (c0 r4), A pin (c2 r1), C (c6 r2)): row 4 over 0|1, 1|2; column 2 over
    # rows 1|2 .. 3|4; row 1 over 2|3 .. 5|6; column 6 over 1|2. Capacity 10: values 0.2 x 5, 0.1 x 10 -> top 8
    assert abs(terms["congestion"] - (5 * 0.2 + 3 * 0.1) / 8) < TOL


PBTXT = """# FP bbox: {0.0 0.0} {100.0 50.0}
# Columns : 10 Rows : 5
# Routes per micron, hor : 1 ver : 1
# Routes used by macros, hor : 0.5 ver : 0.5
node {
  name: "A"
  attr { key: "type" value { placeholder: "MACRO" } }
  attr { key: "width" value { f: 10 } }
  attr { key: "height" value { f: 10 } }
  attr { key: "x" value { f: 15 } }
  attr { key: "y" value { f: 15 } }
}
node {
  name: "A/p"
  input: "P"
  attr { key: "type" value { placeholder: "MACRO_PIN" } }
  attr { key: "macro_name" value { placeholder: "A" } }
  attr { key: "x_offset" value { f: 5 } }
  attr { key: "y_offset" value { f: 0 } }
  attr { key: "weight" value { f: 2 } }
}
node {
  name: "C"
  attr { key: "type" value { placeholder: "macro" } }
  attr { key: "width" value { f: 4 } }
  attr { key: "height" value { f: 5 } }
  attr { key: "x" value { f: 60 } }
  attr { key: "y" value { f: 25 } }
}
node {
  name: "P"
  input: "C"
  input: "A/p"
  attr { key: "type" value { placeholder: "PORT" } }
  attr { key: "side" value { placeholder: "LEFT" } }
  attr { key: "x" value { f: 0 } }
  attr { key: "y" value { f: 40 } }
}
"""


def test_circuit_training_pbtxt_reads_to_the_same_netlist_and_costs(tmp_path):
    path = tmp_path / "netlist.pb.txt"
    path.write_text(PBTXT)
    n = netlist.load(path)
    assert (n.width, n.height, n.columns, n.rows) == (100, 50, 10, 5)
    assert n.macro_names == ["A"] and n.cluster_names == ["C"] and n.port_names == ["P"]
    assert n.net_weight.tolist() == [2.0, 1.0]
    terms = cost.proxy_cost(n, n.macro_xy, place_clusters=False)
    assert abs(terms["wirelength"] - 175 / 450) < TOL
    assert abs(terms["density"] - 0.12) < TOL
    # an unclustered standard cell (type STDCELL, as circuit_training's toy netlists have) is a cluster of one
    path.write_text(PBTXT.replace('placeholder: "macro"', 'placeholder: "STDCELL"'))
    assert cost.proxy_cost(netlist.load(path), n.macro_xy, place_clusters=False) == terms
    # and our JSON writer round-trips it
    again = netlist.from_json(json.dumps(n.to_json()), "again.json")
    assert cost.proxy_cost(again, again.macro_xy, place_clusters=False) == terms
