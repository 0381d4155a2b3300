"""Deploy specs, read from the formats people have, against real MuJoCo: the importers' orders and layouts,
history layouts, and every bad input as one line with exit 2."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mujoco")

from edgeperf.domains import base
from edgeperf.domains.mujoco.formats import load
from edgeperf.errors import BadInput
from tests.conftest import FIXTURES

MJ = FIXTURES / "mujoco"
A1_TOML = MJ / "a1_trot.toml"
UNITREE = MJ / "unitree_rl_gym"
A1_XML = UNITREE / "resources" / "robots" / "a1" / "a1.xml"
A1_JOINTS = [f"{leg}_{j}_joint" for leg in ("FR", "FL", "RR", "RL") for j in ("hip", "upper", "lower")]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


# --- unitree_rl_gym ---------------------------------------------------------------------------------------------


def test_unitree_rl_gym_config_reads_as_its_deploy_script(monkeypatch):
    monkeypatch.delenv("LEGGED_GYM_ROOT_DIR", raising=False)
    spec = load(UNITREE / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml")
    assert spec.format == "unitree_rl_gym"
    # {LEGGED_GYM_ROOT_DIR}: the nearest ancestor that holds the named file
    assert spec.scene.resolve() == A1_XML.resolve()
    assert spec.reference == str(UNITREE.resolve() / "deploy" / "pre_train" / "a1" / "policy.onnx")
    assert list(spec.joints) == A1_JOINTS  # the MJCF's joints after the free joint: qpos[7:]
    assert [t for t, _ in spec.term_sizes()] == [
        "base_ang_vel", "projected_gravity", "velocity_commands", "joint_pos_rel", "joint_vel", "last_action",
        "gait_phase",
    ]  # fmt: skip
    assert spec.obs_size == 47
    assert spec.physics_dt == 0.002 and spec.decimation == 10
    phase = spec.observation[-1]
    assert phase.period == 0.8 and not phase.random_offset


def test_unitree_rl_gym_root_from_the_environment(tmp_path, monkeypatch):
    root = tmp_path / "checkout"
    shutil.copytree(UNITREE, root)
    cfg = tmp_path / "elsewhere.yaml"
    shutil.copy(UNITREE / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml", cfg)
    with pytest.raises(BadInput, match="LEGGED_GYM_ROOT_DIR"):
        load(cfg)
    monkeypatch.setenv("LEGGED_GYM_ROOT_DIR", str(root))
    assert load(cfg).scene == root / "resources" / "robots" / "a1" / "a1.xml"


def test_go2_layout_reads_world_frame_linear_velocity_first(tmp_path):
    text = (UNITREE / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml").read_text()
    text = text.replace("num_obs: 47", "num_obs: 48").replace(
        "ang_vel_scale: 1.0", "lin_vel_scale: 2.0\nang_vel_scale: 0.25"
    )
    cfg = UNITREE / "deploy" / "deploy_mujoco" / "configs"
    path = cfg / "go2_test.yaml"
    path.write_text(text)
    try:
        spec = load(path)
    finally:
        path.unlink()
    names = [t.name for t in spec.observation]
    assert names[0] == "base_lin_vel_world" and spec.observation[0].scale == 2.0
    assert "gait_phase" not in names and spec.obs_size == 48


def test_unitree_rl_gym_num_obs_that_fits_no_layout(tmp_path):
    text = (
        (UNITREE / "deploy" / "deploy_mujoco" / "configs" / "a1.yaml").read_text().replace("num_obs: 47", "num_obs: 50")
    )
    path = UNITREE / "deploy" / "deploy_mujoco" / "configs" / "bad_test.yaml"
    path.write_text(text)
    try:
        with pytest.raises(BadInput, match=r"num_obs 50 fits no layout.*45.*47.*48"):
            load(path)
    finally:
        path.unlink()


# --- Isaac Lab deploy.yaml ----------------------------------------------------------------------------------------

# Isaac Lab orders a quadruped's joints breadth-first (all hips, then thighs, then calves; legs FL, FR, RL, RR);
# the SDK (and the MJCF's actuators) per leg FR, FL, RR, RL. joint_ids_map[i]: the motor of policy joint i.
POLICY_ORDER = [f"{leg}_{j}" for j in ("hip", "upper", "lower") for leg in ("FL", "FR", "RL", "RR")]
IDS = [3, 0, 9, 6, 4, 1, 10, 7, 5, 2, 11, 8]


def isaac_yaml(tmp_path: Path, extra: str = "", history: int = 1) -> Path:
    """A deploy.yaml laid out as unitree_rl_lab's exporter writes it (yaml.dump, default_flow_style=None)."""
    stiffness = [float(10 + i) for i in range(12)]  # distinct per motor: the test sees which one each joint got
    clip_rows = "".join("    - [-100.0, 100.0]\n" for _ in range(12))
    obs = "".join(
        f"  {name}:\n    params: {{}}\n    clip: {clip}\n    scale: {scale}\n    history_length: {history}\n"
        for name, clip, scale in (
            ("base_ang_vel", "[-100, 100]", [0.2] * 3),
            ("projected_gravity", "null", [1.0] * 3),
            ("joint_vel_rel", "null", [0.05] * 12),
        )
    )
    text = (
        f"joint_ids_map: {IDS}\nstep_dt: 0.02\nstiffness: {stiffness}\ndamping: {[0.5] * 12}\n"
        "default_joint_pos: [0.1, -0.1, 0.1, -0.1, 0.8, 0.8, 1.0, 1.0, -1.5, -1.5, -1.5, -1.5]\n"
        "commands:\n  base_velocity:\n    ranges:\n      lin_vel_x: [-1.0, 1.0]\n      lin_vel_y: [-0.4, 0.4]\n"
        "      ang_vel_z: [-1.0, 1.0]\n      heading: null\n"
        f"actions:\n  JointPositionAction:\n    clip:\n{clip_rows}    joint_names: [.*]\n    scale: {[0.25] * 12}\n"
        "    offset: [0.1, -0.1, 0.1, -0.1, 0.8, 0.8, 1.0, 1.0, -1.5, -1.5, -1.5, -1.5]\n    joint_ids: null\n"
        f"observations:\n{obs}{extra}\n"
    )
    path = tmp_path / "deploy.yaml"
    path.write_text(text)
    return path


