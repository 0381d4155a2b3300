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

from edgeperf.domains.quadruped.task import (
    ACTION_LIMIT,
    ACTION_SCALE,
    DEFAULT_POSE,
    FALL_HEIGHT,
    FALL_TILT_COS,
    KD,
    KP,
    OBS_SIZE,
    STAND_HEIGHT,
    TASKS,
    TORQUE_LIMIT,
    QuadrupedTask,
    draw_episode,
)
from edgeperf.errors import BadInput, require
from edgeperf.quiet import native_output_silenced

gym = require("gymnasium", "sim", "for the quadruped domain")
# pybullet prints a build banner on import, once per worker process
with native_output_silenced():
    p = require("pybullet", "sim", "for the quadruped domain")

# pybullet's link and joint indices of a1/a1.urdf
MOTOR_JOINTS = (1, 3, 4, 6, 8, 9, 11, 13, 14, 16, 18, 19)  # (abduction, hip, knee) per leg
FOOT_LINKS = (5, 10, 15, 20)
CALF_LINKS = (4, 9, 14, 19)  # the lower legs: their tips touch the ground beside the foot sphere in hard steps
GROUND_OK_LINKS = FOOT_LINKS + CALF_LINKS


class QuadrupedEnv(QuadrupedTask, gym.Env):
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
        seed = self.seed_episode(seed)
        super().reset(seed=seed)
        rng, c = self._rng, self._c
        # Everything random about the episode is drawn here, in a fixed order, from the episode's seed.
        self.friction, self.heading0, self.phase0, q0, pushes = draw_episode(rng, self.spec_task, self.episode_s)
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
        self.reset_task()
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
        reward = self.task_reward(prev_cmd, a, prev_action, energy)

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
