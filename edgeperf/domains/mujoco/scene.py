"""The robot's MJCF, compiled once per process, with the spec's PD law inside MuJoCo.

The policy's joints are driven by one `general` actuator each, added here in policy order: position mode is the
PD law of unitree_rl_gym's deploy_mujoco and Isaac Lab's implicit actuators, tau = kp (target - q) - kd dq,
clipped to the torque limit (gain kp, bias (0, -kp, -kd), force range), computed by MuJoCo at the physics
rate; torque mode passes the torque through (gain 1). The scene's own actuators on those joints are removed
(a position servo left in place would pull every joint towards 0); its other actuators stay, at ctrl 0.
Torque limits the spec does not give come from the scene's actuators (ctrlrange x gear, or forcerange) or the
joint's actuatorfrcrange.
"""

from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.domains.mujoco.spec import DeploySpec
from edgeperf.errors import BadInput, require

mujoco = require("mujoco", "mujoco", "for the mujoco domains")


@dataclass(frozen=True)
class Binding:
    """Where the spec's quantities live in the compiled model (indices, in policy order)."""

    joints: tuple[str, ...]  # MJCF joint names, policy order
    qpos: np.ndarray  # qpos address per policy joint
    dof: np.ndarray  # dof address per policy joint
    ctrl: slice  # the policy's actuators in data.ctrl
    root_qpos: int | None  # the free joint's qpos address (None: a fixed base)
    root_dof: int | None
    root_body: int | None
    ground_geoms: np.ndarray  # geoms of the world body (the floor, terrain)
    fall_bodies: np.ndarray  # bodies whose contact with the ground is a fall
    limited: np.ndarray  # per policy joint: has a range
    ranges: np.ndarray  # (n, 2) joint ranges (rad)
    torque_limit: np.ndarray  # (n,) N m (inf: none)


def compile_scene(spec: DeploySpec, mjspec=None):
    """(MjModel, Binding) for `spec`; `mjspec` overrides the scene file (the A1 twin builds its own)."""
    if mjspec is not None:
        model, binding = _compile(spec, mjspec)
    else:
        # Compiled once per process for what shapes the model (an env is made per episode)
        key = (*_scene_key(spec), spec.joints, spec.kp, spec.kd, spec.torque_limit, spec.action_mode, spec.physics_dt,
               spec.fall_contacts)  # fmt: skip
        if key not in _COMPILED:
            if len(_COMPILED) >= 8:
                _COMPILED.pop(next(iter(_COMPILED)))
            _COMPILED[key] = _compile(spec, _parse(spec.scene))
        model, binding = _COMPILED[key]
    return copy.copy(model), binding  # a copy per env: randomisation edits friction and masses


_COMPILED: dict = {}


def _scene_key(spec: DeploySpec) -> tuple:
    if spec.scene is None:
        raise BadInput(
            f"{spec.source} names no MuJoCo scene; give one: --domain mujoco:{spec.source},scene=PATH/robot.xml"
        )
    path = spec.scene
    if not path.is_file():
        raise BadInput(f"{spec.source}: the scene {path} does not exist")
    return str(path.resolve()), path.stat().st_mtime_ns


def _parse(path: Path):
    try:
        return mujoco.MjSpec.from_file(str(path))
    except ValueError as exc:
        raise BadInput(f"{path}: MuJoCo cannot read it: {_one_line(exc)}") from None


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return re.sub(r"^Error:\s*", "", text)


def _compile(spec: DeploySpec, ms):
    names = resolve_joints(spec, ms)
    jtypes = {j.name: j.type for j in ms.joints}
    for name in names:
        if jtypes[name] not in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE):
            raise BadInput(f"{spec.source}: joint '{name}' is not a hinge or slide joint")
    limits = _torque_limits(spec, ms, names)
    for act in [a for a in ms.actuators if a.trntype == mujoco.mjtTrn.mjTRN_JOINT and a.target in names]:
        ms.delete(act)
    for i, name in enumerate(names):
        act = ms.add_actuator()
        act.name = f"edgeperf_{name}"
        act.target = name
        act.trntype = mujoco.mjtTrn.mjTRN_JOINT
        act.gaintype = mujoco.mjtGain.mjGAIN_FIXED
        act.biastype = mujoco.mjtBias.mjBIAS_AFFINE if spec.action_mode == "position" else mujoco.mjtBias.mjBIAS_NONE
        gain = np.zeros(10)
        bias = np.zeros(10)
        if spec.action_mode == "position":
            gain[0] = spec.kp[i]
            bias[1], bias[2] = -spec.kp[i], -spec.kd[i]
        else:
            gain[0] = 1.0
        act.gainprm = gain
        act.biasprm = bias
        act.ctrllimited = mujoco.mjtLimited.mjLIMITED_FALSE
        if np.isfinite(limits[i]):
            act.forcelimited = mujoco.mjtLimited.mjLIMITED_TRUE
            act.forcerange = [-limits[i], limits[i]]
    ms.option.timestep = spec.physics_dt
    try:
        model = ms.compile()
    except ValueError as exc:
        raise BadInput(f"{spec.scene or spec.source}: MuJoCo cannot compile it: {_one_line(exc)}") from None
    return model, _bind(spec, model, names, limits)


