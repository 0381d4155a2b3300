"""edgeperf plays the robot on DDS: a deploy spec's robot in MuJoCo, speaking unitree_sdk2's rt/lowstate and
rt/lowcmd, for the user's own controller in another process (or on another computer).

Per physics step (the spec's dt) the robot publishes LowState_ (the IMU at the root body: quaternion w x y z,
gyroscope = the body-frame angular velocity, accelerometer = the body-frame specific force, rpy; per motor q, dq
and tau_est; tick; CRC) and drives each motor from the latest valid LowCmd_ as a Unitree motor driver does:
tau = tau_ff + kp (q - q_m) + kd (dq - dq_m), clipped to the motor's torque limit by MuJoCo, recomputed every
physics step. Motor slot i is the MJCF's i-th hinge or slide joint (as unitree_mujoco maps its motors); the spec's
joints are driven, other slots are not. The episode's velocity command rides on the wireless_remote sticks as
deploy_real.py reads them (ly = vx, lx = -vy, rx = -yaw rate; float32 at bytes 20, 4, 8; max_cmd 1).

An episode: the robot is reset (seeded as validate seeds it) and held in its initial pose, physics not running,
publishing its state each physics period of wall time (`tick` counts physics periods from 0 at each reset, held
ones included), until the controller's first command with gains; physics starts with it. A zero-torque command
(kp, kd and tau all 0 for every driven joint: deploy_real.py's first state, the robot limp on its gantry) keeps
the hold and is counted, not applied. With `remote_buttons` the robot plays the operator of unitree_rl_gym's
deploy_real.py on the remote (wireless_remote's key bits, bytes 2-3: start = bit 2, A = bit 8): it holds `start`
from the first zero-torque command, and `A` once the commands hold one pose with gains (REMOTE_HELD_POSE
identical commands in a row: the controller moved to its default pose and waits); physics then starts with the
first command that differs from that pose (the policy's first), and the buttons are let go. Until then every
command is a start-up command (counted, not applied): the robot stays held, as a hoist holds it, and starts the
episode as SIL does. Once physics has started in a run, the later episodes start as without buttons.

realtime: physics steps are released on the wall clock; a command applies from the first physics step released
after it arrived.
lockstep: at every control step (decimation physics steps) the robot publishes its state and waits for a command
received after that, then runs the control step at once (only those states are published). After the episode
the robot goes silent for RESET_PAUSE_S (commands then are counted, not applied) and the next one starts.

A command is refused (counted, the last valid one stays) when its CRC is wrong or it carries a non-finite value
for a driven motor; one that drives slots the robot lacks or leaves driven joints without gains is counted as a
wrong motor count (what it says for the driven joints applies); targets outside the joint range and feed-forward
torques beyond the limit are counted (MuJoCo clamps the torque).

Timing (perf_counter_ns, this process): commands are taken on a reading thread as they come (edgeperf.bus.dds),
checked and put into the motor drivers there. A command's `age` is its receive time minus the publish time of the
latest state published before it came (LowCmd_ carries no tick: this is the controller's reaction time when it
answers the newest state; a controller that answers an older state is older than this by whole physics steps).
`applied` is when it was in the drivers (CRC checked); its torque acts from the next physics step. A control step
without a new command is a miss (the last command holds); a silence of GAP_PERIODS control periods or more is a
gap.
"""

from __future__ import annotations

import collections
import contextlib
import math
import operator
import struct
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from edgeperf.domains.mujoco import apply_overrides, load_id, parse_overrides
from edgeperf.errors import BadInput
from edgeperf.profilers.latency import sleep_until
from edgeperf.validation.rollout import Episode

MODES = ("realtime", "lockstep")
FIRST_COMMAND_TIMEOUT_S = 10.0
RESET_PAUSE_S = 0.1
GAP_PERIODS = 5
REMOTE_HELD_POSE = 5  # identical commands with gains in a row that say the controller holds its pose (press A)
KEY_START, KEY_A = 1 << 2, 1 << 8  # wireless_remote's key bits (unitree_rl_gym's remote_controller.KeyMap)
_now = time.perf_counter_ns


