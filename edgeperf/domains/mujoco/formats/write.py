"""A DeploySpec written back as a file, in the format it was read from where that format can say it.

edgeperf's own format says everything (TOML for a .toml path, else YAML). A unitree_rl_gym config keeps its own
keys (the original file's, with the scales, gains, default pose and physics replaced) while the spec stays
within what deploy_mujoco.py can express: the MJCF's joint order, its fixed observation layout, scales only
where the script has them. An Isaac Lab deploy.yaml keeps its keys with joint_ids_map, the per-motor gains,
the default pose, the action and each term's scale, clip and history replaced. Anything else (mjlab's metadata
lives inside the ONNX; a change the format cannot say) is written as edgeperf's own format, and `write`
returns why.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from edgeperf.domains.mujoco.formats import isaaclab, read_mapping
from edgeperf.domains.mujoco.spec import SCHEMA, DeploySpec
from edgeperf.errors import BadInput
from edgeperf.results.io import atomic_write_text


def write(spec: DeploySpec, original: DeploySpec, out: Path) -> str:
    """Write `spec` (a corrected `original`) to `out`; returns the format written and, where it is not the
    input's, why."""

    note = ""
    text = None
    if original.format == "unitree_rl_gym":
        text, note = _unitree_rl_gym(spec, original, out)
    elif original.format == "isaaclab":
        text, note = _isaaclab(spec, original, out)
    elif original.format == "mjlab":
        note = "mjlab's contract lives in the ONNX's metadata: written as an edgeperf deploy spec"
    if text is None:
        data = to_mapping(spec, out)
        text = dump_toml(data) if out.suffix.lower() == ".toml" else _yaml(data)
        fmt = "edgeperf"
    else:
        fmt = original.format
    atomic_write_text(out, text)
    return f"{fmt} ({note})" if note else fmt


def _yaml(data: dict) -> str:
    import yaml

    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)


def _rel(path, out: Path) -> str:
    """Relative to the written file where they share a folder below the root (the tree travels), else absolute."""
    path, folder = Path(path).resolve(), out.resolve().parent
    return os.path.relpath(path, folder) if os.path.commonpath([path, folder]) != "/" else str(path)


def _vec(v):
    return list(v) if v is not None else None


def to_mapping(spec: DeploySpec, out: Path) -> dict:
    """The spec in edgeperf's own format (paths relative to `out`)."""
    data: dict = {"schema": SCHEMA}
    if spec.scene is not None:
        data["scene"] = _rel(spec.scene, out)
    if spec.reference and not spec.reference.startswith(("reference:", "example:")):
        data["reference"] = _rel(spec.reference, out) if Path(spec.reference).exists() else spec.reference
    data["physics"] = {"dt": spec.physics_dt, "decimation": spec.decimation, "episode_s": spec.episode_s}
    joints = {"names" if isinstance(spec.joints[0], str) else "actuator_index": list(spec.joints)}
    joints.update(kp=list(spec.kp), kd=list(spec.kd), default=list(spec.default_pos))
    if spec.torque_limit is not None:
        joints["torque_limit"] = list(spec.torque_limit)
    if spec.init_noise:
        joints["init_noise"] = spec.init_noise
    data["joints"] = joints
    action: dict = {"mode": spec.action_mode, "scale": list(spec.action_scale)}
    if spec.action_offset is not None:
        action["offset"] = list(spec.action_offset)
    if spec.action_clip is not None:
        action["clip"] = spec.action_clip
    if spec.target_clip is not None:
        action["target_clip"] = [list(r) for r in spec.target_clip]
    data["action"] = action
    obs: dict = {"layout": spec.history_layout}
    if spec.frames != 1:
        obs["frames"] = spec.frames
    if spec.obs_noise:
        obs["noise"] = spec.obs_noise
    obs["terms"] = [_term(t) for t in spec.observation]
    data["observation"] = obs
    data["commands"] = {k: (lo if lo == hi else [lo, hi]) for k, (lo, hi) in spec.commands.items()}
    term: dict = {"max_tilt_deg": spec.max_tilt_deg if spec.max_tilt_deg is not None else False}
    if spec.min_base_height is not None:
        term["min_base_height"] = spec.min_base_height
    if spec.fall_contacts:
        term["fall_contacts"] = list(spec.fall_contacts)
    data["termination"] = term
    success: dict = {"min_forward_ratio": spec.min_forward_ratio if spec.min_forward_ratio is not None else False}
    if spec.max_tracking_error is not None:
        success["max_tracking_error"] = spec.max_tracking_error
    data["success"] = success
    rand = {k: list(getattr(spec, k)) for k in ("friction", "push_n", "mass_scale", "motor_strength")
            if getattr(spec, k) is not None}  # fmt: skip
    if spec.push_n is not None:
        rand["push_every_s"] = list(spec.push_every_s)
    if rand:
        data["randomize"] = rand
    return data


def _term(t) -> dict:
    out: dict = {"name": t.name}
    if t.scale != 1.0:
        out["scale"] = list(t.scale) if isinstance(t.scale, tuple) else t.scale
    if t.clip is not None:
        out["clip"] = list(t.clip)
    if t.history != 1:
        out["history"] = t.history
    if t.period is not None:
        out["period"] = t.period
    for key in ("random_offset", "clipped"):
        if getattr(t, key):
            out[key] = True
    if t.function is not None:
        out["function"], out["size"] = t.function, t.size
    return out