def test_isaaclab_orders_policy_joints_through_joint_ids_map(tmp_path):
    d = base.make(f"mujoco:{isaac_yaml(tmp_path)},scene={A1_XML}")
    env = d.env(0)
    try:
        spec = env.spec
        assert spec.format == "isaaclab"
        assert [j.removesuffix("_joint") for j in env.b.joints] == POLICY_ORDER
        # stiffness is in the SDK's order: policy joint i gets motor IDS[i]'s
        assert spec.kp == tuple(10.0 + i for i in IDS)
        assert spec.default_pos[:4] == (0.1, -0.1, 0.1, -0.1)  # policy order: the hips first
        assert spec.physics_dt == 0.005 and spec.decimation == 4
        assert spec.target_clip[0] == (-100.0, 100.0)
        assert spec.commands["vx"] == (-1.0, 1.0)
        obs, _ = env.reset(seed=0)
        assert obs.shape == (3 + 3 + 12,)
        # joint positions read in policy order: the first policy joint is FL's hip
        q = env.data.qpos[env.b.qpos]
        assert q[0] == pytest.approx(0.1) and q[1] == pytest.approx(-0.1)
    finally:
        env.close()


def test_isaaclab_needs_a_scene(tmp_path):
    with pytest.raises(BadInput, match=r"names no MuJoCo scene.*,scene=PATH"):
        base.make(f"mujoco:{isaac_yaml(tmp_path)}").env(0)


def test_history_term_major_oldest_first_and_filled_at_reset(tmp_path):
    d = base.make(f"mujoco:{isaac_yaml(tmp_path, history=3)},scene={A1_XML}")
    env = d.env(0)
    try:
        obs0, _ = env.reset(seed=0)
        assert obs0.shape == (3 * 18,)
        grav = obs0[9:18].reshape(3, 3)  # projected_gravity: 3 frames of 3, term-major
        assert np.allclose(grav, grav[0])  # the history starts full of the first frame
        for _ in range(5):
            obs, *_ = env.step(np.ones(12))  # a kick: the state moves
        vel = obs[18:].reshape(3, 12)
        assert np.allclose(vel[-1], 0.05 * env.data.qvel[env.b.dof], atol=1e-5)  # newest last
        assert not np.allclose(vel[0], vel[-1])
    finally:
        env.close()