def pace(target_ns: int) -> None:
    """Sleep until `target_ns` (perf_counter_ns): the robot's physics clock. No spin at the end (profilers'
    sleep_until spins its last 200 us): a spinning thread holds the GIL, so a command taken meanwhile waits for it,
    and on a loaded machine the OS can preempt the spinner while it holds it (measured: robot p99 1083 -> 487 us,
    p50 unchanged). The thread's timer slack is 1 ns (`fine_timer`): the sleep wakes within tens of us."""

    sleep_until(target_ns, PACE_SPIN_NS)


PACE_SPIN_NS = 0


@contextlib.contextmanager
def fine_timer():
    """The calling thread's timer slack at 1 ns meanwhile (Linux; Linux's 50 us default makes a sleep wake up to
    ~100 us late, which a 200 us spin would have to cover); elsewhere nothing changes."""
    libc = None
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        before = libc.prctl(30, 0, 0, 0, 0)  # PR_GET_TIMERSLACK
        if before <= 0 or libc.prctl(29, 1, 0, 0, 0) != 0:  # PR_SET_TIMERSLACK
            libc = None
    except (OSError, AttributeError):
        libc = None
    try:
        yield
    finally:
        if libc is not None:
            libc.prctl(29, before, 0, 0, 0)


def spec_of(domain_id: str):
    """The DeploySpec of a `mujoco:SPEC[,options]` domain id."""
    if not domain_id.startswith("mujoco:"):
        raise BadInput(
            "--bus needs a robot from a deploy spec: --domain mujoco:SPEC (e.g. mujoco:configs/g1.yaml), got "
            + domain_id
        )

    spec = load_id(domain_id)
    _, overrides = parse_overrides(domain_id)
    return apply_overrides(spec, overrides) if overrides else spec


def motor_slots(spec) -> list[int]:
    """The motor slot of each of the spec's joints (policy order): its index among the MJCF's hinge and slide
    joints, as unitree_mujoco numbers motors. Needs MuJoCo (the scene is compiled)."""
    from edgeperf.domains.mujoco.scene import compile_scene, mujoco

    model, b = compile_scene(spec)
    kinds = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    hinge = [j for j in range(model.njnt) if int(model.jnt_type[j]) in kinds]
    names = [model.joint(j).name for j in hinge]
    return [names.index(name) for name in b.joints]


def stick_bytes(command) -> list[int]:
    """wireless_remote's 40 bytes with the velocity command on the sticks (deploy_real.py's mapping)."""
    vx, vy, yaw = (float(c) for c in command[:3])
    out = bytearray(40)
    struct.pack_into("<f", out, 4, -vy)  # lx
    struct.pack_into("<f", out, 8, -yaw)  # rx
    struct.pack_into("<f", out, 20, vx)  # ly
    return list(out)


def command_from_sticks(remote) -> np.ndarray:
    """The velocity command of wireless_remote's sticks: (ly, -lx, -rx), as deploy_real.py reads them."""
    raw = bytes(bytearray(int(v) & 0xFF for v in remote))
    lx, rx, ly = (
        struct.unpack_from("<f", raw, 4)[0],
        struct.unpack_from("<f", raw, 8)[0],
        struct.unpack_from("<f", raw, 20)[0],
    )
    return np.array([ly, -lx, -rx])


# --- the record ---------------------------------------------------------------------------------------------------
@dataclass
class BusLog:
    """What the controller did, over the whole run."""

    received: int = 0
    applied: int = 0
    bad_crc: int = 0
    undecodable: int = 0
    nonfinite: int = 0
    wrong_motor_count: int = 0
    extra_slots: set = field(default_factory=set)
    limp_joints: set = field(default_factory=set)
    outside_joint_range: int = 0
    outside_torque_limit: int = 0
    between_episodes: int = 0
    age_ns: list = field(default_factory=list)
    applied_ns: list = field(default_factory=list)  # state publish -> applied
    controller_ns: list = field(default_factory=list)  # the controller's own compute, where it reports it
    interval_ns: list = field(default_factory=list)  # between consecutive commands of an episode
    steps: int = 0
    misses: int = 0
    streak: int = 0
    longest_streak: int = 0
    gaps: list = field(default_factory=list)
    late_physics: int = 0  # realtime: physics steps released more than one physics period late
    physics_steps: int = 0
    saturated: int = 0  # physics steps where some driven motor's torque hit its limit
    states: int = 0
    first_command_s: list = field(default_factory=list)
    zero_torque_held: int = 0  # zero-torque commands while the robot was held (not applied)
    startup: int = 0  # other commands of a --remote-buttons start-up while held (not applied)
    buttons: list = field(default_factory=list)  # [{"button", "s"}]: when the robot pressed the remote's buttons
    no_command: dict | None = None
    stopped: dict | None = None  # the controller went silent and sent nothing more until the run ended
    active_s: float = 0.0

    def step(self, fresh: bool) -> None:
        self.steps += 1
        if fresh:
            self.streak = 0
        else:
            self.misses += 1
            self.streak += 1
            self.longest_streak = max(self.longest_streak, self.streak)


