"""unitree_rl_gym's `deploy/deploy_mujoco/configs/*.yaml`, with the observation of the script that reads it.

deploy_mujoco.py (g1, h1, h1_2): [ang_vel x ang_vel_scale, projected gravity, cmd x cmd_scale,
(q - default_angles) x dof_pos_scale, dq x dof_vel_scale, the last action as the policy returned it,
sin and cos of 2 pi (t mod 0.8) / 0.8] — the phase only where num_obs leaves two values for it
(num_obs = 9 + 3 n + 2). deploy_go2.py (go2.yaml, which has lin_vel_scale and num_obs = 12 + 3 n): the free
joint's qvel[:3] x lin_vel_scale first, as it is: in the world frame (that script does not rotate it), then
the rest without the phase. Both: target = action x action_scale + default_angles, PD at every physics step
(simulation_dt) with kps, kds, the policy every control_decimation steps; no clip of actions; torques are
limited only by the MJCF's motors (MuJoCo clamps ctrl to their ctrlrange). The joints are the MJCF's, in its
order (the scripts read qpos[7:]). `{LEGGED_GYM_ROOT_DIR}` in xml_path and policy_path comes from the
environment variable, else the nearest ancestor of the YAML that holds the named file; policy_path is the
domain's reference policy. The episode lasts simulation_duration.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeperf.domains.mujoco.formats.common import number, numbers_of, require_keys, whole
from edgeperf.domains.mujoco.spec import DeploySpec, ObsTerm
from edgeperf.errors import BadInput

NAME = "unitree_rl_gym"
KEYS = ("xml_path", "kps", "kds", "default_angles", "num_obs")
NEEDED = (*KEYS, "simulation_dt", "control_decimation", "num_actions", "action_scale")
PLACEHOLDER = "{LEGGED_GYM_ROOT_DIR}"
GAIT_PERIOD = 0.8  # s, hard-coded in deploy_mujoco.py


def recognises(data: dict) -> bool:
    return all(k in data for k in KEYS)


def read(data: dict, path: Path, scene: Path | None) -> DeploySpec:
    require_keys(path, data, NEEDED, "unitree_rl_gym deploy_mujoco")
    n = whole(path, "num_actions", data["num_actions"])
    num_obs = whole(path, "num_obs", data["num_obs"])
    go2 = "lin_vel_scale" in data and num_obs == 12 + 3 * n
    phase = not go2 and num_obs == 9 + 3 * n + 2
    if not go2 and not phase and num_obs != 9 + 3 * n:
        raise BadInput(
            f"{path}: num_obs {num_obs} fits no layout of unitree_rl_gym's deploy scripts for num_actions {n}: "
            f"deploy_mujoco.py gives 9 + 3 x {n} = {9 + 3 * n} (+ 2 with the gait phase = {11 + 3 * n}), "
            f"deploy_go2.py 12 + 3 x {n} = {12 + 3 * n} (with lin_vel_scale)"
        )
    xml = data["xml_path"]
    root = None
    if isinstance(xml, str) and PLACEHOLDER in xml:
        root = legged_gym_root(path, "xml_path", xml.split(PLACEHOLDER, 1)[1].lstrip("/"))
    scene = scene or _resolve(path, "xml_path", xml, root)
    cmd_scale = numbers_of(path, "cmd_scale", data.get("cmd_scale", [1.0, 1.0, 1.0]), 3)
    cmd = numbers_of(path, "cmd_init", data.get("cmd_init", [0.0, 0.0, 0.0]), 3)
    if len(cmd) != 3 or len(cmd_scale) != 3:
        raise BadInput(f"{path}: cmd_init and cmd_scale need 3 values (vx, vy, yaw rate)")
    terms = [ObsTerm("base_lin_vel_world", scale=number(path, "lin_vel_scale", data["lin_vel_scale"]))] if go2 else []
    terms += [
        ObsTerm("base_ang_vel", scale=number(path, "ang_vel_scale", data.get("ang_vel_scale", 1.0))),
        ObsTerm("projected_gravity"),
        ObsTerm("velocity_commands", scale=cmd_scale),
        ObsTerm("joint_pos_rel", scale=number(path, "dof_pos_scale", data.get("dof_pos_scale", 1.0))),
        ObsTerm("joint_vel", scale=number(path, "dof_vel_scale", data.get("dof_vel_scale", 1.0))),
        ObsTerm("last_action"),
    ]
    if phase:
        terms.append(ObsTerm("gait_phase", period=GAIT_PERIOD))
    reference = None
    if "policy_path" in data:
        reference = str(_resolve(path, "policy_path", data["policy_path"], root))
    return DeploySpec(
        source=path,
        format=NAME,
        scene=scene,
        physics_dt=number(path, "simulation_dt", data["simulation_dt"]),
        decimation=whole(path, "control_decimation", data["control_decimation"]),
        episode_s=number(path, "simulation_duration", data.get("simulation_duration", 20.0)),
        joints=tuple(_scene_joints(path, scene, n)),
        kp=numbers_of(path, "kps", data["kps"], n),
        kd=numbers_of(path, "kds", data["kds"], n),
        default_pos=numbers_of(path, "default_angles", data["default_angles"], n),
        action_scale=numbers_of(path, "action_scale", data["action_scale"], n),
        observation=tuple(terms),
        commands={"vx": (cmd[0], cmd[0]), "vy": (cmd[1], cmd[1]), "yaw_rate": (cmd[2], cmd[2])},
        reference=reference,
    )


def _resolve(path: Path, key: str, value, root: Path | None = None) -> Path:
    """A path of the config; `{LEGGED_GYM_ROOT_DIR}` is `root` when given (the one xml_path was found under)."""
    if not isinstance(value, str) or not value:
        raise BadInput(f"{path}: {key} must be a path, got {value!r}")
    if PLACEHOLDER not in value:
        p = Path(value).expanduser()
        return p if p.is_absolute() else path.parent / p
    rest = value.split(PLACEHOLDER, 1)[1].lstrip("/")
    return (root or legged_gym_root(path, key, rest)) / rest


def legged_gym_root(path: Path, key: str, rest: str) -> Path:
    root = os.environ.get("LEGGED_GYM_ROOT_DIR")
    if root:
        return Path(root)
    for folder in path.resolve().parents:
        if (folder / rest).exists():
            return folder
    raise BadInput(
        f"{path}: {key} names {PLACEHOLDER}/{rest}, and no folder above {path.name} holds {rest}; set "
        "LEGGED_GYM_ROOT_DIR to the unitree_rl_gym checkout"
    )


def _scene_joints(path: Path, scene: Path, n: int) -> list[str]:
    """The MJCF's joints after its free joint, in order: what deploy_mujoco.py's qpos[7:] reads."""
    from edgeperf.domains.mujoco.scene import joint_names

    names = joint_names(scene, path)
    if len(names) != n:
        raise BadInput(
            f"{path}: {scene.name} has {len(names)} joints besides its free joint but num_actions is {n}; "
            "deploy_mujoco.py reads qpos[7:] as the policy's joints"
        )
    return names