# --- TOML ---------------------------------------------------------------------------------------------------


def dump_toml(data: dict) -> str:
    """TOML for a mapping of scalars, lists and tables (one level), and arrays of tables: enough for a spec."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in data.items() if not isinstance(v, dict)]
    for name, table in data.items():
        if not isinstance(table, dict):
            continue
        lines += ["", f"[{name}]"]
        arrays = {k: v for k, v in table.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)}
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if k not in arrays]
        for key, rows in arrays.items():
            for row in rows:
                lines += ["", f"[[{name}.{key}]]", *(f"{k} = {_toml_value(v)}" for k, v in row.items())]
    return "\n".join(lines) + "\n"


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            raise BadInput(f"a deploy spec holds finite numbers only, got {v}")
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string: JSON's escapes are TOML's
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise BadInput(f"cannot write {type(v).__name__} in a TOML deploy spec")


# --- the formats people have --------------------------------------------------------------------------------


def _unitree_rl_gym(spec: DeploySpec, original: DeploySpec, out: Path) -> tuple[str | None, str]:
    same = ("scene", "joints", "action_offset", "action_clip", "target_clip", "history_layout", "frames", "action_mode")
    moved = [k for k in same if getattr(spec, k) != getattr(original, k)]
    names = [t.name for t in spec.observation]
    if moved or names != [t.name for t in original.observation]:
        what = ", ".join(moved) if moved else "the observation's terms"
        return None, f"a unitree_rl_gym config cannot change {what}: written as an edgeperf deploy spec"
    scales = {t.name: t.scale for t in spec.observation}
    fixed_terms = {"projected_gravity": 1.0, "last_action": 1.0, "gait_phase": 1.0}
    for name, want in fixed_terms.items():
        if name in scales and scales[name] != want:
            return None, f"deploy_mujoco.py does not scale {name}: written as an edgeperf deploy spec"
    if any(t.clip is not None or t.history != 1 or t.clipped for t in spec.observation):
        return None, "deploy_mujoco.py neither clips nor stacks its terms: written as an edgeperf deploy spec"
    data = read_mapping(original.source)
    data.update(
        simulation_dt=spec.physics_dt,
        control_decimation=spec.decimation,
        kps=list(spec.kp),
        kds=list(spec.kd),
        default_angles=list(spec.default_pos),
        action_scale=spec.action_scale[0] if len(set(spec.action_scale)) == 1 else list(spec.action_scale),
    )
    for key, term in (("ang_vel_scale", "base_ang_vel"), ("dof_pos_scale", "joint_pos_rel"),
                      ("dof_vel_scale", "joint_vel"), ("lin_vel_scale", "base_lin_vel_world")):  # fmt: skip
        if term in scales:
            s = scales[term]
            if isinstance(s, tuple):
                return None, f"deploy_mujoco.py scales {term} by one number: written as an edgeperf deploy spec"
            data[key] = s
    cmd = scales.get("velocity_commands", 1.0)
    data["cmd_scale"] = list(cmd) if isinstance(cmd, tuple) else [cmd] * 3
    return _yaml(data), ""


def _isaaclab(spec: DeploySpec, original: DeploySpec, out: Path) -> tuple[str | None, str]:
    if (spec.physics_dt, spec.scene, spec.action_mode) != (original.physics_dt, original.scene, original.action_mode):
        return None, "deploy.yaml gives only the policy's period: written as an edgeperf deploy spec"
    data = read_mapping(original.source)
    keys = list(data["observations"])
    back = {}
    for key, term in zip(keys, spec.observation, strict=True):
        name = key if isaaclab.TERM_NAMES.get(key) == term.name else next(
            (k for k, v in isaaclab.TERM_NAMES.items() if v == term.name), None
        )  # fmt: skip
        if name is None:
            return None, f"deploy.yaml has no term for {term.name}: written as an edgeperf deploy spec"
        cfg = dict(data["observations"][key] or {})
        cfg["scale"] = list(term.scale) if isinstance(term.scale, tuple) else term.scale
        cfg["clip"] = list(term.clip) if term.clip is not None else None
        cfg["history_length"] = spec.frames if spec.history_layout == "frame-major" else term.history
        back[name] = cfg
    ids = list(spec.joints)
    stiffness, damping = list(data["stiffness"]), list(data["damping"])
    for i, motor in enumerate(ids):
        stiffness[motor], damping[motor] = spec.kp[i], spec.kd[i]
    act = dict(data["actions"]["JointPositionAction"] or {})
    act["scale"] = list(spec.action_scale)
    act["offset"] = list(spec.action_offset) if spec.action_offset is not None else list(spec.default_pos)
    data.update(
        joint_ids_map=ids,
        step_dt=spec.physics_dt * spec.decimation,
        stiffness=stiffness,
        damping=damping,
        default_joint_pos=list(spec.default_pos),
        actions={"JointPositionAction": act},
        observations=back,
        use_gym_history=spec.history_layout == "frame-major",
    )
    return _yaml(data), ""