def resolve_joints(spec: DeploySpec, ms) -> tuple[str, ...]:
    """The MJCF joint names of the policy's joints: names as given, or scene actuator indices (int) mapped to the
    joint each drives. Did-you-mean for a name the model lacks."""
    joints = [j.name for j in ms.joints]
    actuators = list(ms.actuators)
    out = []
    for entry in spec.joints:
        if isinstance(entry, int):
            if not 0 <= entry < len(actuators):
                raise BadInput(
                    f"{spec.source}: actuator index {entry} is out of range: {spec.scene} has {len(actuators)}"
                )
            act = actuators[entry]
            if act.trntype != mujoco.mjtTrn.mjTRN_JOINT:
                raise BadInput(f"{spec.source}: actuator {entry} ({act.name}) does not drive a joint")
            out.append(act.target)
            continue
        if entry not in joints:
            by_actuator = {a.name: a.target for a in actuators if a.trntype == mujoco.mjtTrn.mjTRN_JOINT}
            if entry in by_actuator:  # an actuator's name: the joint it drives (menagerie names them apart)
                out.append(by_actuator[entry])
                continue
            close = difflib.get_close_matches(entry, joints + list(by_actuator), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BadInput(
                f"{spec.source}: the scene {spec.scene} has no joint or actuator '{entry}'{hint} "
                f"({len(joints)} joints: {', '.join(joints[:8])}{', ...' if len(joints) > 8 else ''})"
            )
        out.append(entry)
    if len(set(out)) != len(out):
        dup = sorted({j for j in out if out.count(j) > 1})
        raise BadInput(f"{spec.source}: several policy joints map to the same MJCF joint: {', '.join(dup)}")
    return tuple(out)


def _torque_limits(spec: DeploySpec, ms, names) -> np.ndarray:
    if spec.torque_limit is not None:
        return np.asarray(spec.torque_limit, dtype=np.float64)
    out = np.full(len(names), np.inf)
    joints = {j.name: j for j in ms.joints}
    for i, name in enumerate(names):
        j = joints[name]
        if j.actfrclimited == mujoco.mjtLimited.mjLIMITED_TRUE:
            out[i] = max(abs(j.actfrcrange[0]), abs(j.actfrcrange[1]))
        for act in ms.actuators:
            if act.trntype != mujoco.mjtTrn.mjTRN_JOINT or act.target != name:
                continue
            if act.forcelimited == mujoco.mjtLimited.mjLIMITED_TRUE:
                out[i] = min(out[i], max(abs(act.forcerange[0]), abs(act.forcerange[1])))
            elif act.ctrllimited == mujoco.mjtLimited.mjLIMITED_TRUE and act.biastype == mujoco.mjtBias.mjBIAS_NONE:
                out[i] = min(out[i], max(abs(act.ctrlrange[0]), abs(act.ctrlrange[1])) * abs(act.gear[0]))
    return out


def _bind(spec: DeploySpec, model, names, limits) -> Binding:
    jid = [mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, n) for n in names]
    free = [j for j in range(model.njnt) if model.jnt_type[j] == mujoco.mjtJoint.mjJNT_FREE]
    root = free[0] if free else None
    body_names = [model.body(b).name for b in range(model.nbody)]
    fall = []
    for name in spec.fall_contacts:
        if name not in body_names:
            close = difflib.get_close_matches(name, body_names, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise BadInput(f"{spec.source}: fall_contacts names a body '{name}' the scene lacks{hint}")
        fall.append(body_names.index(name))
    first = model.nu - len(names)
    return Binding(
        joints=tuple(names),
        qpos=np.array([model.jnt_qposadr[j] for j in jid]),
        dof=np.array([model.jnt_dofadr[j] for j in jid]),
        ctrl=slice(first, model.nu),
        root_qpos=int(model.jnt_qposadr[root]) if root is not None else None,
        root_dof=int(model.jnt_dofadr[root]) if root is not None else None,
        root_body=int(model.jnt_bodyid[root]) if root is not None else None,
        ground_geoms=np.flatnonzero(model.geom_bodyid == 0),
        fall_bodies=np.array(fall, dtype=int),
        limited=np.array([bool(model.jnt_limited[j]) for j in jid]),
        ranges=np.array([model.jnt_range[j] for j in jid]),
        torque_limit=np.asarray(limits, dtype=np.float64),
    )


def joint_names(scene: Path, spec_path: Path) -> list[str]:
    """The scene's hinge and slide joints in MJCF order (an importer's default policy order)."""
    if not scene.is_file():
        raise BadInput(f"{spec_path}: the scene {scene} does not exist")
    ms = _parse(scene)
    return [j.name for j in ms.joints if j.type in (mujoco.mjtJoint.mjJNT_HINGE, mujoco.mjtJoint.mjJNT_SLIDE)]
