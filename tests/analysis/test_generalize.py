"""Generalization across tasks, run for real (gymnasium Pendulum at two gravities; the bundled quadruped policy
over the four quadruped tasks in the slow suite)."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("gymnasium")
pytest.importorskip("torch")

HEAVY = "tests.analysis.pendulum_tasks:pendulum-g12"
TASKS = ["gym:Pendulum-v1", HEAVY]


def _zero_policy(path):
    """An ONNX policy that always pushes 0 (it never swings up): obs [N, 3] -> obs @ 0."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.zeros((3, 1), np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["action"])],
        "zero",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["N", 1])],
        [w],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_reference_on_its_own_tasks_pairs_episode_for_episode():
    from edgeperf.analysis.generalize import generalize

    report = generalize("reference:gym:Pendulum-v1", TASKS, episodes=3, workers=1)
    tasks = report.results["tasks"]
    assert [t["domain"]["id"] for t in tasks] == TASKS
    for t in tasks:
        # The policy is its task's reference, seed for seed: the paired difference is exactly 0.
        assert t["versus_reference"]["mean_return_difference"] == 0.0
        assert t["policy"]["success_rate"] == t["reference"]["success_rate"]
    # Heavier gravity is another task: the same seeds give other returns.
    assert tasks[0]["policy"]["return"]["mean"] != tasks[1]["policy"]["return"]["mean"]
    agg = report.results["aggregate"]
    assert agg["sum_of_mean_returns"] == pytest.approx(sum(t["policy"]["return"]["mean"] for t in tasks))


def test_cli_a_policy_that_fails_reads_against_the_reference(tmp_path, cli):
    model = _zero_policy(tmp_path / "zero.onnx")
    out = tmp_path / "gen.json"
    r = cli("generalize", model, "--domains", ",".join(TASKS), "-n", "2", "--workers", "1", "--json", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    assert doc["schema"] == "edgeperf.generalize/1"
    for t in doc["results"]["tasks"]:
        assert t["policy"]["success_rate"] == 0.0 and len(t["policy"]["success_ci95"]) == 2
        assert t["reference"]["success_rate"] == 1.0  # the bundled swing-up policy succeeds on both
        assert t["versus_reference"]["success_rate_difference"] == -1.0
        assert t["versus_reference"]["mean_return_difference"] < 0
    assert "sum of mean returns over 2 tasks" in " ".join(r.out.split())


def test_cost_by_the_checkpoint_rule(tmp_path):
    from edgeperf.analysis import datacost
    from edgeperf.results.report import Report

    def measure(path, energy):
        rep = Report.new("measure", {})
        rep.results = {"wall_s": 1.0, "power": {"source": "rapl", "estimate": False, "total": {"energy_J": energy}}}
        rep.write(path)
        return str(path)

    train, data = measure(tmp_path / "t.json", 1200.0), measure(tmp_path / "d.json", 50.0)
    cost, missing = datacost.cost(training=train, checkpoint="3/8", data=data, samples=10_000)
    assert missing == {}
    assert cost["training"]["checkpoint_energy_J"] == 450.0  # 3/8 of 1200 J
    assert cost["data"]["per_sample_J"] == 0.005
    assert cost["total_J"] == 500.0 and cost["estimate"] is False
    # A measure report without energy: the cost is unmeasured with its reason, not 0.
    rep = Report.new("measure", {})
    rep.results, rep.unmeasured = {"wall_s": 1.0}, {"energy": "no power source on this machine"}
    rep.write(tmp_path / "none.json")
    cost, missing = datacost.cost(training=str(tmp_path / "none.json"), checkpoint="1/2")
    assert "checkpoint_energy_J" not in cost["training"] and "total_J" not in cost
    assert "no power source" in missing["cost.training"]


@pytest.mark.slow
def test_bundled_trot_policy_over_the_quadruped_tasks(tmp_path, cli):
    # The bar: the bundled trot policy over trot, pace, spin and trot-push (2 episodes each: ~2 min).
    tasks = ["quadruped/trot", "quadruped/pace", "quadruped/spin", "quadruped/trot-push"]
    out = tmp_path / "gen.json"
    r = cli("generalize", "reference:quadruped/trot", "--domains", ",".join(tasks), "-n", "2", "--json", out)
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    assert [t["domain"]["id"] for t in doc["results"]["tasks"]] == tasks
    for t in doc["results"]["tasks"]:
        assert "success_rate" in t["policy"] and "success_rate" in t["reference"]
