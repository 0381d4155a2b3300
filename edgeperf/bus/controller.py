"""What a controller on the bus needs from a deploy spec: the observation built from LowState_ as the spec says
(the same term code as the simulated env: scales, clips, history, layout), and the command for the driven motors.

A LowState_ carries no base linear velocity or height: a spec that observes base_lin_vel, base_lin_vel_world,
base_height or a user term cannot run from the bus (said at once). The gait phase is counted from the episode's
first command (t = k x the control period at command k); a spec whose phase starts at a random per-episode offset
is run from offset 0 here (the offset is a training randomisation the robot does not send). The velocity command is
read from the wireless_remote sticks as deploy_real.py reads them (max_cmd 1).
"""

from __future__ import annotations

import numpy as np

from edgeperf.bus.robot import command_from_sticks
from edgeperf.errors import BadInput

NOT_ON_THE_BUS = ("base_lin_vel", "base_lin_vel_world", "base_height", "user")


class _View:
    """The attributes edgeperf's observation terms read from an env, filled from a LowState_."""

    def __init__(self, spec):
        self.spec = spec
        self.n = spec.n
        self.default = np.asarray(spec.default_pos, dtype=np.float64)
        self.t = 0.0
        self.phase0 = 0.0
        self.last_action = np.zeros(spec.n)


class Observer:
    """`reset()` at an episode's start; `observe(state, slots, k) -> obs` for the state answered by command k."""

    def __init__(self, spec):
        from edgeperf.domains.mujoco.env import _Term

        bad = sorted({t.name for t in spec.observation} & set(NOT_ON_THE_BUS))
        if bad:
            raise BadInput(
                f"{spec.source}: the observation reads {', '.join(bad)}, which LowState_ does not carry (a robot "
                "has no sensor for it); a controller on the bus cannot build it"
            )
        self.spec = spec
        self.view = _View(spec)
        self.terms = [_Term(t, self.view) for t in spec.observation]
        for term in self.terms:  # a robot's sensors are what they are: no simulated noise on top
            term.noise = 0.0
            term.plain = term.clip is None and term.spec.history == 1
        self.dt = spec.physics_dt * spec.decimation
        self.frames: list = []
        self.clipped_last_action = any(t.name == "last_action" and t.clipped for t in spec.observation)

    def reset(self) -> None:
        for t in self.terms:
            t.reset()
        self.frames = []
        self.view.last_action = np.zeros(self.spec.n)

    def observe(self, state, slots, k: int, last_action: np.ndarray) -> np.ndarray:
        v, imu = self.view, state.imu_state
        v.q = np.array([state.motor_state[s].q for s in slots], dtype=np.float64)
        v.dq = np.array([state.motor_state[s].dq for s in slots], dtype=np.float64)
        v.base_ang_vel = np.asarray(imu.gyroscope, dtype=np.float64)
        qw, qx, qy, qz = (float(x) for x in imu.quaternion)
        v.projected_gravity = np.array(  # deploy_real.py's get_gravity_orientation
            [2 * (-qz * qx + qw * qy), -2 * (qz * qy + qw * qx), 1 - 2 * (qw * qw + qz * qz)]
        )
        v.command = command_from_sticks(state.wireless_remote)
        v.t = k * self.dt
        v.last_action = last_action
        parts = [t.push(v) for t in self.terms]
        if self.spec.history_layout == "frame-major":
            frame = np.concatenate(parts)
            if not self.frames:
                self.frames = [frame] * self.spec.frames
            else:
                self.frames = [*self.frames[1:], frame]
            return np.concatenate(self.frames).astype(np.float32)
        return np.concatenate(parts).astype(np.float32)


def targets(spec, action: np.ndarray) -> np.ndarray:
    """The PD targets of a policy action, as the env computes them (clip, scale, offset, target clip)."""
    a = np.asarray(action, dtype=np.float64).reshape(-1)
    if spec.action_clip is not None:
        a = np.clip(a, -spec.action_clip, spec.action_clip)
    offset = spec.action_offset if spec.action_offset is not None else spec.default_pos
    out = np.asarray(offset, dtype=np.float64) + np.asarray(spec.action_scale, dtype=np.float64) * a
    if spec.target_clip is not None:
        out = np.clip(out, [r[0] for r in spec.target_clip], [r[1] for r in spec.target_clip])
    return out
