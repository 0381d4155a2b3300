"""The quadruped gymnasium env: a Unitree A1 in pybullet (DIRECT), explicit PD torque control of 12 joints.

See the package docstring for the observation layout, the action, the reward and the success rule. One env owns
one pybullet client; the robot and the plane are loaded once and every reset only moves them (a reset costs
about as much as a step).
"""

from __future__ import annotations

import contextlib
import math
from collections import deque
from typing import ClassVar

import numpy as np

from edgeperf.errors import BadInput, require
from edgeperf.quiet import native_output_silenced

gym = require("gymnasium", "sim", "for the quadruped domain")
# pybullet prints a build banner on import, once per worker process
with native_output_silenced():
    p = require("pybullet", "sim", "for the quadruped domain")

# --- the robot (Unitree A1, pybullet_data a1/a1.urdf) -------------------------------------------------------
LEGS = ("FR", "FL", "RR", "RL")  # pybullet's order (legged_gym uses FL, FR, RL, RR)
MOTOR_JOINTS = (1, 3, 4, 6, 8, 9, 11, 13, 14, 16, 18, 19)  # (abduction, hip, knee) per leg
FOOT_LINKS = (5, 10, 15, 20)
CALF_LINKS = (4, 9, 14, 19)  # the lower legs: their tips touch the ground beside the foot sphere in hard steps
GROUND_OK_LINKS = FOOT_LINKS + CALF_LINKS
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


