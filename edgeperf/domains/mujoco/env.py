"""The gymnasium env of a deploy spec: the user's robot in MuJoCo, observed and driven as its deploy code does.

Per control step: the action (clipped to +-action_clip when the spec says so) becomes PD targets
`offset + scale x action` (or torques, in torque mode), clipped per joint where the spec gives target clips;
then `decimation` physics steps of MuJoCo, with the PD law inside MuJoCo (scene.py), pushes applied to the root
body, and the new targets taking effect `action_delay_s` into the step under latency (as the pybullet
quadruped). Then the observation: each term read from the state, Gaussian sensor noise where asked, clipped,
scaled, and pushed into its history (filled with copies of the first frame at reset, as Isaac Lab's
CircularBuffer and unitree_rl_lab's C++ deploy do), laid out term-major (each term's frames, oldest first) or
frame-major (whole frames, oldest first).

Reward per step (x dt), the pybullet quadruped's: exp(-|v_xy - cmd_xy|^2 / 0.25) + 0.5 exp(-(yaw rate -
cmd)^2 / 0.25) - 2e-3 x mechanical power - 0.01 |action - previous action|^2, velocities in the heading frame.
Termination: the base below min_base_height, tilted beyond max_tilt_deg, a fall_contacts body on the ground,
or a non-finite state ("simulation diverged at t=..."): each a fall. Success: no fall, mean speed along the
commanded planar direction at least min_forward_ratio x the commanded speed (when one is commanded), mean
tracking error under max_tracking_error when given.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections import deque
from typing import ClassVar

import numpy as np

from edgeperf.domains.mujoco.scene import compile_scene, mujoco
from edgeperf.domains.mujoco.spec import COMMAND_KEYS, DeploySpec
from edgeperf.domains.quadruped.task import QuadrupedTask
from edgeperf.errors import BadInput, require

gym = require("gymnasium", "mujoco", "for the mujoco domains")

BADQACC = int(mujoco.mjtWarning.mjWARN_BADQACC)


class SpecEnv(QuadrupedTask, gym.Env):
    """A deploy spec's robot in MuJoCo (options: action_delay_s, episode_s, randomize overrides)."""

    metadata: ClassVar[dict] = {"render_modes": []}
    # a subclass that drives the motors itself per physics step (edgeperf.bus.robot: the DDS robot) sets this
    _hook_each_physics_step: ClassVar[bool] = False

    def __init__(self, spec: DeploySpec, seed: int | None = None, action_delay_s: float = 0.0, mjspec=None):
        if action_delay_s < 0 or not math.isfinite(action_delay_s):
            raise BadInput(f"action_delay_s must be >= 0, got {action_delay_s}")
        self.spec = spec
        self.model, self.b = compile_scene(spec, mjspec)
        self.data = mujoco.MjData(self.model)
        m, b = self.model, self.b
        self.n = spec.n
        self.sim_dt = spec.physics_dt
        self.substeps = spec.decimation
        self.dt = spec.physics_dt * spec.decimation
        self.control_hz = 1.0 / self.dt
        self.episode_s = spec.episode_s
        self.max_steps = max(1, round(spec.episode_s / self.dt))
        self.action_delay_s = float(action_delay_s)
        needs_base = {"base_ang_vel", "base_lin_vel", "base_lin_vel_world", "projected_gravity", "base_height"}
        used = {t.name for t in spec.observation}
        if b.root_qpos is None and used & needs_base:
            raise BadInput(
                f"{spec.source}: the scene has no free joint (a fixed base) but the observation reads "
                f"{', '.join(sorted(used & needs_base))}"
            )
        self.default = np.asarray(spec.default_pos, dtype=np.float64)
        self.scale = np.asarray(spec.action_scale, dtype=np.float64)
        if spec.action_offset is not None:
            self.offset = np.asarray(spec.action_offset, dtype=np.float64)
        else:
            self.offset = self.default.copy() if spec.action_mode == "position" else np.zeros(self.n)
        self.target_lo = self.target_hi = None
        if spec.target_clip is not None:
            self.target_lo = np.array([r[0] for r in spec.target_clip])
            self.target_hi = np.array([r[1] for r in spec.target_clip])
        self._terms = [_Term(t, self) for t in spec.observation]
        self._index_model()
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (spec.obs_size,), np.float32)
        lim = spec.action_clip if spec.action_clip is not None else np.inf
        self.action_space = gym.spaces.Box(-lim, lim, (self.n,), np.float32)
        # The model as compiled: per-episode randomisation scales these, never compounding
        self._friction0 = m.geom_friction.copy()
        self._mass0 = m.body_mass.copy()
        self._inertia0 = m.body_inertia.copy()
        self._gain0 = m.actuator_gainprm[b.ctrl].copy()
        self._bias0 = m.actuator_biasprm[b.ctrl].copy()
        self.nominal_command = np.zeros(3)
        self._rng = np.random.default_rng(seed)
        self._seed_pending = seed
        self._ready = False

    def _index_model(self) -> None:
        """What step() reads per step, worked out once."""
        m, b = self.model, self.b
        # Fall contacts: per geom, is it the ground; per body, does its contact with the ground end the episode
        self._ground = np.zeros(m.ngeom, bool)
        self._ground[b.ground_geoms] = True
        fall_body = np.zeros(m.nbody, bool)
        fall_body[b.fall_bodies] = True
        self._fall_geom = fall_body[m.geom_bodyid]
        self._clipped_last_action = any(t.name == "last_action" and t.clipped for t in self.spec.observation)
        # Views, not copies, where the joints' addresses are consecutive (the usual MJCF): read per physics step
        self._qsel, self._vsel = _contiguous(b.qpos), _contiguous(b.dof)
        self._force_log = np.empty((self.substeps, self.n))  # per physics step: actuator force, joint velocity
        self._vel_log = np.empty((self.substeps, self.n))
        # Joint-limit hits: within 1 mrad of a range's end (unlimited joints never hit)
        self._limit_lo = np.where(b.limited, b.ranges[:, 0] + 1e-3, -np.inf)
        self._limit_hi = np.where(b.limited, b.ranges[:, 1] - 1e-3, np.inf)

    # --- what varies per episode ------------------------------------------------------------------------------
    def draw_episode(self, rng: np.random.Generator) -> np.ndarray:
        """Everything random about the episode, in a fixed order from its seed; returns the initial joint angles."""
        s = self.spec
        cmd = [s.commands.get(k, (0.0, 0.0)) for k in COMMAND_KEYS]
        self.nominal_command = np.array([rng.uniform(lo, hi) if hi > lo else lo for lo, hi in cmd])
        self.heading0 = 0.0
        self.phase0 = float(rng.uniform()) if any(t.random_offset for t in s.observation) else 0.0
        q0 = self.default + (rng.normal(0.0, s.init_noise, self.n) if s.init_noise > 0 else 0.0)
        self.friction = float(rng.uniform(*s.friction)) if s.friction else float("nan")
        pushes = []
        if s.push_n:
            t = float(rng.uniform(*s.push_every_s))
            while t < self.episode_s - 0.1:
                force, angle = float(rng.uniform(*s.push_n)), float(rng.uniform(-math.pi, math.pi))
                pushes.append((t, t + 0.1, np.array([force * math.cos(angle), force * math.sin(angle), 0.0])))
                t += float(rng.uniform(*s.push_every_s))
        self.push_schedule = pushes
        self.mass_scale = float(rng.uniform(*s.mass_scale)) if s.mass_scale else 1.0
        self.motor_strength = float(rng.uniform(*s.motor_strength)) if s.motor_strength else 1.0
        return q0

    def _apply_randomisation(self) -> None:
        m, b = self.model, self.b
        m.geom_friction[:] = self._friction0
        if math.isfinite(self.friction):
            m.geom_friction[b.ground_geoms, 0] = self.friction
            m.geom_priority[b.ground_geoms] = 1  # the ground's friction, not the max of the pair's (MuJoCo's rule)
        m.body_mass[:] = self._mass0 * self.mass_scale
        m.body_inertia[:] = self._inertia0 * self.mass_scale
        m.actuator_gainprm[b.ctrl] = self._gain0 * self.motor_strength
        m.actuator_biasprm[b.ctrl] = self._bias0 * self.motor_strength

    def _place(self, q0: np.ndarray) -> None:
        """The initial state: the model's qpos0 (its keyframe 0 when it has one), the policy joints at q0, the
        base turned to heading0."""
        m, d, b = self.model, self.data, self.b
        mujoco.mj_resetData(m, d)
        if m.nkey:
            mujoco.mj_resetDataKeyframe(m, d, 0)
        d.qpos[b.qpos] = q0
        if b.root_qpos is not None and self.heading0:
            r = b.root_qpos
            half = 0.5 * self.heading0
            d.qpos[r + 3 : r + 7] = [math.cos(half), 0.0, 0.0, math.sin(half)]
        d.ctrl[b.ctrl] = q0 if self.spec.action_mode == "position" else 0.0
        mujoco.mj_forward(m, d)

    # --- state ------------------------------------------------------------------------------------------------
    def _update_state(self) -> None:
        b = self.b
        qpos, qvel = self.data.qpos, self.data.qvel
        self.q = qpos[self._qsel].copy()
        self.dq = qvel[self._vsel].copy()
        if b.root_qpos is None:
            self.base_pos = np.zeros(3)
            self.base_rot = np.eye(3)
            self.base_lin_vel_world = self.base_ang_vel = np.zeros(3)
        else:
            r, v = b.root_qpos, b.root_dof
            self.base_pos = qpos[r : r + 3].copy()
            rot = np.empty(9)
            mujoco.mju_quat2Mat(rot, qpos[r + 3 : r + 7])
            self.base_rot = rot.reshape(3, 3)
            vel = qvel[v : v + 6].copy()
            # a free joint's linear velocity is in the world frame, its angular velocity in the body frame
            self.base_lin_vel_world, self.base_ang_vel = vel[:3], vel[3:]
        rot = self.base_rot
        self.projected_gravity = -rot[2]  # R^T (0, 0, -1): world down in the body frame
        self.yaw = yaw = math.atan2(rot[1, 0], rot[0, 0])
        lx, ly, _ = self.base_lin_vel_world.tolist()
        wz = float(rot[2] @ self.base_ang_vel)  # yaw rate, world z
        cy, sy = math.cos(yaw), math.sin(yaw)
        self.heading_vel = np.array([cy * lx + sy * ly, -sy * lx + cy * ly, wz])
        dx, dy = (self.base_pos[0] - self.start_xy[0]), (self.base_pos[1] - self.start_xy[1])
        ch, sh = math.cos(self.heading0), math.sin(self.heading0)
        self.path_xy = np.array([ch * dx + sh * dy, -sh * dx + ch * dy])
        self.command = self._command()

    def _command(self) -> np.ndarray:
        return self.nominal_command.copy()

    def phase(self) -> float:
        return 0.0

    def _observe(self) -> np.ndarray:
        frames = [t.push(self) for t in self._terms]
        if self.spec.history_layout == "frame-major":
            self._frames.append(np.concatenate(frames))
            return np.concatenate(self._frames, dtype=np.float32)
        return np.concatenate(frames, dtype=np.float32)

    # --- gymnasium API ----------------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        seed = self.seed_episode(seed)
        super().reset(seed=seed)
        self._noise_rng = np.random.default_rng([seed if seed is not None else 0, 11])
        q0 = self.draw_episode(self._rng)
        self._apply_randomisation()
        self._place(q0)
        self.start_xy = (
            self.data.qpos[self.b.root_qpos : self.b.root_qpos + 2].copy()
            if self.b.root_qpos is not None
            else np.zeros(2)
        )
        self.t, self.steps = 0.0, 0
        self.last_action = np.zeros(self.n)
        self._applied = np.zeros(self.n)  # the previous action after the clip (the reward's action rate)
        self.target = self.data.ctrl[self.b.ctrl].copy()
        self._pending: deque = deque()
        self._limit_hits = 0
        self._along = 0.0
        self.reset_task()
        for t in self._terms:
            t.reset()
        self._frames = deque(maxlen=self.spec.frames)
        self._ready = True
        self._update_state()
        obs = self._observe()
        if self.spec.history_layout == "frame-major":
            first = self._frames[-1]
            self._frames.extend([first] * (self.spec.frames - 1))
            obs = np.concatenate(self._frames, dtype=np.float32)
        return obs, {"command": self.command.copy()}

    def _targets(self, a: np.ndarray) -> np.ndarray:
        out = self.offset + self.scale * a
        if self.target_lo is not None:
            out = np.clip(out, self.target_lo, self.target_hi)
        return out

    def step(self, action):
        if not self._ready:
            raise BadInput("call reset() before step()")
        raw = np.array(action, dtype=np.float64).reshape(-1)  # a copy: the caller may reuse its buffer
        if raw.shape != (self.n,):
            raise BadInput(
                f"{self.spec.source}: the robot takes {self.n} actions (one per policy joint), got {raw.size}"
            )
        if not np.isfinite(raw).all():
            return self._end("the policy returned a non-finite action", fall=False)
        clip = self.spec.action_clip
        a = np.clip(raw, -clip, clip) if clip is not None else raw
        m, d, b = self.model, self.data, self.b
        ctrl = d.ctrl[b.ctrl]
        first = self.steps * self.substeps  # this control step's first physics step
        self._pending.append((first + round(self.action_delay_s / self.sim_dt), self._targets(a)))
        while self._pending and self._pending[0][0] <= first:  # no latency: the new targets, at once
            ctrl[:] = self._pending.popleft()[1]
        pushes = self._pushes_in(first * self.sim_dt, (first + self.substeps) * self.sim_dt)
        force, qvel, vsel = d.actuator_force[b.ctrl], d.qvel, self._vsel
        forces, vels = self._force_log, self._vel_log
        warnings0 = d.warning[BADQACC].number
        hook = self._hook_each_physics_step
        for k in range(self.substeps):
            if hook or self._pending or pushes:  # the Python per physics step only when something changes mid-step
                self._between_physics_steps(first + k, ctrl, pushes)
            mujoco.mj_step(m, d)
            forces[k] = force
            vels[k] = qvel[vsel]
        # mechanical work of the policy's motors: sum over physics steps and joints of |tau qdot| dt
        energy = float(np.abs(forces * vels).sum()) * self.sim_dt
        self.energy += energy
        self.steps += 1
        self.t = self.steps * self.dt
        if d.warning[BADQACC].number != warnings0 or not np.isfinite(d.qpos).all():
            return self._end(
                f"simulation diverged at t={self.t:.3f} s (MuJoCo: unstable or non-finite state)", fall=True
            )
        prev_applied, prev_cmd = self._applied, self.command
        self._applied = a
        self.last_action = a if self._clipped_last_action else raw
        self._update_state()
        reward = self.task_reward(prev_cmd, a, prev_applied, energy)
        cmd_xy = math.hypot(prev_cmd[0], prev_cmd[1])
        if cmd_xy > 0:
            hv = self.heading_vel
            self._along += (hv[0] * prev_cmd[0] + hv[1] * prev_cmd[1]) / cmd_xy
        q = self.q
        self._limit_hits += bool(((q <= self._limit_lo) | (q >= self._limit_hi)).any())
        fall = self._fall()
        terminated = fall is not None
        truncated = not terminated and self.steps >= self.max_steps
        info = {"command": self.command.copy()}
        obs = self._observe()
        if terminated or truncated:
            info.update(self._outcome(fall))
        return obs, reward, terminated, truncated, info

    def _pushes_in(self, t0: float, t1: float) -> list:
        """The pushes acting during [t0, t1); the root's applied force is cleared when one has just ended."""
        if not self.push_schedule or self.b.root_body is None:
            return []
        active = [p for p in self.push_schedule if p[0] < t1 and p[1] > t0]
        if not active:
            self.data.xfrc_applied[self.b.root_body, :3] = 0.0
        return active

    def _between_physics_steps(self, n: int, ctrl: np.ndarray, pushes: list) -> None:
        """Before physics step n: delayed targets that fall due, and the push force of that instant."""
        while self._pending and self._pending[0][0] <= n:
            ctrl[:] = self._pending.popleft()[1]
        if pushes:
            ts = n * self.sim_dt
            force = self.data.xfrc_applied[self.b.root_body, :3]
            force[:] = 0.0
            for t0, t1, f in pushes:
                if t0 <= ts < t1:
                    force[:] = f

    def _fall(self) -> str | None:
        s, b, d = self.spec, self.b, self.data
        if s.min_base_height is not None and self.base_pos[2] < s.min_base_height:
            return f"fell: base height {self.base_pos[2]:.2f} m < {s.min_base_height:g} m"
        if s.max_tilt_deg is not None and -self.projected_gravity[2] < math.cos(math.radians(s.max_tilt_deg)):
            return f"fell: body tilted more than {s.max_tilt_deg:g} degrees"
        if len(b.fall_bodies) and d.ncon:
            geoms = d.contact.geom[: d.ncon]
            g0, g1 = geoms[:, 0], geoms[:, 1]
            hit = (self._ground[g0] & self._fall_geom[g1]) | (self._ground[g1] & self._fall_geom[g0])
            if hit.any():
                pair = geoms[np.flatnonzero(hit)[0]]
                body = self.model.geom_bodyid[pair[1] if self._ground[pair[0]] else pair[0]]
                return f"fell: {self.model.body(int(body)).name} touched the ground"
        return None

    def metrics(self) -> dict:
        duration = max(self.t, self.dt)
        return {
            "forward_speed": self._along / max(self.steps, 1),
            "tracking_error": self._track_err / max(self.steps, 1),
            "distance": float(np.linalg.norm(self.path_xy)),
            "yaw_rate": self._yaw_accum / duration,
            "energy": self.energy,
            "joint_limit_hits": float(self._limit_hits),
            "return": self._ret,
            "duration_s": self.t,
            **({"friction": self.friction} if math.isfinite(self.friction) else {}),
            "pushes": float(sum(1 for t0, _, _ in self.push_schedule if t0 < self.t)),
        }

    def _outcome(self, fall: str | None) -> dict:
        s, m = self.spec, self.metrics()
        reasons = [fall] if fall else []
        speed = float(np.hypot(*self.nominal_command[:2]))
        if s.min_forward_ratio is not None and speed > 0.05 and m["forward_speed"] < s.min_forward_ratio * speed:
            reasons.append(
                f"mean speed along the command {m['forward_speed']:.2f} m/s, under {s.min_forward_ratio:g} x "
                f"{speed:.2f} m/s"
            )
        if s.max_tracking_error is not None and m["tracking_error"] > s.max_tracking_error:
            reasons.append(f"tracking error {m['tracking_error']:.2f} over {s.max_tracking_error:g}")
        return {"success": not reasons, "fall": fall is not None, "failure_reason": "; ".join(reasons), "metrics": m}

    def _end(self, reason: str, fall: bool):
        """An episode that cannot go on (a NaN action, a diverged simulation) ends as a failure; the run goes on."""
        self._ready = False
        out = self._outcome(reason if fall else None)
        out.update(success=False, fall=fall, failure_reason=reason)
        obs = np.zeros(self.observation_space.shape, np.float32)
        return obs, 0.0, True, False, {"command": self.nominal_command.copy(), **out}

    def close(self):
        self.data = None


