"""mjlab's ONNX metadata as a deploy spec (`--domain mujoco:policy.onnx,scene=...`): the metadata written as
mjlab's exporter writes it (exporter_utils.list_to_csv_str: "%.3f", "," between entries, ";" inside a nested
entry in newer versions, str() of the nested list in older ones), read into the contract, and the observation
the env builds from it checked against one computed here from MuJoCo's state."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("onnx")

import mujoco
import onnx
from onnx import TensorProto, helper, numpy_helper

from edgeperf.domains import base
from edgeperf.domains.mujoco.formats import load
from edgeperf.errors import BadInput
from tests.conftest import FIXTURES

A1_XML = FIXTURES / "mujoco" / "unitree_rl_gym" / "resources" / "robots" / "a1" / "a1.xml"
# The MJCF's joint order (mjlab's robot.joint_names are in natural order)
A1_JOINTS = [f"{leg}_{j}_joint" for leg in ("FR", "FL", "RR", "RL") for j in ("hip", "upper", "lower")]
DEFAULT = [0.1, 0.8, -1.5, -0.1, 0.8, -1.5, 0.1, 1.0, -1.5, -0.1, 1.0, -1.5]
TERMS = ["base_lin_vel", "base_ang_vel", "projected_gravity", "joint_pos", "joint_vel", "actions", "command"]


def csv(arr, nested: str = "new") -> str:
    """mjlab's list_to_csv_str: numbers as %.3f; a nested list joined with ';' (new) or str()-formatted (old)."""

    def scalar(x):
        return f"{x:.3f}" if isinstance(x, (int, float)) else str(x)

    def entry(x):
        if isinstance(x, (list, tuple)):
            return ";".join(scalar(v) for v in x) if nested == "new" else str(x)
        return scalar(x)

    return ",".join(entry(x) for x in arr)


def metadata(nested: str = "new", **changes) -> dict:
    meta = {
        "run_path": "team/mjlab/abc123",
        "joint_names": A1_JOINTS,
        "joint_stiffness": [20.0] * 12,
        "joint_damping": [0.5] * 12,
        "default_joint_pos": DEFAULT,
        "command_names": ["twist"],
        "observation_names": TERMS,
        "observation_terms_scale": [1.0, [0.25, 0.25, 0.5], 1.0, 1.0, 0.05, 1.0, 1.0],
        "observation_terms_flatten_history_dim": [True] * 7,
        "observation_terms_history_length": [0, 0, 0, 3, 0, 0, 0],
        "observation_terms_clip": [[float("-inf"), float("inf")]] * 4 + [[-100.0, 100.0]] + [[-np.inf, np.inf]] * 2,
        "action_scale": [0.25] * 12,
    }
    meta.update(changes)
    return {k: (csv(v, nested) if isinstance(v, list) else str(v)) for k, v in meta.items()}


