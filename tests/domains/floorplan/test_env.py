"""The placement env: feasibility mask by hand, observation contract, outcome, the domain ids and registry."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeperf.domains import base
from edgeperf.domains.floorplan import cost, expert, generate, netlist

pytest.importorskip("gymnasium")

from edgeperf.domains.floorplan.env import INFEASIBLE_COST, FloorplanEnv

CANVAS = {"width": 100, "height": 50, "columns": 10, "rows": 5}


def small(tmp_path=None) -> netlist.Netlist:
    doc = {
        "format": netlist.FORMAT,
        "name": "small",
        "canvas": CANVAS,
        "macros": [{"name": "B", "width": 10, "height": 10}, {"name": "A", "width": 20, "height": 10}],
        "clusters": [{"name": "C", "width": 5, "height": 5, "x": 80, "y": 20}],
        "ports": [{"name": "P", "x": 0, "y": 25}],
        "nets": [{"pins": [["A", 10, 0], ["P"]]}, {"pins": [["B"], ["C"], ["A"]]}],
    }
    return netlist.from_json(json.dumps(doc), "small.json")


def test_macros_go_largest_first_and_the_mask_is_worked_out_by_hand():
    env = FloorplanEnv(small())
    assert env.board.order.tolist() == [1, 0]  # A (200 um^2) before B (100)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (7, 5, 10) and obs.dtype == np.float32 and obs.min() >= 0 and obs.max() <= 1
    # A (20 wide) fits with its centre on columns 1..8 (x 15..85), any row
    want = np.zeros((5, 10), bool)
    want[:, 1:9] = True
    np.testing.assert_array_equal(obs[1] == 1, want)
    np.testing.assert_array_equal(env.action_masks(), want.ravel())
    assert obs[4, 0, 0] == pytest.approx(0.2) and obs[5, 0, 0] == pytest.approx(0.2) and obs[6, 0, 0] == 0
    # A on row 2, column 4: centre (45, 25), x 35..55, y 20..30
    obs, reward, done, _, _ = env.step(np.array([2 * 10 + 4], np.float32))
    assert not done and reward == 0
    np.testing.assert_allclose(env.macro_xy[1], [45, 25])
    # B (10 x 10) overlaps A where |x - 45| < 15 and |y - 25| < 10: columns 3..5 of row 2; rows 1 and 3 touch only
    want = np.ones((5, 10), bool)
    want[2, 3:6] = False
    np.testing.assert_array_equal(obs[1] == 1, want)
    np.testing.assert_allclose(obs[0][2, 3:6], [0.5, 1, 0.5])  # A covers half of columns 3 and 5
    assert obs[6, 0, 0] == pytest.approx(0.5)
    # B's nets reach C (cell row 2, col 8) and A's centre pin (row 2, col 4), one weight each
    assert obs[2][2, 8] == 1 and obs[2][2, 4] == 1 and obs[2].sum() == 2


def test_the_final_reward_is_minus_the_proxy_cost_of_the_placement():
    n = small()
    env = FloorplanEnv(n)
    env.reset()
    env.step(np.array([24.0], np.float32))
    _, reward, done, _, info = env.step(np.array([0.0], np.float32))
    assert done and info["success"] is True and info["failure_reason"] == ""
    terms = cost.proxy_cost(n, np.array([[5.0, 5.0], [45.0, 25.0]]))
    assert reward == pytest.approx(-terms["proxy"], abs=1e-12)
    assert info["metrics"] == pytest.approx(terms)


def test_an_infeasible_cell_ends_the_episode_as_a_failure():
    env = FloorplanEnv(small())
    env.reset()
    _, reward, done, _, info = env.step(np.array([0.0], np.float32))  # column 0: A would stick out left
    assert done and reward == -INFEASIBLE_COST and info["success"] is False
    assert "macro A" in info["failure_reason"] and "cell 0" in info["failure_reason"]
    env.reset()
    env.step(np.array([24.0], np.float32))
    _, reward, done, _, info = env.step(np.array([24.0], np.float32))  # B onto A
    assert done and info["success"] is False and "macro B" in info["failure_reason"]


def test_the_discrete_action_space_is_the_same_cells():
    env = FloorplanEnv(small(), discrete=True)
    env.reset()
    assert env.action_space.n == 50
    _, _, done, _, _ = env.step(24)
    assert not done and env.placed[1]


def test_generated_netlists_have_the_stated_sizes_and_are_seeded():
    toy, ariane = generate.toy(), generate.ariane_like()
    assert (toy.n_macros, toy.n_clusters, len(toy.port_names), toy.columns, toy.rows) == (2, 12, 12, 20, 10)
    assert (ariane.n_macros, ariane.n_clusters, ariane.columns, ariane.rows) == (133, 800, 35, 33)
    again = generate.ariane_like()
    np.testing.assert_array_equal(again.pin_node, ariane.pin_node)
    assert not np.array_equal(generate.ariane_like(1).pin_node[:200], ariane.pin_node[:200])
    # every net has a driver and a sink; every macro is on a net
    assert (np.diff(ariane.net_start) >= 2).all()
    assert set(range(ariane.n_macros)) <= set(ariane.pin_node.tolist())


def test_domains_by_name_and_by_netlist_file(tmp_path):
    d = base.make("floorplan/toy")
    assert d.reference == "reference:floorplan/toy" and d.equivalence_margin > 0
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(generate.toy(3).to_json()))
    d = base.make(f"floorplan:{path}")
    env = d.env(0)
    ret, info = expert.play(env, expert.greedy_action)
    assert info["success"] and ret < 0
    assert d.reference is None


def test_greedy_expert_beats_a_random_placer_on_ariane_like():
    env = base.make("floorplan/ariane-like").env(0)
    greedy, info = expert.play(env, expert.greedy_action)
    assert info["success"]
    rng = np.random.default_rng(0)
    randoms = [expert.play(env, lambda e: expert.random_action(e, rng))[0] for _ in range(3)]
    assert all(greedy > r for r in randoms)  # returns: higher is a lower proxy cost