class _Term:
    """One observation term: how to read it, its noise, clip, scale and history."""

    def __init__(self, spec, env: SpecEnv):
        self.spec = spec
        self.name = spec.name
        self.width = spec.width(env.n)
        scale = spec.scale if isinstance(spec.scale, tuple) else (spec.scale,)
        self.scale = np.asarray(scale, dtype=np.float64)
        self.clip = spec.clip
        if spec.name == "gait_phase":
            self.read = functools.partial(_gait_phase, period=spec.period)
        else:
            self.read = _READERS[spec.name] if spec.name != "user" else _user(spec)
        self.history: deque = deque(maxlen=spec.history)
        self.noise = env.spec.obs_noise if spec.name not in ("velocity_commands", "last_action", "gait_phase") else 0.0
        # A built-in term read without noise, clip or history: its reader returns float64 of the right width
        self.plain = spec.name != "user" and not self.noise and self.clip is None and spec.history == 1

    def reset(self) -> None:
        self.history.clear()

    def push(self, env: SpecEnv) -> np.ndarray:
        raw = self.read(env)
        if self.plain:  # the common case, without the checks a user's term needs
            return raw * self.scale
        raw = np.asarray(raw, dtype=np.float64).reshape(-1)
        if raw.size != self.width:
            raise BadInput(f"observation term {self.name} gave {raw.size} values, the spec says {self.width}")
        if self.noise:
            raw = raw + env._noise_rng.normal(0.0, self.noise, raw.size)
        if self.clip is not None:
            raw = np.clip(raw, *self.clip)
        value = raw * self.scale
        if not self.history:  # a reset: the history starts full of the first frame
            self.history.extend([value] * self.history.maxlen)
        else:
            self.history.append(value)
        return np.concatenate(self.history) if self.history.maxlen > 1 else value


