"""The quadruped task without its engine: the A1's constants, the command a joystick operator gives, the
reward, the metrics and the success rule. The pybullet env (env.py) and its MuJoCo twin
(edgeperf.domains.mujoco.a1) share them, so the bundled policies meet the same task in both engines.

A host env sets, once per control step: t, steps, yaw, base_pos, path_xy (position along / across the initial
heading), heading_vel (vx, vy in the heading frame, yaw rate); at reset: heading0, start_xy, nominal_command,
friction, push_schedule, and the accumulators zeroed by `reset_task`.
"""

from __future__ import annotations

import math

import numpy as np

# --- the robot (Unitree A1, pybullet_data a1/a1.urdf) -------------------------------------------------------
LEGS = ("FR", "FL", "RR", "RL")  # pybullet's order (legged_gym uses FL, FR, RL, RR)
DEFAULT_POSE = np.array([0.0, 0.9, -1.8] * 4)  # rad; the base stands ~0.26 m high
# Hip (abduction joint) positions in the base COM frame, read from the URDF's joint frames.
HIP_OFFSETS = np.array([[0.1703, -0.0492, 0.0], [0.1703, 0.0448, 0.0], [-0.1957, -0.0492, 0.0], [-0.1957, 0.0448, 0.0]])
HIP_LINK, THIGH, CALF = 0.085, 0.2, 0.2  # m
KP, KD, TORQUE_LIMIT = 200.0, 3.0, 33.5  # N m/rad, N m s/rad, N m
ACTION_SCALE = 0.5  # rad per action unit: joint target = DEFAULT_POSE + ACTION_SCALE * action
ACTION_LIMIT = 2.0  # actions are clipped to [-2, 2] (+-1 rad around the default pose)
STAND_HEIGHT = 0.265  # m, initial base height
OBS_SIZE = 47
OBS_NAMES = (
    [f"base_ang_vel_{a}" for a in "xyz"]
    + [f"projected_gravity_{a}" for a in "xyz"]
    + ["cmd_vx", "cmd_vy", "cmd_yaw_rate"]
    + [f"q_{leg}_{j}" for leg in LEGS for j in ("abd", "hip", "knee")]
    + [f"dq_{leg}_{j}" for leg in LEGS for j in ("abd", "hip", "knee")]
    + [f"last_action_{leg}_{j}" for leg in LEGS for j in ("abd", "hip", "knee")]
    + ["phase_sin", "phase_cos"]
)

# --- tasks ---------------------------------------------------------------------------------------------------
# command: nominal (vx m/s, vy m/s, yaw rate rad/s); period: gait period (s); offsets: phase offset per leg
# (FR, FL, RR, RL); push_n: push force range (N), applied for PUSH_S seconds every PUSH_EVERY_S seconds.
TASKS = {
    "trot": dict(command=(0.5, 0.0, 0.0), period=0.4, offsets=(0.0, 0.5, 0.5, 0.0), push_n=(20.0, 50.0)),
    "pace": dict(command=(0.4, 0.0, 0.0), period=0.36, offsets=(0.0, 0.5, 0.0, 0.5), push_n=(20.0, 50.0)),
    "spin": dict(command=(0.0, 0.0, 1.0), period=0.4, offsets=(0.0, 0.5, 0.5, 0.0), push_n=(20.0, 50.0)),
    "trot-push": dict(command=(0.5, 0.0, 0.0), period=0.4, offsets=(0.0, 0.5, 0.5, 0.0), push_n=(100.0, 150.0)),
}
PUSH_S = 0.1
PUSH_EVERY_S = (2.0, 4.0)
FRICTION = (0.6, 1.0)
# Path following (the "operator" that turns the task into the command the policy sees).
HEADING_GAIN, YAW_CMD_LIMIT = 1.0, 0.5
LATERAL_GAIN, LATERAL_CMD_LIMIT = 1.0, 0.3
ALONG_GAIN, ALONG_CMD_LIMIT = 0.5, 0.1
# Success
SPEED_TOL, DRIFT_LIMIT = 0.15, 0.5
# Fall: base height, tilt (projected gravity z above -cos 60deg), trunk, hip or thigh on the ground.
FALL_HEIGHT, FALL_TILT_COS = 0.12, 0.5


def _wrap(a: float) -> float:
    return (a + math.pi) % (2 * math.pi) - math.pi


