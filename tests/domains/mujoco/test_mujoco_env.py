"""The MuJoCo domains for real: the A1 twin against its pybullet original, episodes that end without a crash,
validate's verdicts on a spec domain (a faithful export, a permuted one), and sim2sim."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("pybullet")
pytest.importorskip("onnx")

import onnx

from edgeperf.domains import base
from edgeperf.validation.rollout import Episode
from edgeperf.validation.sim2sim import compare, newcombe
from tests.conftest import FIXTURES

A1_TOML = FIXTURES / "mujoco" / "a1_trot.toml"


def test_twin_meets_the_same_world_as_the_pybullet_quadruped():
    """Same seed, same draws in the same order: the first observation and the episode's world are equal."""
    pb, mj = base.make("quadruped/trot").env(3), base.make("mujoco/a1-trot").env(3)
    try:
        o_pb, _ = pb.reset(seed=3)
        o_mj, _ = mj.reset(seed=3)
        assert np.allclose(o_pb, o_mj, atol=1e-6)
        assert pb.friction == mj.friction and pb.heading0 == mj.heading0 and pb.phase0 == mj.phase0
        assert [t for t, _, _ in pb.push_schedule] == [t for t, _, _ in mj.push_schedule]
        assert mj.base_pos[2] == pytest.approx(0.265)
    finally:
        pb.close()
        mj.close()


def test_twin_reference_walks_and_reports_the_quadruped_outcome():
    torch = pytest.importorskip("torch")
    from edgeperf.domains.quadruped.policy import load_reference

    policy = load_reference("quadruped/trot")
    env = base.make("mujoco/a1-trot").env(0)
    obs, _ = env.reset(seed=0)
    with torch.no_grad():
        while True:
            obs, _, term, trunc, info = env.step(policy(torch.as_tensor(obs)[None]).numpy()[0])
            if term or trunc:
                break
    assert trunc and info["success"], info["failure_reason"]
    assert info["metrics"]["forward_speed"] == pytest.approx(0.5, rel=0.15)
    assert set(info["metrics"]) >= {"lateral_drift", "energy", "tracking_error", "friction"}


def test_standing_still_is_not_success_and_a_fall_ends_the_episode():
    env = base.make(f"mujoco:{A1_TOML}").env(0)
    env.reset(seed=0)
    for _ in range(env.max_steps):
        _, _, term, trunc, info = env.step(np.zeros(12))
        if term or trunc:
            break
    assert not info["success"] and "mean speed along the command" in info["failure_reason"]
    env.reset(seed=0)
    for _ in range(100):  # every joint at its extreme: the A1 collapses
        _, _, term, _, info = env.step(np.full(12, -2.0))
        if term:
            break
    assert term and info["fall"] and info["failure_reason"].startswith("fell")


def test_diverged_simulation_is_a_failure_not_a_crash(tmp_path):
    text = (
        A1_TOML.read_text()
        .replace("kp = 200", "kp = 1e12")
        .replace("torque_limit = 33.5", "torque_limit = 1e15")
        .replace("unitree_rl_gym/", f"{A1_TOML.parent}/unitree_rl_gym/")
    )
    spec = tmp_path / "stiff.toml"
    spec.write_text(text)
    env = base.make(f"mujoco:{spec}").env(0)
    env.reset(seed=0)
    for _ in range(50):
        obs, _, term, _, info = env.step(np.full(12, 1.0))
        if term:
            break
    assert term and not info["success"]
    assert "simulation diverged at t=" in info["failure_reason"]
    assert np.all(np.isfinite(obs))


def test_latency_delays_the_targets():
    env = base.make(f"mujoco:{A1_TOML}").env(0)
    env.reset(seed=0)
    env.action_delay_s = 0.01  # half a control step
    env.step(np.ones(12))
    # the new targets took effect 5 physics steps into the step: the ctrl holds them now
    assert np.allclose(env.data.ctrl[env.b.ctrl], env.default + 0.5)
    env.reset(seed=0)
    env.action_delay_s = 0.04  # two steps: still the initial targets after one step
    q0 = env.data.ctrl[env.b.ctrl].copy()
    env.step(np.ones(12))
    assert np.allclose(env.data.ctrl[env.b.ctrl], q0)


def _permuted(src, dst):
    """The same ONNX with its action joints permuted (left and right legs swapped): a wrong joint map."""
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    out = model.graph.output[0]
    perm = np.array([3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8], dtype=np.int64)
    model.graph.initializer.append(numpy_helper.from_array(perm, "perm_idx"))
    old = out.name
    for node in model.graph.node:
        for i, name in enumerate(node.output):
            if name == old:
                node.output[i] = old + "_raw"
    model.graph.node.append(helper.make_node("Gather", [old + "_raw", "perm_idx"], [old], axis=1))
    onnx.save(model, str(dst))


def test_validate_on_a_spec_domain_faithful_equivalent_permuted_different(cli, tmp_path):
    pytest.importorskip("torch")
    domain = f"mujoco:{A1_TOML}"
    r = cli("export", "reference:quadruped/trot", "-o", tmp_path / "p.onnx", "--domain", domain, "--no-store")
    assert r.code == 0, r.err
    r = cli("validate", tmp_path / "p.onnx", "--domain", domain, "--reference", "reference:quadruped/trot",
            "-n", "4", "--json", tmp_path / "v.json", "--no-store")  # fmt: skip
    assert r.code == 0, r.err + r.out
    assert json.loads((tmp_path / "v.json").read_text())["results"]["paired"]["verdict"] == "equivalent"
    _permuted(tmp_path / "p.onnx", tmp_path / "perm.onnx")
    r = cli("validate", tmp_path / "perm.onnx", "--domain", domain, "--reference", "reference:quadruped/trot",
            "-n", "4", "--json", tmp_path / "w.json", "--no-store")  # fmt: skip
    assert r.code == 1
    assert json.loads((tmp_path / "w.json").read_text())["results"]["paired"]["verdict"] == "different"