class QuadrupedEnv(gym.Env):
    """A1 locomotion: follow a commanded velocity (trot, pace) or turn in place (spin) under seeded pushes."""

    metadata: ClassVar[dict] = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(
        self,
        task: str = "trot",
        seed: int | None = None,
        control_hz: float = 50.0,
        sim_hz: float = 500.0,
        episode_s: float = 20.0,
        action_delay_s: float = 0.0,
        pushes: bool = True,
        render_mode: str | None = None,
    ):
        if task not in TASKS:
            raise BadInput(f"unknown quadruped task '{task}'; known: {', '.join(TASKS)}")
        if sim_hz < 240 or control_hz <= 0 or sim_hz % control_hz > 1e-9 * sim_hz:
            raise BadInput(
                f"sim_hz {sim_hz:g} must be >= 240 and a multiple of control_hz {control_hz:g} (e.g. 500 and 50)"
            )
        if action_delay_s < 0:
            raise BadInput(f"action_delay_s must be >= 0, got {action_delay_s}")
        self.task = task
        self.spec_task = TASKS[task]
        self.control_hz, self.sim_hz = float(control_hz), float(sim_hz)
        self.sim_dt, self.dt = 1.0 / sim_hz, 1.0 / control_hz
        self.substeps = round(sim_hz / control_hz)
        self.max_steps = round(episode_s * control_hz)
        self.episode_s = episode_s
        self.action_delay_s = float(action_delay_s)
        self.pushes = pushes
        self.render_mode = render_mode
        self.nominal_command = np.array(self.spec_task["command"], dtype=np.float64)
        self.period = float(self.spec_task["period"])
        self.leg_offsets = np.array(self.spec_task["offsets"])

        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (OBS_SIZE,), np.float32)
        self.action_space = gym.spaces.Box(-ACTION_LIMIT, ACTION_LIMIT, (12,), np.float32)

        import pybullet_data

        self._c = p.connect(p.DIRECT)
        c = self._c
        p.setAdditionalSearchPath(pybullet_data.getDataPath(), physicsClientId=c)
        p.setGravity(0, 0, -9.81, physicsClientId=c)
        p.setTimeStep(self.sim_dt, physicsClientId=c)
        p.setPhysicsEngineParameter(deterministicOverlappingPairs=1, physicsClientId=c)
        self._plane = p.loadURDF("plane.urdf", physicsClientId=c)
        self._robot = p.loadURDF("a1/a1.urdf", [0, 0, STAND_HEIGHT], physicsClientId=c)
        for link in range(-1, p.getNumJoints(self._robot, physicsClientId=c)):
            p.changeDynamics(self._robot, link, lateralFriction=1.0, physicsClientId=c)
        # Disable the default velocity motors so that the explicit PD torques are the only actuation.
        p.setJointMotorControlArray(self._robot, MOTOR_JOINTS, p.VELOCITY_CONTROL, forces=[0.0] * 12, physicsClientId=c)
        # Every reset restores this snapshot (contact caches and solver warm starts included) before it places
        # the robot; with deterministic overlapping pairs, a reused env replays a seed bit for bit like a fresh
        # one (without both, trajectories differ by ~1e-7 m after a reset).
        self._snapshot = p.saveState(physicsClientId=c)
        self._rng = np.random.default_rng(seed)
        self._seed_pending = seed
        self._ready = False

    # --- state ------------------------------------------------------------------------------------------------
    def _joint_state(self):
        st = p.getJointStates(self._robot, MOTOR_JOINTS, physicsClientId=self._c)
        return np.array([s[0] for s in st]), np.array([s[1] for s in st])

    def _base(self):
        pos, orn = p.getBasePositionAndOrientation(self._robot, physicsClientId=self._c)
        lin, ang = p.getBaseVelocity(self._robot, physicsClientId=self._c)
        rot = np.array(p.getMatrixFromQuaternion(orn)).reshape(3, 3)  # body -> world
        return np.array(pos), orn, rot, np.array(lin), np.array(ang)

    def phase(self, t: float | None = None) -> float:
        t = self.t if t is None else t
        return (t / self.period + self.phase0) % 1.0

    def _update_state(self):
        """Read the simulator once per control step; everything observed or judged derives from this."""
        pos, _, rot, lin, ang = self._base()
        self.q, self.dq = self._joint_state()
        self.base_pos, self.base_rot = pos, rot
        self.yaw = math.atan2(rot[1, 0], rot[0, 0])
        self.base_lin_vel_world, self.base_ang_vel_world = lin, ang
        self.base_ang_vel = rot.T @ ang
        self.projected_gravity = rot.T @ np.array([0.0, 0.0, -1.0])
        cy, sy = math.cos(self.yaw), math.sin(self.yaw)
        # velocity in the yaw-aligned (heading) frame
        self.heading_vel = np.array([cy * lin[0] + sy * lin[1], -sy * lin[0] + cy * lin[1], ang[2]])
        # position in the path frame: along / across the initial heading, from the start
        d = pos[:2] - self.start_xy
        ch, sh = math.cos(self.heading0), math.sin(self.heading0)
        self.path_xy = np.array([ch * d[0] + sh * d[1], -sh * d[0] + ch * d[1]])
        self.command = self._command()

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

    def _obs(self) -> np.ndarray:
        ph = 2 * math.pi * self.phase()
        return np.concatenate(
            [
                self.base_ang_vel,
                self.projected_gravity,
                self.command,
                self.q - DEFAULT_POSE,
                self.dq,
                self.last_action,
                [math.sin(ph), math.cos(ph)],
            ]
        ).astype(np.float32)

    # --- gymnasium API ----------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        if seed is None and self._seed_pending is not None:
            seed = self._seed_pending
        self._seed_pending = None
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        super().reset(seed=seed)
        rng, c = self._rng, self._c
        # Everything random about the episode is drawn here, in a fixed order, from the episode's seed.
        self.friction = float(rng.uniform(*FRICTION))
        self.heading0 = float(rng.uniform(-math.pi, math.pi))
        self.phase0 = float(rng.uniform(0.0, 1.0))
        q0 = DEFAULT_POSE + rng.normal(0.0, 0.03, 12)
        pushes = []
        t = float(rng.uniform(*PUSH_EVERY_S))
        while t < self.episode_s - PUSH_S:
            force = float(rng.uniform(*self.spec_task["push_n"]))
            angle = float(rng.uniform(-math.pi, math.pi))
            pushes.append((t, t + PUSH_S, np.array([force * math.cos(angle), force * math.sin(angle), 0.0])))
            t += float(rng.uniform(*PUSH_EVERY_S))
        self.push_schedule = pushes if self.pushes else []

        p.restoreState(stateId=self._snapshot, physicsClientId=c)
        p.changeDynamics(self._plane, -1, lateralFriction=self.friction, physicsClientId=c)
        orn = p.getQuaternionFromEuler([0.0, 0.0, self.heading0])
        p.resetBasePositionAndOrientation(self._robot, [0.0, 0.0, STAND_HEIGHT], orn, physicsClientId=c)
        p.resetBaseVelocity(self._robot, [0, 0, 0], [0, 0, 0], physicsClientId=c)
        for j, qj in zip(MOTOR_JOINTS, q0, strict=True):
            p.resetJointState(self._robot, j, qj, 0.0, physicsClientId=c)
        self.start_xy = np.zeros(2)
        self.t, self.steps = 0.0, 0
        self.last_action = np.zeros(12)
        self.target = q0.copy()  # the joint targets in force (the previous action's, under latency)
        self._pending: deque = deque()
        self.energy = 0.0
        self._track_err = 0.0
        self._ret = 0.0
        self._yaw_accum = 0.0
        self._last_yaw = self.heading0
        self._ready = True
        self._update_state()
        return self._obs(), {"command": self.command.copy(), "phase": self.phase()}

    def step(self, action):
        if not self._ready:
            raise BadInput("call reset() before step()")
        a = np.asarray(action, dtype=np.float64).reshape(-1)
        if a.shape != (12,):
            raise BadInput(f"the quadruped takes 12 actions (joint position offsets), got {a.size}")
        if not np.all(np.isfinite(a)):
            return self._finish_nonfinite()
        a = np.clip(a, -ACTION_LIMIT, ACTION_LIMIT)
        new_target = DEFAULT_POSE + ACTION_SCALE * a
        # Latency in the loop: the new target applies action_delay_s into the step (at substep granularity);
        # until then the targets in force stay. Delays longer than a step queue up.
        apply_at = self.steps * self.substeps + round(self.action_delay_s / self.sim_dt)
        self._pending.append((apply_at, new_target))
        c, robot = self._c, self._robot
        energy = 0.0
        base_step = self.steps * self.substeps
        for k in range(self.substeps):
            n = base_step + k
            while self._pending and self._pending[0][0] <= n:
                self.target = self._pending.popleft()[1]
            st = p.getJointStates(robot, MOTOR_JOINTS, physicsClientId=c)
            q = np.array([s[0] for s in st])
            dq = np.array([s[1] for s in st])
            tau = np.clip(KP * (self.target - q) - KD * dq, -TORQUE_LIMIT, TORQUE_LIMIT)
            energy += float(np.abs(tau * dq).sum())
            p.setJointMotorControlArray(robot, MOTOR_JOINTS, p.TORQUE_CONTROL, forces=tau, physicsClientId=c)
            ts = n * self.sim_dt
            for t0, t1, force in self.push_schedule:
                if t0 <= ts < t1:
                    pos, _ = p.getBasePositionAndOrientation(robot, physicsClientId=c)
                    p.applyExternalForce(robot, -1, force, pos, p.WORLD_FRAME, physicsClientId=c)
            p.stepSimulation(physicsClientId=c)
        energy *= self.sim_dt
        self.energy += energy
        self.steps += 1
        self.t = self.steps * self.dt
        prev_action = self.last_action
        self.last_action = a
        prev_cmd = self.command
        self._update_state()
        self._yaw_accum += _wrap(self.yaw - self._last_yaw)
        self._last_yaw = self.yaw

        # reward: velocity tracking (against the command the policy saw) minus torque power and action rate
        v_err = float(np.sum((self.heading_vel[:2] - prev_cmd[:2]) ** 2))
        w_err = float((self.heading_vel[2] - prev_cmd[2]) ** 2)
        self._track_err += math.sqrt(v_err + w_err)
        reward = (
            math.exp(-v_err / 0.25)
            + 0.5 * math.exp(-w_err / 0.25)
            - 2e-3 * energy / self.dt
            - 0.01 * float(np.sum((a - prev_action) ** 2))
        ) * self.dt
        self._ret += reward

        fall = self._fall()
        terminated = fall is not None
        truncated = not terminated and self.steps >= self.max_steps
        info = {"command": self.command.copy(), "phase": self.phase()}
        if terminated or truncated:
            info.update(self._outcome(fall))
        return self._obs(), reward, terminated, truncated, info

    def _fall(self) -> str | None:
        if self.base_pos[2] < FALL_HEIGHT:
            return f"fell: base height {self.base_pos[2]:.2f} m < {FALL_HEIGHT} m"
        if -self.projected_gravity[2] < FALL_TILT_COS:
            return "fell: body tilted more than 60 degrees"
        for cp in p.getContactPoints(self._robot, self._plane, physicsClientId=self._c):
            if cp[3] not in GROUND_OK_LINKS:
                name = "base" if cp[3] == -1 else p.getJointInfo(self._robot, cp[3], physicsClientId=self._c)[12]
                name = name.decode() if isinstance(name, bytes) else name
                return f"fell: {name} touched the ground"
        return None

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

    def _finish_nonfinite(self):
        """A NaN/inf action ends the episode as a failure (the run goes on)."""
        out = self._outcome(None)
        out.update(success=False, fall=False, failure_reason="the policy returned a non-finite action")
        self._ready = False
        return self._obs(), 0.0, True, False, {"command": self.command.copy(), "phase": self.phase(), **out}

    # --- privileged state for the expert ----------------------------------------------------------------------
    def privileged(self) -> dict:
        return {
            "phase": self.phase(),
            "command": self.command,
            "heading_vel": self.heading_vel,
            "base_rot": self.base_rot,
            "yaw": self.yaw,
            "base_ang_vel": self.base_ang_vel,
            "height": float(self.base_pos[2]),
        }

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        target = self.base_pos.tolist()
        view = p.computeViewMatrixFromYawPitchRoll(target, 1.0, math.degrees(self.yaw) + 45, -25, 0, 2)
        proj = p.computeProjectionMatrixFOV(60, 4 / 3, 0.1, 10)
        _, _, rgb, _, _ = p.getCameraImage(320, 240, view, proj, physicsClientId=self._c)
        return np.asarray(rgb, np.uint8).reshape(240, 320, 4)[:, :, :3]

    def close(self):
        if getattr(self, "_c", None) is not None:
            with contextlib.suppress(p.error):
                p.disconnect(physicsClientId=self._c)
            self._c = None