def policy_onnx(path, meta: dict | None, obs: int = 72, weight: float = 0.0):
    """A linear policy obs -> 12 actions, with the metadata attached as attach_metadata_to_onnx does."""
    w = np.full((obs, 12), weight, np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "W"], ["actions"])],
        "actor",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, [1, obs])],
        [helper.make_tensor_value_info("actions", TensorProto.FLOAT, [1, 12])],
        initializer=[numpy_helper.from_array(w, "W")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    for k, v in (meta or {}).items():
        entry = onnx.StringStringEntryProto()
        entry.key, entry.value = k, v
        model.metadata_props.append(entry)
    onnx.save(model, str(path))
    return path


def test_the_contract_read_from_the_metadata(tmp_path):
    spec = load(policy_onnx(tmp_path / "policy.onnx", metadata()), scene=str(A1_XML))
    assert spec.format == "mjlab" and spec.reference == str(tmp_path / "policy.onnx")
    assert list(spec.joints) == A1_JOINTS and spec.kp == (20.0,) * 12 and spec.kd == (0.5,) * 12
    assert spec.default_pos == tuple(DEFAULT) and spec.action_scale == (0.25,) * 12 and spec.action_offset is None
    assert [t.name for t in spec.observation] == [
        "base_lin_vel", "base_ang_vel", "projected_gravity", "joint_pos_rel", "joint_vel", "last_action",
        "velocity_commands",
    ]  # fmt: skip
    assert spec.observation[1].scale == (0.25, 0.25, 0.5)
    assert spec.observation[3].history == 3 and spec.observation[4].clip == (-100.0, 100.0)
    assert spec.observation[0].clip is None  # [-inf, inf]: no clip
    assert spec.obs_size == 3 + 3 + 3 + 36 + 12 + 12 + 3
    assert (spec.physics_dt, spec.decimation, spec.max_tilt_deg) == (0.005, 4, 70.0)


def test_the_observation_is_built_as_mjlab_builds_it(tmp_path):
    """Each term from MuJoCo's state, scaled, the joint history filled with the first frame at reset (breaks
    if a vector scale is applied to the wrong axes, the history layout or default pose is wrong)."""
    path = policy_onnx(tmp_path / "policy.onnx", metadata())
    env = base.make(f"mujoco:{path},scene={A1_XML}").env(0)
    env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(np.linspace(-0.4, 0.4, 12))
    d, b = env.data, env.b
    rot = np.empty(9)
    mujoco.mju_quat2Mat(rot, d.qpos[b.root_qpos + 3 : b.root_qpos + 7])  # the state after the step
    rot = rot.reshape(3, 3)
    q, dq = d.qpos[b.qpos], d.qvel[b.dof]
    expected_now = np.concatenate(
        [
            rot.T @ d.qvel[b.root_dof : b.root_dof + 3],
            d.qvel[b.root_dof + 3 : b.root_dof + 6] * [0.25, 0.25, 0.5],
            rot.T @ [0.0, 0.0, -1.0],
        ]
    )
    assert np.allclose(obs[:9], expected_now, atol=1e-5)
    assert np.allclose(obs[9 + 24 : 9 + 36], q - DEFAULT, atol=1e-6)  # the newest of the three frames last
    assert np.allclose(obs[45:57], np.clip(dq, -100, 100) * 0.05, atol=1e-5)
    assert np.allclose(obs[57:69], np.linspace(-0.4, 0.4, 12), atol=1e-6)
    assert np.allclose(obs[69:], env.command, atol=1e-6)
    first, _ = env.reset(seed=0)
    assert np.allclose(first[9:21], first[21:33]) and np.allclose(first[21:33], first[33:45])


def test_an_older_export_without_term_settings_and_with_str_formatted_lists(tmp_path):
    meta = metadata(nested="old")
    for key in ("observation_terms_scale", "observation_terms_history_length", "observation_terms_flatten_history_dim"):
        del meta[key]
    assert meta["observation_terms_clip"].startswith("[-inf, inf],")  # the older, comma-in-comma form
    spec = load(policy_onnx(tmp_path / "old.onnx", meta, obs=48), scene=str(A1_XML))
    assert all(t.scale == 1.0 and t.history == 1 for t in spec.observation)
    assert spec.observation[4].clip == (-100.0, 100.0) and spec.obs_size == 48
    single = metadata(action_scale=0.5)  # a float scale is written with str(): "0.5"
    assert load(policy_onnx(tmp_path / "s.onnx", single), scene=str(A1_XML)).action_scale == (0.5,) * 12


def test_options_set_what_the_metadata_does_not_carry(tmp_path):
    path = policy_onnx(tmp_path / "policy.onnx", metadata())
    domain = base.make(f"mujoco:{path},scene={A1_XML},dt=0.002,decimation=10,vx=0.8,yaw_rate=-0.2")
    assert domain.control_hz == pytest.approx(50.0)
    env = domain.env(0)
    assert env.sim_dt == 0.002 and env.substeps == 10
    assert env.nominal_command.tolist() == [0.8, 0.0, -0.2]
    with pytest.raises(BadInput, match=r"decimation=2\.5: a whole number"):
        base.make(f"mujoco:{path},scene={A1_XML},decimation=2.5")
    with pytest.raises(BadInput, match="a physics step from 1e-05"):
        base.make(f"mujoco:{path},scene={A1_XML},dt=1e-12")
    with pytest.raises(BadInput, match="from 1 to 1000"):
        base.make(f"mujoco:{path},scene={A1_XML},decimation=1e9")
    with pytest.raises(BadInput, match="only randomisation levels"):
        base.make("mujoco/a1-trot,dt=0.001")


def test_a_policy_with_its_metadata_validates_against_itself(tmp_path, cli):
    """End to end: the ONNX is the domain's default reference; a faithful copy is equivalent."""
    path = policy_onnx(tmp_path / "policy.onnx", metadata(), weight=0.001)
    r = cli(
        "validate", str(path), "--domain", f"mujoco:{path},scene={A1_XML}", "-n", "4", "--workers", "1", "--no-store"
    )
    assert r.code == 0, r.err
    assert "equivalent" in r.out


@pytest.mark.parametrize(
    ("meta", "match"),
    [
        (None, "carries no deploy metadata"),
        (metadata(observation_names=[*TERMS[:-1], "height_scan"]), "'height_scan' is not one edgeperf reads"),
        (metadata(observation_terms_scale=[1.0] * 6), "observation_terms_scale has 6 entries but"),
        (metadata(default_joint_pos=DEFAULT[:11]), "default joint positions has 11 values but the spec has 12"),
        (metadata(joint_stiffness=["nan"] * 12), r"joint_stiffness\[0\] is NaN"),
        (metadata(joint_names=[*A1_JOINTS[:11], "FR_thigh_joint"]), "FR_thigh_joint"),
        (
            metadata(
                observation_terms_history_length=[0, 0, 0, 3, 0, 0, 0],
                observation_terms_flatten_history_dim=[1, 1, 1, 0, 1, 1, 1],
            ),
            "unflattened",
        ),
    ],
)
def test_bad_metadata_is_one_clear_error(tmp_path, meta, match):
    path = policy_onnx(tmp_path / "policy.onnx", meta)
    with pytest.raises(BadInput, match=match):
        base.make(f"mujoco:{path},scene={A1_XML}").env(0)


def test_a_file_that_is_not_onnx_is_refused_in_one_line(tmp_path, cli):
    bad = tmp_path / "policy.onnx"
    bad.write_bytes(b"\x00garbage" * 100)
    r = cli("validate", str(bad), "--domain", f"mujoco:{bad},scene={A1_XML}", "--no-store")
    assert r.code == 2 and len(r.err.strip().splitlines()) == 1 and "not an ONNX model" in r.err


def test_hil_in_lockstep_on_a_spec_domain(tmp_path, cli):
    """The robot's spec in MuJoCo with an edgeperf-served policy in the loop: every step's action comes over the
    wire and HIL matches SIL (breaks if the spec domain's env cannot be driven by the HIL loop)."""
    pytest.importorskip("zmq")
    from tests.runtime.test_server import serve

    a1_toml = FIXTURES / "mujoco" / "a1_trot.toml"
    model = policy_onnx(tmp_path / "stand.onnx", None, obs=47, weight=0.001)
    srv = serve(model)
    try:
        out = tmp_path / "hil.json"
        r = cli("hil", model, "--domain", f"mujoco:{a1_toml}", "--connect", srv.host_port, "--episodes", "2",
                "--mode", "lockstep", "--json", out, "--no-store")  # fmt: skip
        assert r.code == 0, r.err
        rep = json.loads(out.read_text())
        assert rep["results"]["link"]["steps"] == 2 * 500 and rep["results"]["link"]["misses"] == 0
        assert rep["results"]["paired"]["verdict"] == "equivalent"
    finally:
        srv.stop()
