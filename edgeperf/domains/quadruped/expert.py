"""The model-based expert: a phase-driven gait with neutral-point foot placement, body levelling and leg IK.

It reads privileged simulator state (true base velocity and orientation) from the env and is memoryless: its
action is a function of the current state and the gait phase only, so DAgger can ask it to label any state.

Per leg, the phase (the env's gait clock plus the leg's offset: diagonal pairs for trot and spin, lateral pairs
for pace) splits into stance (first half) and swing. Feet are planned in a levelled frame (roll and pitch
partly removed, gain 0.5) and mapped back into the body, which pushes the body level on the stance legs.

- Stance: from where the foot is now (forward kinematics of the measured joints), the target moves back by the
  commanded velocity of the hip point (linear command + yaw rate x hip position) times a 50 ms lookahead, at
  the nominal height. Working from the measured foot keeps a foot where it landed: a foot placed wide to catch a
  push stays there and the body moves over it.
- Swing: the foot lifts on a half-sine (7 cm) and heads for the neutral point (Raibert): under the hip, plus
  half a stance of the *actual* hip velocity, so a push is answered by stepping into it. The target closes on
  that point over the 50 ms lookahead, never faster than the remaining swing time allows.
- Analytic IK per leg (abduction, hip, knee) turns feet into joint targets; the action is their offset from
  the default pose divided by the action scale.

Scales found by sweeping seeded episodes: yaw strokes are 0.65x the commanded turn (the stance lookahead
overshoots in yaw), pace strokes 1.2x (pace slips).
"""

from __future__ import annotations

import math

import numpy as np

from edgeperf.domains.quadruped.task import (
    ACTION_LIMIT,
    ACTION_SCALE,
    CALF,
    DEFAULT_POSE,
    HIP_LINK,
    HIP_OFFSETS,
    THIGH,
)

# Stride multiplier per task (pace slips more than trot and needs a longer stance stroke for the same speed).
TASK_STRIDE = {"pace": 1.2}
HIP_SIGN = np.array([-1.0, 1.0, -1.0, 1.0])  # FR, FL, RR, RL: the abduction link points right (-y) or left (+y)


def leg_ik(foot: np.ndarray, side: float) -> np.ndarray:
    """Joint angles (abduction, hip, knee) that put the foot at `foot` (m, in the hip frame, body axes)."""
    x, y, z = foot
    lh = HIP_LINK * side
    r2 = x * x + y * y + z * z - lh * lh
    cos_knee = (r2 - THIGH * THIGH - CALF * CALF) / (2 * THIGH * CALF)
    knee = -math.acos(min(1.0, max(-1.0, cos_knee)))
    leg = math.sqrt(THIGH * THIGH + CALF * CALF + 2 * THIGH * CALF * math.cos(knee))
    hip = math.asin(min(1.0, max(-1.0, -x / leg))) - knee / 2
    c = leg * math.cos(hip + knee / 2)
    abd = math.atan2(c * y + lh * z, lh * y - c * z)
    return np.array([abd, hip, knee])


def leg_fk(q: np.ndarray, side: float) -> np.ndarray:
    """Foot position (m, hip frame, body axes) for joint angles (abduction, hip, knee)."""
    abd, hip, knee = q
    lh = HIP_LINK * side
    leg = math.sqrt(THIGH * THIGH + CALF * CALF + 2 * THIGH * CALF * math.cos(knee))
    swing = hip + knee / 2
    x, z = -leg * math.sin(swing), -leg * math.cos(swing)
    return np.array([x, math.cos(abd) * lh - math.sin(abd) * z, math.sin(abd) * lh + math.cos(abd) * z])


def _rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


class GaitExpert:
    """expert(env) -> the 12 actions for the env's current state (see the module docstring)."""

    def __init__(
        self,
        height: float = 0.25,
        lift: float = 0.07,
        level_gain: float = 0.5,
        duty: float = 0.5,
        stride: float | None = None,
        yaw_stride: float = 0.65,
        lookahead: float = 0.05,
    ):
        self.height, self.lift, self.level_gain, self.duty = height, lift, level_gain, duty
        self.stride, self.yaw_stride, self.lookahead = stride, yaw_stride, lookahead

    def targets(self, env) -> np.ndarray:
        """Joint position targets (rad, 12) for the env's current state."""
        s = env.privileged()
        cmd, vel = s["command"], s["heading_vel"]
        t_stance = env.period * self.duty
        t_swing = env.period * (1.0 - self.duty)
        stride = self.stride if self.stride is not None else TASK_STRIDE.get(env.task, 1.0)
        cy, sy = math.cos(s["yaw"]), math.sin(s["yaw"])
        rp = np.array([[cy, sy, 0], [-sy, cy, 0], [0, 0, 1]]) @ s["base_rot"]  # roll-pitch part: body -> level
        roll = math.atan2(rp[2, 1], rp[2, 2])
        pitch = -math.asin(max(-1.0, min(1.0, rp[2, 0])))
        k = self.level_gain
        level_to_body = (_rot_y(-k * pitch) @ _rot_x(-k * roll)).T
        body_to_level = level_to_body.T
        wz = self.yaw_stride * cmd[2]
        q = np.empty(12)
        for i in range(4):
            hx, hy = HIP_OFFSETS[i, 0], HIP_OFFSETS[i, 1]
            cur = body_to_level @ (HIP_OFFSETS[i] + leg_fk(env.q[3 * i : 3 * i + 3], HIP_SIGN[i]))
            phi = (s["phase"] + env.leg_offsets[i]) % 1.0
            v_cmd = stride * np.array([cmd[0] - wz * hy, cmd[1] + wz * hx])
            if phi < self.duty:
                xy = cur[:2] - v_cmd * self.lookahead
                z = -self.height
            else:
                u = (phi - self.duty) / (1.0 - self.duty)
                v_act = np.array([vel[0] - vel[2] * hy, vel[1] + vel[2] * hx])
                land = np.array([hx, hy + HIP_SIGN[i] * HIP_LINK]) + 0.5 * v_act * t_stance
                left = max((1.0 - u) * t_swing, 1e-3)
                xy = cur[:2] + (land - cur[:2]) * min(1.0, self.lookahead / left)
                z = -self.height + self.lift * math.sin(math.pi * u)
            foot = level_to_body @ np.array([xy[0], xy[1], z]) - HIP_OFFSETS[i]
            q[3 * i : 3 * i + 3] = leg_ik(foot, HIP_SIGN[i])
        return q

    def __call__(self, env) -> np.ndarray:
        a = (self.targets(env) - DEFAULT_POSE) / ACTION_SCALE
        return np.clip(a, -ACTION_LIMIT, ACTION_LIMIT).astype(np.float32)