class QuadrupedTask:
    """The task half of a quadruped env (mixin): command, reward, metrics, outcome."""

    def seed_episode(self, seed: int | None) -> int | None:
        """The episode's seed: the one given, else the one the env was made with (first reset only); a seed
        restarts the episode generator `_rng` (the draws of the episode come from it, in a fixed order)."""
        if seed is None and self._seed_pending is not None:
            seed = self._seed_pending
        self._seed_pending = None
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        return seed

    def reset_task(self) -> None:
        self.energy = 0.0
        self._track_err = 0.0
        self._ret = 0.0
        self._yaw_accum = 0.0
        self._last_yaw = self.heading0

    def _command(self) -> np.ndarray:
        """The command the policy sees: the task's nominal command plus path-following corrections.

        trot/pace: yaw rate holds the initial heading, vy steers back onto the straight line through the start,
        and vx follows a target point moving along that line at the nominal speed (a joystick operator's job).
        spin: vx, vy steer the base back over its starting point; the yaw rate is the nominal one.
        """
        cmd = self.nominal_command.copy()
        if cmd[2] == 0.0:
            cmd[2] = float(np.clip(HEADING_GAIN * _wrap(self.heading0 - self.yaw), -YAW_CMD_LIMIT, YAW_CMD_LIMIT))
            lateral = self.path_xy[1] * math.cos(self.yaw - self.heading0)
            cmd[1] += float(np.clip(-LATERAL_GAIN * lateral, -LATERAL_CMD_LIMIT, LATERAL_CMD_LIMIT))
            behind = self.nominal_command[0] * self.t - self.path_xy[0]
            cmd[0] += float(np.clip(ALONG_GAIN * behind, -ALONG_CMD_LIMIT, ALONG_CMD_LIMIT))
        else:
            d = self.start_xy - self.base_pos[:2]
            cy, sy = math.cos(self.yaw), math.sin(self.yaw)
            back = np.array([cy * d[0] + sy * d[1], -sy * d[0] + cy * d[1]])
            cmd[:2] += np.clip(LATERAL_GAIN * back, -LATERAL_CMD_LIMIT, LATERAL_CMD_LIMIT)
        return cmd

    def task_reward(self, prev_cmd: np.ndarray, action: np.ndarray, prev_action: np.ndarray, energy: float) -> float:
        """One control step's reward (velocity tracking against the command the policy saw, minus torque power
        and action rate), accumulated into the return and the tracking error; call after the state update."""
        self._yaw_accum += _wrap(self.yaw - self._last_yaw)
        self._last_yaw = self.yaw
        hv = self.heading_vel
        v_err = float((hv[0] - prev_cmd[0]) ** 2 + (hv[1] - prev_cmd[1]) ** 2)
        w_err = float((hv[2] - prev_cmd[2]) ** 2)
        self._track_err += math.sqrt(v_err + w_err)
        reward = (
            math.exp(-v_err / 0.25)
            + 0.5 * math.exp(-w_err / 0.25)
            - 2e-3 * energy / self.dt
            - 0.01 * float(((action - prev_action) ** 2).sum())
        ) * self.dt
        self._ret += reward
        return reward

    def metrics(self) -> dict:
        """The episode's figures so far (the final step's info carries them too)."""
        duration = max(self.t, self.dt)
        forward = float(self.path_xy[0]) / duration
        return {
            "forward_speed": forward,
            "lateral_drift": abs(float(self.path_xy[1])),
            "yaw_rate": self._yaw_accum / duration,
            "distance_from_start": float(np.linalg.norm(self.path_xy)),
            "tracking_error": self._track_err / max(self.steps, 1),
            "energy": self.energy,
            "return": self._ret,
            "duration_s": self.t,
            "friction": self.friction,
            "pushes": float(sum(1 for t0, _, _ in self.push_schedule if t0 < self.t)),
        }

    def _outcome(self, fall: str | None) -> dict:
        m = self.metrics()
        cmd = self.nominal_command
        reasons = []
        if fall:
            reasons.append(fall)
        if cmd[2] != 0.0:
            if abs(m["yaw_rate"] - cmd[2]) > SPEED_TOL * abs(cmd[2]):
                reasons.append(f"mean yaw rate {m['yaw_rate']:.2f} rad/s, not within 15% of {cmd[2]:g}")
            if m["distance_from_start"] > DRIFT_LIMIT:
                reasons.append(f"drifted {m['distance_from_start']:.2f} m from the start (limit {DRIFT_LIMIT})")
        else:
            if abs(m["forward_speed"] - cmd[0]) > SPEED_TOL * abs(cmd[0]):
                reasons.append(f"mean forward speed {m['forward_speed']:.2f} m/s, not within 15% of {cmd[0]:g}")
            if m["lateral_drift"] > DRIFT_LIMIT:
                reasons.append(f"lateral drift {m['lateral_drift']:.2f} m (limit {DRIFT_LIMIT})")
        return {
            "success": not reasons,
            "fall": fall is not None,
            "failure_reason": "; ".join(reasons),
            "metrics": m,
        }


def draw_episode(rng: np.random.Generator, task: dict, episode_s: float):
    """Everything random about an episode, drawn in a fixed order from its seed (same seed, same world, in
    either engine): (friction, initial heading, gait phase offset, initial joint angles, push schedule)."""
    friction = float(rng.uniform(*FRICTION))
    heading0 = float(rng.uniform(-math.pi, math.pi))
    phase0 = float(rng.uniform(0.0, 1.0))
    q0 = DEFAULT_POSE + rng.normal(0.0, 0.03, 12)
    pushes = []
    t = float(rng.uniform(*PUSH_EVERY_S))
    while t < episode_s - PUSH_S:
        force = float(rng.uniform(*task["push_n"]))
        angle = float(rng.uniform(-math.pi, math.pi))
        pushes.append((t, t + PUSH_S, np.array([force * math.cos(angle), force * math.sin(angle), 0.0])))
        t += float(rng.uniform(*PUSH_EVERY_S))
    return friction, heading0, phase0, q0, pushes
