"""mjlab's policy metadata: the deploy contract its exporter writes into the ONNX (`--domain mujoco:policy.onnx`).

mjlab's `exporter_utils.get_base_metadata` + `attach_metadata_to_onnx` store strings in the ONNX's
metadata_props: lists joined with "," and numbers as "%.3f" (`list_to_csv_str`); in newer versions a list inside
a list (a per-dimension scale, a [min, max] clip) is joined with ";", in older ones it was str()-formatted
("[-inf, inf]", commas and all). The keys: joint_names (the robot's joints in MJCF order, which is also the
action's order: the action term targets actuators `.*` in natural joint order), joint_stiffness and
joint_damping (the actuators' kp and kd, same order), default_joint_pos, action_scale (one value or one per
joint; the offset is the default pose: `use_default_offset=True`), command_names, observation_names (the actor
group's terms, concatenated in this order) and, in newer versions, observation_terms_scale, _clip,
_history_length (0: none) and _flatten_history_dim. Older exports carry no term settings: scale 1, no clip, no
history, as mjlab's velocity task has them.

The metadata names no scene, physics step or command: give `,scene=robot.xml`; the physics is mjlab's velocity
task's (5 ms, decimation 4: 50 Hz) unless `,dt=` and `,decimation=` say otherwise; the command is edgeperf's
default (0.5 m/s forward) unless `,vx=`, `,vy=`, `,yaw_rate=` fix it. The episode is 20 s, a fall is a tilt over
70 degrees (mjlab's `fell_over`). The ONNX itself is the default reference.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

from edgeperf.domains.mujoco.spec import DeploySpec, ObsTerm
from edgeperf.errors import BadInput

NAME = "mjlab"
KEYS = ("joint_names", "default_joint_pos", "observation_names")
# mjlab's actor terms (tasks/velocity) -> edgeperf's vocabulary
TERM_NAMES = {
    "base_lin_vel": "base_lin_vel",
    "base_ang_vel": "base_ang_vel",
    "projected_gravity": "projected_gravity",
    "joint_pos": "joint_pos_rel",  # mdp.joint_pos_rel
    "joint_vel": "joint_vel",  # mdp.joint_vel_rel: the default velocity is 0
    "actions": "last_action",
    "command": "velocity_commands",  # the twist command: lin_vel_x, lin_vel_y, ang_vel_z
}
PHYSICS_DT, DECIMATION = 0.005, 4  # mjlab's velocity task (make_velocity_env_cfg)
# Top-level commas outside brackets: older exports str()-formatted nested lists ("[-inf, inf]")
_TOP_LEVEL_COMMA = re.compile(r",(?![^\[\(]*[\]\)])")


def recognises(data: dict) -> bool:
    return all(k in data for k in KEYS)


def read(data: dict, path: Path, scene: Path | None) -> DeploySpec:
    joints = tuple(_items(data["joint_names"]))
    n = len(joints)
    terms = []
    names = _items(data["observation_names"])
    scales = _column(data, "observation_terms_scale", len(names), path)
    clips = _column(data, "observation_terms_clip", len(names), path)
    history = _column(data, "observation_terms_history_length", len(names), path)
    flatten = _column(data, "observation_terms_flatten_history_dim", len(names), path)
    for i, name in enumerate(names):
        ours = TERM_NAMES.get(name)
        if ours is None:
            raise BadInput(
                f"{path}: observation term '{name}' is not one edgeperf reads from mjlab metadata "
                f"({', '.join(TERM_NAMES)}); write an edgeperf deploy spec with a user term (module:function) for it"
            )
        length = round(_number(path, f"observation_terms_history_length[{i}]", history[i])) if history[i] else 0
        if length > 1 and flatten[i] and _number(path, "observation_terms_flatten_history_dim", flatten[i]) == 0:
            raise BadInput(
                f"{path}: term {name} keeps its {length}-frame history unflattened (flatten_history_dim false): "
                "not a flat observation edgeperf can build"
            )
        terms.append(
            ObsTerm(
                name=ours,
                scale=_scale(path, name, scales[i]) if scales[i] else 1.0,
                clip=_clip(path, name, clips[i]) if clips[i] else None,
                history=max(1, length),
            )
        )
    scale = _numbers(path, "action_scale", data.get("action_scale", "1.0"))
    return DeploySpec(
        source=path,
        format=NAME,
        scene=scene,
        physics_dt=PHYSICS_DT,
        decimation=DECIMATION,
        joints=joints,
        kp=_numbers(path, "joint_stiffness", _need(data, "joint_stiffness", path)),
        kd=_numbers(path, "joint_damping", _need(data, "joint_damping", path)),
        default_pos=_numbers(path, "default_joint_pos", data["default_joint_pos"]),
        action_scale=scale * n if len(scale) == 1 else scale,
        observation=tuple(terms),
        max_tilt_deg=70.0,
        reference=str(path),
    )


def read_onnx_metadata(path: Path) -> dict:
    """The ONNX's metadata_props as a mapping (the weights are parsed, never run)."""
    import onnx
    from google.protobuf.message import DecodeError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, OSError) as exc:
        raise BadInput(f"{path}: not an ONNX model ({exc})") from None
    return {p.key: p.value for p in model.metadata_props}


def _need(data: dict, key: str, path: Path) -> str:
    if key not in data:
        raise BadInput(f"{path}: the policy's mjlab metadata has no {key}")
    return data[key]


def _items(text: str) -> list[str]:
    return [item.strip() for item in _TOP_LEVEL_COMMA.split(text)] if text.strip() else []


def _column(data: dict, key: str, terms: int, path: Path) -> list[str]:
    """One entry per observation term ("" each where an older export has no such key)."""
    if key not in data:
        return [""] * terms
    items = _items(data[key])
    if len(items) != terms:
        raise BadInput(f"{path}: {key} has {len(items)} entries but observation_names names {terms} terms")
    return items


def _number(path: Path, key: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"{path}: {key} is '{text}'; a number is needed") from None
    if math.isnan(value):
        raise BadInput(f"{path}: {key} is NaN")
    return value


def _numbers(path: Path, key: str, text: str) -> tuple[float, ...]:
    values = tuple(_number(path, f"{key}[{i}]", v) for i, v in enumerate(_items(text)))
    for i, v in enumerate(values):
        if not math.isfinite(v):
            raise BadInput(f"{path}: {key}[{i}] is {v}; a finite number is needed")
    return values


def _parts(text: str) -> list[str]:
    """A nested entry: "a;b" (newer) or "[a, b]" / "(a, b)" (older)."""
    return [p.strip() for p in re.split(r"[;,]", text.strip().strip("[]()")) if p.strip()]


def _scale(path: Path, term: str, text: str) -> float | tuple[float, ...]:
    values = tuple(_number(path, f"observation_terms_scale ({term})", p) for p in _parts(text))
    if not values or not all(math.isfinite(v) for v in values):
        raise BadInput(f"{path}: observation_terms_scale ({term}) is '{text}'; finite numbers are needed")
    return values[0] if len(values) == 1 else values


def _clip(path: Path, term: str, text: str) -> tuple[float, float] | None:
    parts = _parts(text)
    if len(parts) != 2:
        raise BadInput(f"{path}: observation_terms_clip ({term}) is '{text}'; a 'min;max' pair is needed")
    lo, hi = (_number(path, f"observation_terms_clip ({term})", p) for p in parts)
    if math.isinf(lo) and math.isinf(hi):
        return None  # mjlab writes [-inf, inf] for "no clip"
    return max(lo, -1e30), min(hi, 1e30)
