"""edgeperf's own deploy spec, `schema = "edgeperf.deploy/1"` (TOML, or the same keys in YAML).

schema = "edgeperf.deploy/1"
scene = "g1.xml"                    # the MJCF, relative to this file
reference = "policy.onnx"           # optional: the policy it deploys (validate's default --reference)

[physics]   dt = 0.002, decimation = 10, episode_s = 20
[joints]    names = [...]           # MJCF joint (or actuator) names, policy order; or actuator_index = [...]
            kp, kd, default, torque_limit (optional), init_noise   # a number or one value per joint
[action]    mode = "position" | "torque", scale, offset (optional), clip (optional), target_clip (optional)
[observation] layout = "term-major" | "frame-major", frames, noise
[[observation.terms]] name, scale, clip = [lo, hi], history, period, random_offset, clipped, function, size
[commands]  vx, vy, yaw_rate: a value or a [low, high] range drawn per episode
[termination] min_base_height, max_tilt_deg, fall_contacts = [body names]
[success]   min_forward_ratio, max_tracking_error
[randomize] friction, push_n, push_every_s, mass_scale, motor_strength: [low, high]
"""

from __future__ import annotations

from pathlib import Path

from edgeperf.domains.mujoco.formats.common import (
    no_unknown,
    number,
    numbers_of,
    relative,
    span,
    table,
    whole,
)
from edgeperf.domains.mujoco.spec import DEFAULT_COMMANDS, SCHEMA, DeploySpec, ObsTerm
from edgeperf.errors import BadInput

NAME = "edgeperf"
KEYS = ("schema",)
TOP = ("schema", "scene", "reference", "physics", "joints", "action", "observation", "commands", "termination",
       "success", "randomize")  # fmt: skip
SECTIONS = {
    "physics": ("dt", "decimation", "episode_s"),
    "joints": ("names", "actuator_index", "kp", "kd", "default", "torque_limit", "init_noise"),
    "action": ("mode", "scale", "offset", "clip", "target_clip"),
    "observation": ("layout", "frames", "noise", "terms"),
    "commands": ("vx", "vy", "yaw_rate"),
    "termination": ("min_base_height", "max_tilt_deg", "fall_contacts"),
    "success": ("min_forward_ratio", "max_tracking_error"),
    "randomize": ("friction", "push_n", "push_every_s", "mass_scale", "motor_strength"),
}
TERM_KEYS = ("name", "scale", "clip", "history", "period", "random_offset", "clipped", "function", "size")


def recognises(data: dict) -> bool:
    return "schema" in data