def test_observation_size_mismatch_names_each_term(bad, tmp_path):
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Slice", ["obs", "s", "e", "a"], ["action"])],
        "g",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 45])],
        [helper.make_tensor_value_info("action", TensorProto.FLOAT, ["batch", 12])],
        [helper.make_tensor(n, TensorProto.INT64, [1], [v]) for n, v in (("s", 0), ("e", 12), ("a", 1))],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(tmp_path / "m.onnx"))
    r = bad(2, "validate", tmp_path / "m.onnx", "--domain", f"mujoco:{A1_TOML}", "--reference", tmp_path / "m.onnx")
    assert "[45]" in r.err and "[47]" in r.err and "joint_vel 12" in r.err and "gait_phase 2" in r.err


# --- sim2sim -----------------------------------------------------------------------------------------------------


def test_newcombe_matches_the_published_example():
    # Newcombe (1998), Stat Med 17:873, example (a): 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    lo, hi = newcombe(48, 80, 56, 70, 0.95)
    assert lo == pytest.approx(0.0524, abs=5e-4) and hi == pytest.approx(0.3339, abs=5e-4)


def _eps(successes, returns, falls=None):
    falls = falls or [False] * len(successes)
    rows = enumerate(zip(successes, returns, falls, strict=True))
    metrics = [{"speed": r / 10, "energy": 1.0 + i} for i, r in enumerate(returns)]
    return [
        Episode(seed=i, ret=r, success=s, success_reported=True, fall=f, metrics=metrics[i]) for i, (s, r, f) in rows
    ]


def test_sim2sim_verdicts():
    n = 20
    a = _eps([True] * n, np.linspace(10, 11, n))
    assert compare(a, _eps([True] * n, np.linspace(10, 11, n) + 5), 1.0)["verdict"] == "transfers"
    fails = compare(a, _eps([False] * 18 + [True] * 2, np.linspace(2, 3, n), [True] * 18 + [False] * 2), 1.0)
    assert fails["verdict"] == "fails" and fails["moved_most"] == "speed"
    assert compare(a, _eps([True] * 12 + [False] * 8, np.linspace(8, 9, n)), 1.0)["verdict"] == "degrades"
    assert compare(a[:3], _eps([True, True, False], [10, 10, 9]), 1.0)["verdict"] == "inconclusive"


def test_sim2sim_cli_pybullet_to_mujoco(cli, tmp_path):
    pytest.importorskip("torch")
    r = cli("sim2sim", "reference:quadruped/trot", "--domain", "quadruped/trot", "--to", "mujoco/a1-trot",
            "-n", "2", "--randomize", "friction=0.8,0.2", "--json", tmp_path / "s.json", "--no-store")  # fmt: skip
    assert r.code in (0, 1), r.err
    res = json.loads((tmp_path / "s.json").read_text())
    assert res["schema"] == "edgeperf.sim2sim/1"
    assert res["results"]["transfer"]["verdict"] in ("transfers", "degrades", "fails", "inconclusive")
    assert res["results"]["a"]["episodes"] == 2 and res["results"]["b"]["episodes"] == 2
    levels = res["results"]["robustness"]["levels"]
    assert [row["level"] for row in levels] == [0.8, 0.2]


def test_a_push_acts_in_its_window_only_and_moves_the_base_its_way():
    """The push force is on the root body during its 0.1 s window, off after it, and pushes the base along it
    (breaks if the per-physics-step path is skipped or the force is never cleared)."""

    def run(pushes: bool):
        env = base.make("mujoco/a1-trot-push").env(0)
        env.reset(seed=0)
        t0, t1, f = env.push_schedule[0]
        if not pushes:
            env.push_schedule = []
        forces = {}
        while env.t < t1 + 0.1:
            env.step(np.zeros(12))
            forces[round(env.t, 3)] = env.data.xfrc_applied[env.b.root_body, :3].copy()
        return env, (t0, t1, f), forces

    pushed, (t0, t1, f), forces = run(True)
    calm, _, calm_forces = run(False)
    inside = [t for t in forces if t0 + 0.02 < t < t1]
    after = [t for t in forces if t >= t1 + 0.02]
    assert inside and after
    assert all(np.allclose(forces[t], f) for t in inside)
    assert all(not forces[t].any() for t in after) and not any(v.any() for v in calm_forces.values())
    moved = (pushed.base_pos[:2] - calm.base_pos[:2]) @ (f[:2] / np.linalg.norm(f[:2]))
    assert moved > 0.01, moved


def test_energy_is_the_motors_work_summed_over_physics_steps():
    """One control step's energy against a replay on a copy of MjData: sum over physics steps of |tau . qdot| dt
    (breaks if the force is read once per control step, or the wrong joints' velocities are used)."""
    import mujoco

    env = base.make(f"mujoco:{A1_TOML}").env(0)
    env.reset(seed=0)
    for _ in range(3):
        env.step(np.full(12, 0.3))
    replay = mujoco.MjData(env.model)
    mujoco.mj_copyData(replay, env.model, env.data)
    action = np.linspace(-0.5, 0.5, 12)
    replay.ctrl[env.b.ctrl] = env.default + 0.5 * action
    work = 0.0
    for _ in range(env.substeps):
        mujoco.mj_step(env.model, replay)
        work += np.abs(replay.actuator_force[env.b.ctrl] * replay.qvel[env.b.dof]).sum() * env.sim_dt
    before = env.energy
    env.step(action)
    assert work > 0.1
    assert env.energy - before == pytest.approx(work, rel=1e-9)