def test_gym_history_is_frame_major(tmp_path):
    d = base.make(f"mujoco:{isaac_yaml(tmp_path, 'use_gym_history: true', history=2)},scene={A1_XML}")
    env = d.env(0)
    try:
        env.reset(seed=0)
        obs, *_ = env.step(np.ones(12))
        frames = obs.reshape(2, 18)  # whole frames, oldest first
        assert np.allclose(frames[1][6:], 0.05 * env.data.qvel[env.b.dof], atol=1e-5)
        assert env.spec.history_layout == "frame-major" and env.spec.frames == 2
    finally:
        env.close()


# --- bad input ----------------------------------------------------------------------------------------------------


def test_yaml_tags_construct_nothing(tmp_path):
    marker = tmp_path / "ran"
    path = write(
        tmp_path / "evil.yaml",
        f"""\
        joint_ids_map: !!python/object/apply:os.system ["touch {marker}"]
        step_dt: !!python/tuple [0.02]
        actions: !Custom {{JointPositionAction: {{}}}}
        observations: {{}}
        """,
    )
    with pytest.raises(BadInput):
        load(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (lambda t: t.replace("kd = 3", "kd = [3, 3]"), r"kd has 2 values but the spec has 12 joints"),
        (lambda t: t.replace("kp = 200", "kp = nan"), r"joints\.kp is nan; a deploy spec holds finite numbers"),
        (lambda t: t.replace('"FR_hip_joint"', '"FR_hip_jiont"'), r"'FR_hip_jiont'; did you mean 'FR_hip_joint'"),
        (lambda t: t.replace("decimation = 10", "decimaton = 10"), r"'decimaton' in \[physics\]; did you mean"),
        (lambda t: t.replace('name = "joint_vel"', 'name = "joint_vels"'), r"'joint_vels'; did you mean 'joint_vel'"),
        (lambda t: t.replace("resources/robots/a1/a1.xml", "none.xml"), r"scene .*none\.xml does not exist"),
    ],
)  # fmt: skip
def test_bad_spec_is_one_clear_error(tmp_path, edit, match):
    text = edit(A1_TOML.read_text())
    path = tmp_path / "a1.toml"
    path.write_text(text.replace('scene = "unitree_rl_gym', f'scene = "{MJ}/unitree_rl_gym'))
    with pytest.raises(BadInput, match=match):
        base.make(f"mujoco:{path}").env(0)


def test_unknown_format_names_the_formats_and_their_keys(tmp_path):
    path = write(tmp_path / "x.yaml", "robot: g1\nfoo: 1\n")
    with pytest.raises(BadInput, match=r"its keys: foo, robot.*edgeperf \(schema\).*unitree_rl_gym \(xml_path"):
        load(path)


def test_mjcf_that_does_not_parse_names_file_and_line(tmp_path):
    xml = write(tmp_path / "broken.xml", "<mujoco>\n  <worldbody>\n    <body>\n  </worldbody>\n</mujoco>\n")
    spec = tmp_path / "s.toml"
    spec.write_text(
        A1_TOML.read_text().replace('scene = "unitree_rl_gym/resources/robots/a1/a1.xml"', f'scene = "{xml}"')
    )
    with pytest.raises(BadInput, match=r"broken\.xml: MuJoCo cannot read it: .*Line number=3"):
        base.make(f"mujoco:{spec}").env(0)


def test_missing_mesh_is_named(tmp_path):
    xml = A1_XML.read_text().replace(
        "<worldbody>", '<asset><mesh name="m" file="meshes/trunk.stl"/></asset>\n  <worldbody>', 1
    )
    (tmp_path / "a1.xml").write_text(xml)
    spec = tmp_path / "s.toml"
    spec.write_text(A1_TOML.read_text().replace("unitree_rl_gym/resources/robots/a1/a1.xml", "a1.xml"))
    with pytest.raises(BadInput, match=r"trunk\.stl"):
        base.make(f"mujoco:{spec}").env(0)


def test_cli_bad_spec_exit_2_one_line(bad, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("robot: g1\n")
    bad(2, "validate", "p.onnx", "--domain", f"mujoco:{path}")
    bad(2, "sim2sim", "reference:quadruped/trot", "--domain", "quadruped/trot", "--to", f"mujoco:{path}")
    bad(2, "sim2sim", "reference:quadruped/trot", "--domain", "quadruped/trot", "--to", "mujoco/a1-trot,gravity=3")