def read(data: dict, path: Path, scene: Path | None) -> DeploySpec:
    if data["schema"] != SCHEMA:
        raise BadInput(f"{path}: schema '{data['schema']}' is not one this edgeperf reads ({SCHEMA})")
    no_unknown(path, data, TOP, "the spec")
    t = {name: table(path, data, name) for name in SECTIONS}
    for name, keys in SECTIONS.items():
        no_unknown(path, t[name], keys, f"[{name}]")
    j, a, o = t["joints"], t["action"], t["observation"]
    if ("names" in j) == ("actuator_index" in j):
        raise BadInput(f"{path}: [joints] needs names (MJCF joint names, policy order) or actuator_index, not both")
    if "names" in j:
        names = j["names"]
        if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
            raise BadInput(f"{path}: [joints] names must be a list of MJCF joint names")
        joints: tuple = tuple(names)
    else:
        joints = tuple(whole(path, f"actuator_index[{i}]", v) for i, v in enumerate(j["actuator_index"]))
    n = len(joints)
    for key in ("kp", "kd", "default"):
        if key not in j:
            raise BadInput(f"{path}: [joints] needs {key}")
    for key in ("dt", "decimation"):
        if key not in t["physics"]:
            raise BadInput(f"{path}: [physics] needs {key}")
    if "scale" not in a:
        raise BadInput(f"{path}: [action] needs scale")
    terms = o.get("terms", [])
    if not isinstance(terms, list) or not terms:
        raise BadInput(f"{path}: [observation] needs terms: a list of [[observation.terms]] tables")
    tc = a.get("target_clip")
    r = t["randomize"]
    return DeploySpec(
        source=path,
        format=NAME,
        scene=scene or (relative(path, data["scene"]) if "scene" in data else None),
        physics_dt=number(path, "physics.dt", t["physics"]["dt"]),
        decimation=whole(path, "physics.decimation", t["physics"]["decimation"]),
        episode_s=number(path, "physics.episode_s", t["physics"].get("episode_s", 20.0)),
        joints=joints,
        kp=numbers_of(path, "joints.kp", j["kp"], n),
        kd=numbers_of(path, "joints.kd", j["kd"], n),
        default_pos=numbers_of(path, "joints.default", j["default"], n),
        torque_limit=numbers_of(path, "joints.torque_limit", j["torque_limit"], n) if "torque_limit" in j else None,
        init_noise=number(path, "joints.init_noise", j.get("init_noise", 0.0)),
        action_mode=str(a.get("mode", "position")),
        action_scale=numbers_of(path, "action.scale", a["scale"], n),
        action_offset=numbers_of(path, "action.offset", a["offset"], n) if "offset" in a else None,
        action_clip=number(path, "action.clip", a["clip"]) if "clip" in a else None,
        target_clip=tuple(span(path, f"action.target_clip[{i}]", v) for i, v in enumerate(tc)) if tc else None,
        observation=tuple(_term(path, i, term) for i, term in enumerate(terms)),
        history_layout=str(o.get("layout", "term-major")),
        frames=whole(path, "observation.frames", o.get("frames", 1)),
        obs_noise=number(path, "observation.noise", o.get("noise", 0.0)),
        commands={k: span(path, f"commands.{k}", v) for k, v in t["commands"].items()} or dict(DEFAULT_COMMANDS),
        min_base_height=_opt(path, t["termination"], "min_base_height"),
        max_tilt_deg=_opt(path, t["termination"], "max_tilt_deg", 60.0),
        fall_contacts=tuple(map(str, t["termination"].get("fall_contacts", ()))),
        min_forward_ratio=_opt(path, t["success"], "min_forward_ratio", 0.5),
        max_tracking_error=_opt(path, t["success"], "max_tracking_error"),
        reference=str(relative(path, data["reference"])) if "reference" in data else None,
        friction=span(path, "randomize.friction", r["friction"]) if "friction" in r else None,
        push_n=span(path, "randomize.push_n", r["push_n"]) if "push_n" in r else None,
        push_every_s=span(path, "randomize.push_every_s", r.get("push_every_s", [2.0, 4.0])),
        mass_scale=span(path, "randomize.mass_scale", r["mass_scale"]) if "mass_scale" in r else None,
        motor_strength=span(path, "randomize.motor_strength", r["motor_strength"]) if "motor_strength" in r else None,
    )


def _opt(path: Path, t: dict, key: str, default=None):
    if key not in t:
        return default
    return None if t[key] is False else number(path, key, t[key])


def _term(path: Path, i: int, term) -> ObsTerm:
    where = f"observation.terms[{i}]"
    if not isinstance(term, dict) or "name" not in term:
        raise BadInput(f"{path}: {where} must be a table with a name")
    no_unknown(path, term, TERM_KEYS, where)
    scale = term.get("scale", 1.0)
    return ObsTerm(
        name=str(term["name"]),
        scale=numbers_of(path, f"{where}.scale", scale)
        if isinstance(scale, list)
        else number(path, f"{where}.scale", scale),
        clip=span(path, f"{where}.clip", term["clip"]) if "clip" in term else None,
        history=whole(path, f"{where}.history", term.get("history", 1)),
        period=number(path, f"{where}.period", term["period"]) if "period" in term else None,
        random_offset=bool(term.get("random_offset", False)),
        clipped=bool(term.get("clipped", False)),
        function=str(term["function"]) if "function" in term else None,
        size=whole(path, f"{where}.size", term["size"]) if "size" in term else None,
    )