class Motors:
    """The motor drivers: the latest valid command per driven joint and the law that turns it into torque."""

    def __init__(self, spec, family, slots: list[int], ranges: np.ndarray, limited: np.ndarray, limits: np.ndarray):
        from edgeperf.bus.unitree import LAYOUTS

        n = spec.n
        self.n, self.slots = n, np.asarray(slots)
        lay = LAYOUTS[family.cmd]
        self.layout = lay
        self.crc_at = lay.n - 1
        self.idx = {k: np.array([lay.index[("motor_cmd", s, k)] for s in range(family.motors)]) for k in
                    ("mode", "q", "dq", "tau", "kp", "kd")}  # fmt: skip
        reserve = lay.index.get(("reserve", 0), lay.index.get(("reserve",)))
        at = lay.cdr_offsets()
        self.reserve_at = at[reserve] if reserve is not None else None
        self.crc_from = at[self.crc_at]
        # a command is read straight from its bytes (this runs per command on the reading thread, and its time is
        # the robot's added latency): one struct unpack of the driven joints' q, dq, tau, kp, kd (in the sample's
        # order, then put in q..kd order by one itemgetter; plain C calls: after the thread's sleep they cost less
        # than numpy's, 80 against 110 us measured on the loaded dev VM), the other slots' tau, kp, kd as float32
        # words (every float32 sits 4-aligned: CDR aligns to size)
        self._words = (max(at) + 4) // 4
        mine = [at[self.idx[k][s]] for k in ("q", "dq", "tau", "kp", "kd") for s in slots]
        order = sorted(range(len(mine)), key=mine.__getitem__)
        fmt, pos = "<", 0
        for i in order:
            fmt, pos = fmt + f"{mine[i] - pos}xf", mine[i] + 4
        self._unpack = struct.Struct(fmt).unpack_from
        self._in_order = operator.itemgetter(*sorted(range(len(order)), key=order.__getitem__))
        self.cmd = np.zeros((5, n))  # q, dq, tau, kp, kd per driven joint: what the drivers hold
        self.q, self.dq, self.tau, self.kp, self.kd = self.cmd  # views
        self.lo = np.where(limited, ranges[:, 0], -np.inf)
        self.hi = np.where(limited, ranges[:, 1], np.inf)
        self.limits = limits
        others = np.ones(family.motors, bool)
        others[self.slots] = False
        self.others = np.flatnonzero(others)
        self._theirs = np.array([at[self.idx[k][s]] // 4 for s in self.others for k in ("tau", "kp", "kd")], int)

    def hold(self, q0: np.ndarray, kp, kd) -> None:
        self.q[:], self.dq[:], self.tau[:] = q0, 0.0, 0.0
        self.kp[:], self.kd[:] = 0.0, 0.0

    def take(self, data: bytes, log: BusLog) -> bool:
        """Check a command (its little-endian CDR bytes: CRC, finite values); put it into the drivers (True) or
        refuse it (False). What else is wrong with it is counted by `account`, after: it is applied all the same."""
        if self.layout.crc_of_cdr(data) != int.from_bytes(data[self.crc_from : self.crc_from + 4], "little"):
            log.bad_crc += 1
            return False
        mine = self._in_order(self._unpack(data))
        if not math.isfinite(sum(mine)):  # a NaN or an infinity anywhere (float32 values: the sum cannot overflow)
            log.nonfinite += 1
            return False
        self.cmd.flat[:] = mine
        return True

    def account(self, data: bytes, log: BusLog) -> None:
        """Count what is wrong with the command just applied (slots, gains, ranges, torque) and its compute time."""
        q, _, tau, kp, kd = self.cmd
        limp = (kp == 0) & (kd == 0) & (tau == 0)
        theirs = np.frombuffer(data, "<f4", self._words)[self._theirs].reshape(-1, 3) != 0  # NaN counts too
        if theirs.any() or limp.any():
            log.wrong_motor_count += 1
            log.extra_slots.update(self.others[theirs.any(axis=1)].tolist())
            log.limp_joints.update(np.flatnonzero(limp).tolist())
        if (((q < self.lo) | (q > self.hi)) & (kp > 0)).any():
            log.outside_joint_range += 1
        if (np.abs(tau) > self.limits).any():
            log.outside_torque_limit += 1
        if self.reserve_at is not None:
            ns = int.from_bytes(data[self.reserve_at : self.reserve_at + 4], "little")
            if 0 < ns < 10**9:
                log.controller_ns.append(ns)  # the example controller's compute, in ns

    def torque(self, q_m: np.ndarray, dq_m: np.ndarray) -> np.ndarray:
        return self.tau + self.kp * (self.q - q_m) + self.kd * (self.dq - dq_m)


# --- the robot ----------------------------------------------------------------------------------------------------
def _bus_env_class():
    from edgeperf.domains.mujoco.env import SpecEnv

    class BusEnv(SpecEnv):
        """The spec's robot with its motors driven per physics step by the robot loop (torque actuators)."""

        _hook_each_physics_step = True

        def _between_physics_steps(self, n, ctrl, pushes) -> None:
            super()._between_physics_steps(n, ctrl, pushes)
            self.robot.physics_step(self, n, ctrl)

    return BusEnv


class Robot:
    """The robot on the bus for one run: `run(seeds)` -> the episodes, with the record in `log`."""

    _episode_k = 0  # the episode running (its index in the run)
    _last_seen: tuple | None = None  # (episode, seed, step, receive time) of the run's latest valid command

    def __init__(
        self,
        domain_id: str,
        family_name: str,
        participant,
        *,
        mode: str = "realtime",
        first_command_timeout_s: float = FIRST_COMMAND_TIMEOUT_S,
        lockstep_timeout_s: float | None = None,
        remote_buttons: bool = False,
    ):
        from edgeperf.bus import dds, unitree

        if mode not in MODES:
            raise BadInput(f"mode {mode!r}: choose {' or '.join(MODES)}")
        if family_name not in unitree.FAMILIES:
            raise BadInput(f"--bus {family_name}: choose {' or '.join(unitree.FAMILIES)}")
        self.family = fam = unitree.FAMILIES[family_name]
        self.spec = spec = spec_of(domain_id)
        self.domain_id, self.mode = domain_id, mode
        self.slots = motor_slots(spec)
        if max(self.slots) >= fam.motors:
            raise BadInput(
                f"{spec.source}: the robot has {max(self.slots) + 1} motors (its MJCF's joints) but {family_name} "
                f"carries {fam.motors}; use --bus unitree_hg (35 slots) for more"
            )
        # the env drives torque actuators (the motor law is applied here); its reward and metrics stay the spec's
        self.bus_spec = spec.replace(action_mode="torque")
        self.scale = np.asarray(spec.action_scale, dtype=np.float64)
        self.offset = (
            np.asarray(spec.action_offset, dtype=np.float64)
            if spec.action_offset is not None
            else np.asarray(spec.default_pos, dtype=np.float64)
        )
        self.sim_dt_ns = round(spec.physics_dt * 1e9)
        self.period_ns = self.sim_dt_ns * spec.decimation
        self.first_timeout_s = first_command_timeout_s
        self.lockstep_timeout_s = lockstep_timeout_s if lockstep_timeout_s is not None else first_command_timeout_s
        self.p = participant
        self.state_layout = unitree.LAYOUTS[fam.state]
        self.inbox = dds.Inbox(serialized=True)
        self.inbox.handler = self._on_command
        self._lock = threading.Lock()
        self._accepting = False
        self._holding = False  # no command has started physics this episode yet
        # remote_buttons: the operator's start-up is over (or never was); the keys pressed; the start-up's last
        # command (driven q, dq, tau, kp, kd) and how many in a row were the same
        self.remote_buttons, self._operator_done = remote_buttons, not remote_buttons
        self._keys, self._pose, self._same_pose = 0, None, 0
        self._applied_count = 0
        self._steps = 0
        self._last_cmd_ns: int | None = None
        self.seed: int | None = None
        self._pub_times: collections.deque = collections.deque(maxlen=64)  # publish times of the latest states
        self.log = BusLog()
        self._state_msg = fam.state()
        self._values = self.state_layout.values(self._state_msg)
        lay = self.state_layout
        ix = lay.index
        self._iq = [ix[("motor_state", s, "q")] for s in self.slots]
        self._idq = [ix[("motor_state", s, "dq")] for s in self.slots]
        self._itau = [ix[("motor_state", s, "tau_est")] for s in self.slots]
        for s in self.slots:
            self._values[ix[("motor_state", s, "mode")]] = 1
        self._iquat = [ix[("imu_state", "quaternion", i)] for i in range(4)]
        self._igyro = [ix[("imu_state", "gyroscope", i)] for i in range(3)]
        self._iacc = [ix[("imu_state", "accelerometer", i)] for i in range(3)]
        self._irpy = [ix[("imu_state", "rpy", i)] for i in range(3)]
        self._iremote = [ix[("wireless_remote", i)] for i in range(40)]
        self._itick = ix[("tick",)]
        self._icrc = lay.n - 1
        self.writer = participant.writer(unitree.TOPIC_STATE, fam.state)
        self.reader = participant.reader(unitree.TOPIC_CMD, fam.cmd, self.inbox)

    # --- state out ---------------------------------------------------------------------------------------------
    def publish(self, env, tick: int) -> int:
        """Publish the env's current state with `tick`; the publish time (ns), kept for the commands' ages."""
        from edgeperf.domains.mujoco.scene import mujoco

        d, b, v = env.data, env.b, self._values
        q, dq = d.qpos[b.qpos].tolist(), d.qvel[b.dof].tolist()
        tau = d.actuator_force[b.ctrl].tolist()
        for i in range(len(self._iq)):
            v[self._iq[i]], v[self._idq[i]], v[self._itau[i]] = q[i], dq[i], tau[i]
        if b.root_qpos is not None:
            r, w = b.root_qpos, b.root_dof
            quat = d.qpos[r + 3 : r + 7]
            rot = np.empty(9)
            mujoco.mju_quat2Mat(rot, quat)
            rot = rot.reshape(3, 3)
            acc = rot.T @ (d.qacc[w : w + 3] - env.model.opt.gravity)  # specific force, body frame
            qw, qx, qy, qz = quat.tolist()
            rpy = (
                math.atan2(2 * (qw * qx + qy * qz), 1 - 2 * (qx * qx + qy * qy)),
                math.asin(max(-1.0, min(1.0, 2 * (qw * qy - qz * qx)))),
                math.atan2(2 * (qw * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz)),
            )
            for i, x in zip(self._iquat, (qw, qx, qy, qz), strict=True):
                v[i] = x
            for i, x in zip(self._igyro, d.qvel[w + 3 : w + 6].tolist(), strict=True):
                v[i] = x
            for i, x in zip(self._iacc, acc.tolist(), strict=True):
                v[i] = x
            for i, x in zip(self._irpy, rpy, strict=True):
                v[i] = x
        v[self._itick] = tick
        v[self._icrc] = 0
        v[self._icrc] = self.state_layout.crc_of(v)
        msg = self._state_msg
        msg.__dict__["_wire"] = self.state_layout.encode(v)
        t = _now()
        self._pub_times.append(t)  # before the write: on loopback the answer can come before write() returns
        self.writer.write(msg)
        self.log.states += 1
        return t

    # --- commands in -------------------------------------------------------------------------------------------
    def _on_command(self, t: int, data) -> None:
        """A command's bytes (little-endian CDR; None: undecodable), on the reading thread as it comes: checked and,
        when valid, into the motor drivers at once."""
        with self._lock:
            log = self.log
            if not self._accepting:  # between episodes: the robot is being reset
                log.between_episodes += 1
                return
            log.received += 1
            if data is None:
                log.undecodable += 1
                return
            if not self.motors.take(data, log):
                return
            now = _now()  # in the drivers: the physics steps from here on drive with it
            if self._holding and not self._starts_physics(t):
                return
            self._holding = False
            self.motors.account(data, log)
            log.applied += 1
            before = self._pub_before(t)
            log.age_ns.append(t - before)
            log.applied_ns.append(now - before)
            if self._last_cmd_ns is not None:
                gap = t - self._last_cmd_ns
                log.interval_ns.append(gap)
                if gap >= GAP_PERIODS * self.period_ns:
                    log.gaps.append(
                        {
                            "seed": self.seed,
                            "step": self._steps,
                            "seconds": gap / 1e9,
                            "missed_steps": gap // self.period_ns - 1,
                        }
                    )
            self._last_cmd_ns = t
            self._last_seen = (self._episode_k, self.seed, self._steps, t)
            self._applied_count += 1

    def _starts_physics(self, t: int) -> bool:
        """While held: does the command just taken (in the drivers) start physics? Else it is counted as a
        start-up command, and with remote_buttons the operator's next button is pressed when its moment comes."""
        log, cmd = self.log, self.motors.cmd
        zero = not cmd[2:].any()  # tau, kp and kd all 0: a zero-torque command
        if zero:
            log.zero_torque_held += 1
            if not self._operator_done and not self._keys & KEY_START:
                self._press(KEY_START, t)
            return False
        if self._operator_done:
            return True
        same = self._pose is not None and np.array_equal(cmd, self._pose)
        if self._keys & KEY_A and not same:  # the first command after A that is not the held pose: the policy's
            self._press(0, t)
            self._operator_done = True
            return True
        self._same_pose = self._same_pose + 1 if same else 1
        self._pose = cmd.copy()
        if self._same_pose >= REMOTE_HELD_POSE and self._keys & KEY_START and not self._keys & KEY_A:
            self._press(KEY_A, t)
        log.startup += 1
        return False

    def _press(self, keys: int, t: int) -> None:
        """The remote's key bits (wireless_remote bytes 2-3, little-endian) from the next published state on."""
        self._keys = keys
        self._values[self._iremote[2]], self._values[self._iremote[3]] = keys & 0xFF, keys >> 8
        if keys:
            name = "A" if keys & KEY_A else "start"
            self.log.buttons.append({"button": name, "s": (t - self._hold_t0) / 1e9})

    def _receive(self, env) -> bool:
        """True when a valid command was applied since the last look."""
        self.inbox.event.clear()
        with self._lock:
            n, self._applied_count = self._applied_count, 0
            self._steps = env.steps
        return n > 0

    def _pub_before(self, t: int) -> int:
        """The publish time of the latest state published before `t` (the states' times are kept per step)."""
        times = list(self._pub_times)  # a copy: the loop appends meanwhile
        for k in range(len(times) - 1, -1, -1):
            if times[k] <= t:
                return times[k]
        return times[0] if times else t

    # --- physics -----------------------------------------------------------------------------------------------
    def physics_step(self, env, n: int, ctrl) -> None:
        """Before physics step `n` of the episode: (realtime) wait for its release, publish, take what came;
        (lockstep) at a control step's start publish and wait for the command; then the motor law."""
        first = n == 0
        boundary = n % self.spec.decimation == 0
        if self.mode == "realtime":
            release = self._t0 + n * self.sim_dt_ns
            if _now() - release > self.sim_dt_ns:
                self.log.late_physics += 1
            pace(release)
            if not first:
                self.publish(env, self._tick0 + n)
            got = self._receive(env)
            self._fresh = self._fresh or got
            if boundary and not first:
                self.log.step(self._fresh)
                self._fresh = False
        elif boundary and not first:
            self._receive(env)  # what came before this state does not answer it (it is in the drivers already)
            self.publish(env, self._tick0 + n)
            deadline = time.perf_counter() + self.lockstep_timeout_s
            fresh = False
            while not fresh and time.perf_counter() < deadline:
                self.inbox.wait(max(0.0, deadline - time.perf_counter()))
                fresh = self._receive(env)
            self.log.step(fresh)
            if not fresh:
                self._stalled = True
        q_m, dq_m = env.data.qpos[env.b.qpos], env.data.qvel[env.b.dof]
        with self._lock:
            tau = self.motors.torque(q_m, dq_m)
        self.log.physics_steps += 1
        if (np.abs(tau) >= self.motors.limits).any():
            self.log.saturated += 1
        ctrl[:] = tau

    # --- episodes ----------------------------------------------------------------------------------------------
    def _hold(self, env) -> bool:
        """Publish the held initial state each physics period until a valid command comes; False on timeout."""
        t0 = self._hold_t0 = _now()
        deadline = t0 + round(self.first_timeout_s * 1e9)
        k = 0
        while _now() < deadline:
            self.publish(env, k)
            self._tick0 = k  # the held state's tick: physics step n's state carries tick0 + n
            k += 1
            while True:
                if self._receive(env):
                    self.log.first_command_s.append((_now() - t0) / 1e9)
                    return True
                if _now() >= t0 + k * self.sim_dt_ns:
                    break
                self.inbox.wait(max(0.0, (t0 + k * self.sim_dt_ns - _now()) / 1e9 - 50e-6))
            pace(t0 + k * self.sim_dt_ns)
        return False

    def episode(self, seed: int):
        env = _bus_env_class()(self.bus_spec, seed=seed)
        env.robot = self
        try:
            env.reset(seed=seed)
            b = env.b
            motors = Motors(self.spec, self.family, self.slots, b.ranges, b.limited, b.torque_limit)
            motors.hold(env.data.qpos[b.qpos].copy(), 0, 0)
            with self._lock:
                self.motors = motors
                self._applied_count, self._steps = 0, 0
                self._pub_times = collections.deque(maxlen=64)
                for i, x in zip(self._iremote, stick_bytes(env.nominal_command), strict=True):
                    self._values[i] = x  # the sticks; no key pressed
                self._keys, self._pose, self._same_pose = 0, None, 0
                self._hold_t0 = _now()
                self.seed, self._last_cmd_ns = seed, None  # before accepting: the reading thread reads them
                self._holding = self._accepting = True
            self._fresh = True  # the command that started physics counts for the first control step
            self._stalled = False
            ep = Episode(seed)
            if not self._hold(env):
                return None
            self._t0 = _now()
            started = time.perf_counter()
            while True:
                action = (self.motors.q - self.offset) / self.scale  # what the policy asked, for the reward
                _, done = ep.step(env, action if self.spec.action_mode == "position" else self.motors.tau)
                if done or self._stalled:
                    break
            self.log.active_s += time.perf_counter() - started
            if self._stalled and not done:
                ep.failure_reason = f"the controller stopped answering at step {ep.steps} (lockstep)"
                ep.success = False
                ep.success_reported = True
                ep.metrics = env.metrics()
            return ep
        finally:
            env.close()

    def pause(self) -> None:
        """Between episodes: silence, and what comes meanwhile is counted, not applied."""
        with self._lock:
            self._accepting = False
        time.sleep(RESET_PAUSE_S)

    def run(self, seeds: list[int]) -> list:
        with fine_timer():
            return self._run(seeds)

    def _run(self, seeds: list[int]) -> list:
        episodes = []
        self._last_seen = None
        for k, seed in enumerate(seeds):
            if k:
                self.pause()
            self._episode_k = k
            ep = self.episode(seed)
            if ep is None:
                self.log.no_command = {"seed": seed, "waited_s": self.first_timeout_s, "episode": k}
                break
            episodes.append(ep)
            if self._stalled:
                break
        self._note_stop()
        return episodes

    def _note_stop(self) -> None:
        """A controller that went silent for GAP_PERIODS control periods or more and sent nothing more until the
        run ended (it stopped, crashed or was stopped): where, and for how long, in `log.stopped`."""
        if self._last_seen is None:
            return
        k, seed, step, t = self._last_seen
        silent = _now() - t
        if silent >= GAP_PERIODS * self.period_ns:
            self.log.stopped = {"episode": k, "seed": seed, "step": step, "silent_s": silent / 1e9}
