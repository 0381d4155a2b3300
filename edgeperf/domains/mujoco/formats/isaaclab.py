"""Isaac Lab deploy files as unitree_rl_lab's exporter writes them (`<run>/params/deploy.yaml`).

Orders, from the exporter (export_deploy_cfg.py) and the C++ deploy that reads it: `joint_ids_map[i]` is the
robot's (SDK's) motor index of policy joint i (Isaac Lab orders joints breadth-first, the SDK per limb);
`stiffness` and `damping` are in the SDK's order, one per motor; `default_joint_pos`, the action's scale,
offset and clip, and every joint observation term are in policy order. The scene's actuators are taken to be
in the SDK's motor order (unitree_mujoco's and unitree_rl_gym's MJCFs are): policy joint i is the joint that
the scene's actuator joint_ids_map[i] drives. The file names no scene: give `,scene=PATH` after the path.

Observation terms (term-major, each term's history oldest first; clip, then scale): base_ang_vel,
base_lin_vel, projected_gravity, velocity_commands, joint_pos_rel, joint_vel_rel, last_action, gait_phase
(params.period). `use_gym_history: true` (unitree_rl_lab's C++ option) lays the history out frame-major.
Physics runs at 5 ms (Isaac Lab's usual sim.dt) when step_dt is a multiple of it, else 2 ms: the file gives
only the policy's period. Commands are drawn per episode from commands.base_velocity.ranges.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from edgeperf.domains.mujoco.formats.common import number, numbers_of, require_keys, span, whole
from edgeperf.domains.mujoco.spec import DeploySpec, ObsTerm
from edgeperf.errors import BadInput

NAME = "isaaclab"
KEYS = ("joint_ids_map", "step_dt", "actions", "observations")
NEEDED = (*KEYS, "stiffness", "damping", "default_joint_pos")
TERM_NAMES = {
    "base_ang_vel": "base_ang_vel",
    "base_lin_vel": "base_lin_vel",
    "projected_gravity": "projected_gravity",
    "velocity_commands": "velocity_commands",
    "joint_pos_rel": "joint_pos_rel",
    "joint_pos": "joint_pos",
    "joint_vel_rel": "joint_vel",
    "joint_vel": "joint_vel",
    "last_action": "last_action",
    "gait_phase": "gait_phase",
}
COMMAND_RANGES = {"lin_vel_x": "vx", "lin_vel_y": "vy", "ang_vel_z": "yaw_rate"}


def recognises(data: dict) -> bool:
    return all(k in data for k in KEYS)


def read(data: dict, path: Path, scene: Path | None) -> DeploySpec:
    require_keys(path, data, NEEDED, "Isaac Lab deploy")
    ids = data["joint_ids_map"]
    if not isinstance(ids, list) or not ids:
        raise BadInput(f"{path}: joint_ids_map must be a list of motor indices, one per policy joint")
    ids = [whole(path, f"joint_ids_map[{i}]", v) for i, v in enumerate(ids)]
    n = len(ids)
    stiffness = numbers_of(path, "stiffness", data["stiffness"])
    damping = numbers_of(path, "damping", data["damping"])
    for key, vec in (("stiffness", stiffness), ("damping", damping)):
        if max(ids) >= len(vec) or min(ids) < 0:
            raise BadInput(
                f"{path}: {key} has {len(vec)} values (one per motor, the SDK's order) but joint_ids_map "
                f"names motor {max(ids)}"
            )
    step_dt = number(path, "step_dt", data["step_dt"])
    if step_dt <= 0:
        raise BadInput(f"{path}: step_dt must be > 0, got {step_dt}")
    physics = 0.005 if abs(step_dt / 0.005 - round(step_dt / 0.005)) < 1e-6 else 0.002
    decimation = round(step_dt / physics)
    if abs(decimation * physics - step_dt) > 1e-6 or decimation < 1:
        raise BadInput(f"{path}: step_dt {step_dt} is not a multiple of 2 ms or 5 ms physics")
    actions = data["actions"]
    if not isinstance(actions, dict) or list(actions) != ["JointPositionAction"]:
        got = list(actions) if isinstance(actions, dict) else actions
        raise BadInput(f"{path}: actions {got}: edgeperf runs JointPositionAction alone")
    act = actions["JointPositionAction"] or {}
    clip = act.get("clip")
    target_clip = None
    if clip is not None:
        if not isinstance(clip, list) or len(clip) != n:
            raise BadInput(f"{path}: actions.JointPositionAction.clip needs {n} [low, high] rows, one per joint")
        target_clip = tuple(span(path, f"actions.JointPositionAction.clip[{i}]", r) for i, r in enumerate(clip))
    obs = data["observations"]
    if not isinstance(obs, dict) or not obs:
        raise BadInput(f"{path}: observations must be a mapping of term name to its settings")
    gym_history = bool(data.get("use_gym_history", False))
    terms = tuple(_term(path, name, cfg) for name, cfg in obs.items())
    frames = 1
    if gym_history:
        lengths = {t.history for t in terms}
        if len(lengths) != 1:
            raise BadInput(f"{path}: use_gym_history with history lengths {sorted(lengths)}: they must agree")
        frames = lengths.pop()
        terms = tuple(dataclasses.replace(t, history=1) for t in terms)
    commands = {}
    ranges = ((data.get("commands") or {}).get("base_velocity") or {}).get("ranges") or {}
    for key, ours in COMMAND_RANGES.items():
        if key in ranges and ranges[key] is not None:
            commands[ours] = span(path, f"commands.base_velocity.ranges.{key}", ranges[key])
    return DeploySpec(
        source=path,
        format=NAME,
        scene=scene,
        physics_dt=physics,
        decimation=decimation,
        joints=tuple(ids),  # scene actuator indices, resolved to joint names against the scene
        kp=tuple(stiffness[i] for i in ids),
        kd=tuple(damping[i] for i in ids),
        default_pos=numbers_of(path, "default_joint_pos", data["default_joint_pos"], n),
        action_scale=numbers_of(path, "actions.JointPositionAction.scale", act.get("scale", 1.0), n),
        action_offset=numbers_of(path, "actions.JointPositionAction.offset", act["offset"], n)
        if act.get("offset") is not None
        else None,
        target_clip=target_clip,
        observation=terms,
        history_layout="frame-major" if gym_history else "term-major",
        frames=frames,
        commands=commands or {"vx": (0.0, 0.0), "vy": (0.0, 0.0), "yaw_rate": (0.0, 0.0)},
    )


def _term(path: Path, name: str, cfg) -> ObsTerm:
    ours = TERM_NAMES.get(name)
    if ours is None:
        raise BadInput(
            f"{path}: observation term '{name}' is not one edgeperf reads ({', '.join(TERM_NAMES)}); write an "
            "edgeperf deploy spec with a user term (module:function) for it"
        )
    cfg = cfg or {}
    scale = cfg.get("scale")
    params = cfg.get("params") or {}
    return ObsTerm(
        name=ours,
        scale=numbers_of(path, f"observations.{name}.scale", scale)
        if isinstance(scale, list)
        else (1.0 if scale is None else number(path, f"observations.{name}.scale", scale)),
        clip=span(path, f"observations.{name}.clip", cfg["clip"]) if cfg.get("clip") is not None else None,
        history=max(1, whole(path, f"observations.{name}.history_length", cfg.get("history_length", 1) or 1)),
        period=number(path, f"observations.{name}.params.period", params["period"])
        if ours == "gait_phase" and "period" in params
        else (0.8 if ours == "gait_phase" else None),
    )