def _contiguous(addr: np.ndarray):
    """A slice for consecutive addresses (indexing with it gives a view), else the addresses."""
    addr = np.asarray(addr)
    if addr.size and np.array_equal(addr, np.arange(addr[0], addr[0] + addr.size)):
        return slice(int(addr[0]), int(addr[0]) + addr.size)
    return addr


def _gait_phase(env: SpecEnv, period: float) -> np.ndarray:
    ph = 2 * math.pi * ((env.t / period + env.phase0) % 1.0)
    return np.array([math.sin(ph), math.cos(ph)])


_READERS = {
    "base_ang_vel": lambda e: e.base_ang_vel,
    "base_lin_vel": lambda e: e.base_rot.T @ e.base_lin_vel_world,
    "base_lin_vel_world": lambda e: e.base_lin_vel_world,
    "projected_gravity": lambda e: e.projected_gravity,
    "velocity_commands": lambda e: e.command,
    "joint_pos_rel": lambda e: e.q - e.default,
    "joint_pos": lambda e: e.q,
    "joint_vel": lambda e: e.dq,
    "last_action": lambda e: e.last_action,
    "base_height": lambda e: e.base_pos[2:3],
}


def _user(term):
    module, _, name = term.function.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise BadInput(f"observation term {term.function}: cannot load it ({exc})") from None
    return fn
