"""The known families of contract mistakes, each as the corrected specs to try: what a deploy spec gets wrong
when a policy that walked in training falls in another simulator.

Every candidate is a whole DeploySpec (checked) with the change described twice: as the fix ("scale joint_vel by
0.05") and as the diagnosis a robotics engineer would write ("joint_vel is scaled by 1; the policy expects 0.05:
every value is 20x too large"). Families, in the order they are tried (the usual suspects first):

  joint order      structured permutations from the joint names: left/right mirrored, front/rear swapped,
                   limb-major <-> part-major (Isaac Gym's depth-first against Isaac Sim's breadth-first), each
                   limb's joints reversed; as a joint map (names only) and as a policy order (names and every
                   per-joint vector); and the PD gains alone in that order (gains given in the robot's order)
  observation scale  each term's scale x and / 2, 4, 10, 20, degrees <-> radians, its sign, and 1
  default pose     joint positions relative to the default pose, or absolute
  action           action scale x and / 2, 4; the offset (the default pose) dropped or added; the last-action
                   term before or after the clip
  history layout   term-major <-> frame-major
  physics          the physics step (1, 2, 5 ms at the same control rate) and the control rate (x 2, / 2)
  PD gains         kp and kd x and / 2, 4
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from dataclasses import dataclass

from edgeperf.domains.mujoco.spec import DeploySpec, ObsTerm
from edgeperf.errors import BadInput

FACTORS = (2.0, 4.0, 10.0, 20.0, 180.0 / math.pi)
GAIN_FACTORS = (2.0, 4.0)
PHYSICS_DTS = (0.001, 0.002, 0.005)
# Limb tokens and their mirror (left <-> right) and front/rear partners
MIRROR = {"FR": "FL", "FL": "FR", "RR": "RL", "RL": "RR", "RF": "LF", "LF": "RF", "RH": "LH", "LH": "RH",
          "LEFT": "RIGHT", "RIGHT": "LEFT", "L": "R", "R": "L"}  # fmt: skip
FRONT_REAR = {"FR": "RR", "RR": "FR", "FL": "RL", "RL": "FL", "RF": "RH", "RH": "RF", "LF": "LH", "LH": "LF"}
PER_JOINT = ("kp", "kd", "default_pos", "action_scale", "action_offset", "torque_limit", "target_clip")


@dataclass(frozen=True)
class Candidate:
    family: str
    fix: str  # what the corrected spec changes
    diagnosis: str  # what was wrong, in words
    spec: DeploySpec
    values: tuple[float, ...] = ()  # the numbers a numeric fix sets (scales, gains): how plausible they are
    familiar: frozenset = frozenset()  # numbers the spec already uses for observation scales (and 1)

    def plausibility(self) -> float:
        """A prior among fixes that recover the same success (a policy tolerates a range of scales, so success
        alone cannot tell 4 -> 1 from 4 -> 0.2): 1 when every number the fix sets is one the spec already uses
        for a scale (or 1), 0.75 when each is conventional (1, 2, 2.5 or 5 times a power of ten: 0.25, 0.05,
        20), 0 otherwise (4 / 57.3 = 0.0698); 0.5 for a fix that sets no number (an order, a layout)."""
        if not self.values:
            return 0.5
        if all(any(math.isclose(v, f, rel_tol=1e-6) for f in self.familiar) for v in self.values):
            return 1.0
        return 0.75 if all(conventional(v) for v in self.values) else 0.0


def conventional(v: float) -> bool:
    if v == 0:
        return True
    mantissa = abs(v) / 10 ** math.floor(math.log10(abs(v)) + 1e-12)
    return any(abs(mantissa - m) < 1e-6 * m for m in (1.0, 2.0, 2.5, 5.0, 10.0))


def candidates(spec: DeploySpec, joint_names: tuple[str, ...]) -> Iterator[Candidate]:
    """Every candidate of every family for `spec`, whose policy joints are `joint_names` (from the scene);
    duplicates (the same spec by two routes) and specs the checks refuse are left out."""
    seen = {_key(spec)}
    familiar = frozenset({1.0, *_numbers([t.scale for t in spec.observation])})
    for family in (_joint_order, _scales, _default_pose, _action, _history, _physics, _gains):
        for c in family(spec, joint_names):
            k = _key(c.spec)
            if k not in seen:
                seen.add(k)
                yield dataclasses.replace(c, familiar=familiar)


def _key(spec: DeploySpec) -> tuple:
    return tuple(getattr(spec, f.name) if f.name != "commands" else tuple(sorted(spec.commands.items()))
                 for f in dataclasses.fields(spec))  # fmt: skip


def _try(family: str, fix: str, diagnosis: str, spec: DeploySpec, values=(), **changes) -> list[Candidate]:
    try:
        return [Candidate(family, fix, diagnosis, spec.replace(**changes), _numbers(values))]
    except BadInput:
        return []


def _numbers(values) -> tuple[float, ...]:
    flat: list[float] = []
    for v in values if isinstance(values, (list, tuple)) else (values,):
        flat += list(v) if isinstance(v, (list, tuple)) else [v]
    return tuple(float(x) for x in flat)


# --- joint order ----------------------------------------------------------------------------------------------


def limb_of(name: str) -> tuple[str | None, str]:
    """(limb token, the rest) of a joint name: FR_hip_joint -> (FR, hip_joint), left_knee -> (LEFT, knee)."""
    parts = name.split("_")
    for i, p in enumerate(parts):
        if p.upper() in MIRROR:
            return p.upper(), "_".join(parts[:i] + parts[i + 1 :])
    return None, name


def permutations(names: tuple[str, ...]) -> list[tuple[str, list[int]]]:
    """(what it is, P) for each structured permutation of the joints: policy joint i becomes names[P[i]]."""
    n = len(names)
    parsed = [limb_of(x) for x in names]
    index = {(limb, rest): i for i, (limb, rest) in enumerate(parsed)}
    out = []
    for label, table in (("left and right swapped", MIRROR), ("front and rear legs swapped", FRONT_REAR)):
        perm = [index.get((table.get(limb, limb) if limb else None, rest), i) for i, (limb, rest) in enumerate(parsed)]
        if sorted(perm) == list(range(n)) and perm != list(range(n)):
            out.append((label, perm))
    limbs = list(dict.fromkeys(limb for limb, _ in parsed if limb))
    parts = list(dict.fromkeys(rest for limb, rest in parsed if limb))
    if len(limbs) > 1 and len(parts) > 1:
        li = {x: k for k, x in enumerate(limbs)}
        pi = {x: k for k, x in enumerate(parts)}

        def order(key) -> list[int]:
            limbed = [i for i in range(n) if parsed[i][0]]
            placed = iter(sorted(limbed, key=key))
            return [next(placed) if parsed[i][0] else i for i in range(n)]

        for label, key in (
            ("grouped by limb (depth-first) where the policy groups by joint type (breadth-first)",
             lambda i: (pi[parsed[i][1]], li[parsed[i][0]])),
            ("grouped by joint type (breadth-first) where the policy groups by limb (depth-first)",
             lambda i: (li[parsed[i][0]], pi[parsed[i][1]])),
        ):  # fmt: skip
            perm = order(key)
            if perm != list(range(n)):
                out.append((label, perm))
        rev = list(range(n))
        for limb in limbs:
            at = [i for i in range(n) if parsed[i][0] == limb]
            for i, j in zip(at, reversed(at), strict=True):
                rev[i] = j
        if rev != list(range(n)):
            out.append(("each limb's joints in reverse order", rev))
    return out


def _permute(vec, perm: list[int]):
    return None if vec is None else tuple(vec[p] for p in perm)


def _joint_order(spec: DeploySpec, names: tuple[str, ...]) -> list[Candidate]:
    out = []
    for label, perm in permutations(names):
        moved = [f"{names[i]} <- {names[p]}" for i, p in enumerate(perm) if p != i]
        shown = ", ".join(moved[:4]) + (f" and {len(moved) - 4} more" if len(moved) > 4 else "")
        joints = _permute(spec.joints, perm)
        out += _try(
            "joint order",
            f"reorder the joint map: {label}",
            f"the joint map is wrong, {label}: {len(moved)} of {len(names)} joints on the wrong motor ({shown})",
            spec,
            joints=joints,
        )
        out += _try(
            "joint order",
            f"reorder the policy's joints ({label}), their gains, default pose and scales with them",
            f"the policy's joint order differs from the spec's: {label}",
            spec,
            joints=joints,
            **{k: _permute(getattr(spec, k), perm) for k in PER_JOINT},
        )
        out += _try(
            "joint order",
            f"reorder kp and kd ({label})",
            f"the PD gains are in another joint order than the policy's ({label})",
            spec,
            kp=_permute(spec.kp, perm),
            kd=_permute(spec.kd, perm),
        )
    return out


# --- observation ----------------------------------------------------------------------------------------------


def _fmt(scale) -> str:
    return f"[{', '.join(f'{v:g}' for v in scale)}]" if isinstance(scale, tuple) else f"{scale:g}"


def _times(scale, f: float):
    return tuple(v * f for v in scale) if isinstance(scale, tuple) else scale * f


def _with_term(spec: DeploySpec, i: int, **changes) -> tuple[ObsTerm, ...]:
    terms = list(spec.observation)
    terms[i] = dataclasses.replace(terms[i], **changes)
    return tuple(terms)


def _scales(spec: DeploySpec, names) -> list[Candidate]:
    out = []
    for i, term in enumerate(spec.observation):
        s = term.scale
        options = []
        for f in FACTORS:
            label = "degrees for radians" if abs(f - 180 / math.pi) < 1e-9 else f"{f:g}x"
            options.append((_times(s, 1 / f), f"every value is {label} too large", f"by 1/{f:.4g}"))
            options.append((_times(s, f), f"every value is {f:.4g}x too small", f"by {f:.4g}"))
        options.append((_times(s, -1.0), "its sign is flipped", "by -1"))
        if any(v != 1.0 for v in (s if isinstance(s, tuple) else (s,))):
            options.append((1.0, "it is scaled where the policy expects it unscaled", "to 1"))
        for new, why, how in options:
            out += _try(
                "observation scale",
                f"scale {term.name} {how} ({_fmt(s)} -> {_fmt(new)})",
                f"{term.name} is scaled by {_fmt(s)}; the policy expects {_fmt(new)}: {why}",
                spec,
                values=new,
                observation=_with_term(spec, i, scale=new),
            )
    return out


def _default_pose(spec: DeploySpec, names) -> list[Candidate]:
    out = []
    for i, term in enumerate(spec.observation):
        if term.name in ("joint_pos_rel", "joint_pos"):
            other = "joint_pos" if term.name == "joint_pos_rel" else "joint_pos_rel"
            why = (
                "the default pose is subtracted from the joint positions; the policy expects them absolute"
                if other == "joint_pos"
                else "the joint positions are absolute; the policy expects them relative to the default pose"
            )
            out += _try("default pose", f"observe {other} instead of {term.name}", why, spec,
                        observation=_with_term(spec, i, name=other))  # fmt: skip
    return out


def _action(spec: DeploySpec, names) -> list[Candidate]:
    out = []
    for f in GAIN_FACTORS:
        for new, word in ((_times(spec.action_scale, f), f"{f:g}x too small"), (_times(spec.action_scale, 1 / f),
                                                                                f"{f:g}x too large")):  # fmt: skip
            out += _try(
                "action",
                f"action scale {_fmt(spec.action_scale[0])} -> {_fmt(new[0])}",
                f"the action scale is {word}: the targets move {word.split()[0]} as far as in training",
                spec,
                values=new,
                action_scale=new,
            )
    if spec.action_mode == "position":
        if spec.action_offset is None:
            out += _try("action", "action offset 0 instead of the default pose",
                        "the default pose is added to the action where the policy's targets are absolute", spec,
                        action_offset=(0.0,) * spec.n)  # fmt: skip
        else:
            out += _try("action", "action offset = the default pose",
                        "the action is not offset by the default pose", spec, action_offset=None)  # fmt: skip
    for i, term in enumerate(spec.observation):
        if term.name == "last_action" and spec.action_clip is not None:
            out += _try(
                "action",
                f"last_action {'as the policy returned it' if term.clipped else 'after the clip'}",
                "the last-action term is "
                + ("clipped" if term.clipped else "unclipped")
                + " where the policy saw it "
                + ("unclipped" if term.clipped else "clipped"),
                spec,
                observation=_with_term(spec, i, clipped=not term.clipped),
            )
    return out


def _history(spec: DeploySpec, names) -> list[Candidate]:
    lengths = {t.history for t in spec.observation}
    if spec.history_layout == "term-major" and len(lengths) == 1 and max(lengths) > 1:
        h = lengths.pop()
        terms = tuple(dataclasses.replace(t, history=1) for t in spec.observation)
        return _try("history layout", f"frame-major history ({h} whole frames, oldest first)",
                    "the history is laid out term-major (each term's frames together); the policy expects "
                    "frame-major (whole observations stacked)", spec, observation=terms, history_layout="frame-major",
                    frames=h)  # fmt: skip
    if spec.history_layout == "frame-major" and spec.frames > 1:
        terms = tuple(dataclasses.replace(t, history=spec.frames) for t in spec.observation)
        return _try("history layout", f"term-major history ({spec.frames} frames per term, oldest first)",
                    "the history is laid out frame-major; the policy expects term-major (Isaac Lab's "
                    "CircularBuffer: each term's frames together)", spec, observation=terms,
                    history_layout="term-major", frames=1)  # fmt: skip
    return []


def _physics(spec: DeploySpec, names) -> list[Candidate]:
    out = []
    period = spec.physics_dt * spec.decimation
    for dt in PHYSICS_DTS:
        dec = round(period / dt)
        if dec >= 1 and abs(dec * dt - period) < 1e-9 and dt != spec.physics_dt:
            out += _try("physics", f"physics step {dt * 1e3:g} ms, decimation {dec} (the same control rate)",
                        f"the physics step is {spec.physics_dt * 1e3:g} ms; training stepped at {dt * 1e3:g} ms",
                        spec, physics_dt=dt, decimation=dec)  # fmt: skip
    for dec, word in ((spec.decimation * 2, "half"), (spec.decimation // 2, "twice")):
        if dec >= 1 and dec != spec.decimation and (word == "half" or spec.decimation % 2 == 0):
            hz = 1 / (spec.physics_dt * dec)
            out += _try("physics", f"decimation {dec} ({hz:g} Hz control)",
                        f"the policy runs at {1 / period:g} Hz; it was trained at {hz:g} Hz ({word} the rate)",
                        spec, decimation=dec)  # fmt: skip
    return out


def _gains(spec: DeploySpec, names) -> list[Candidate]:
    out = []
    for f in GAIN_FACTORS:
        for g, word in ((f, "softer"), (1 / f, "stiffer")):
            kp, kd = _times(spec.kp, g), _times(spec.kd, g)
            out += _try("PD gains", f"kp and kd x {g:g}", f"the PD gains are {f:g}x {word} than in training",
                        spec, values=(kp, kd), kp=kp, kd=kd)  # fmt: skip
    return out
