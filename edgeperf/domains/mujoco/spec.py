"""The deploy spec: the robot's contract with its policy, one typed value whatever file it came from.

edgeperf's own format (`schema = "edgeperf.deploy/1"`, TOML or YAML) maps onto it key for key; the importers in
`formats/` turn the files people already have into it. Every check a spec needs lives in `DeploySpec.check`
(lengths against the joint count, finite numbers, known terms), so an importer only translates.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass, field
from pathlib import Path

from edgeperf.errors import BadInput

SCHEMA = "edgeperf.deploy/1"

# The observation vocabulary: term -> (size, or "joints" for one value per policy joint; what it is).
TERMS: dict[str, tuple[int | str, str]] = {
    "base_ang_vel": (3, "base angular velocity, body frame (rad/s)"),
    "base_lin_vel": (3, "base linear velocity, body frame (m/s)"),
    # unitree_rl_gym's deploy_go2.py reads the free joint's qvel[:3] as it is: the world frame, not rotated
    "base_lin_vel_world": (3, "base linear velocity, world frame (m/s)"),
    "projected_gravity": (3, "unit gravity vector in the body frame ((0, 0, -1) level)"),
    "velocity_commands": (3, "command vx, vy (m/s), yaw rate (rad/s)"),
    "joint_pos_rel": ("joints", "joint positions minus the default pose (rad)"),
    "joint_pos": ("joints", "joint positions (rad)"),
    "joint_vel": ("joints", "joint velocities (rad/s)"),
    "last_action": ("joints", "the previous action, as the policy returned it"),
    "gait_phase": (2, "sin and cos of 2 pi t / period (+ a per-episode offset when phase_offset is random)"),
    "base_height": (1, "base height above the ground (m)"),
    "user": (0, "module:function(env) -> values, for anything else"),
}
LAYOUTS = ("term-major", "frame-major")
ACTION_MODES = ("position", "torque")
COMMAND_KEYS = ("vx", "vy", "yaw_rate")
DEFAULT_COMMANDS = {"vx": (0.5, 0.5), "vy": (0.0, 0.0), "yaw_rate": (0.0, 0.0)}  # walk forward at 0.5 m/s


@dataclass(frozen=True)
class ObsTerm:
    name: str
    scale: float | tuple[float, ...] = 1.0
    clip: tuple[float, float] | None = None  # (low, high), applied before the scale (Isaac Lab's order)
    history: int = 1
    function: str | None = None  # user terms: "module:function", called with the env, returns `size` values
    size: int | None = None  # user terms
    period: float | None = None  # gait_phase (s)
    random_offset: bool = False  # gait_phase: a per-episode phase offset U(0, 1)
    clipped: bool = False  # last_action: after the action clip (default: as the policy returned it)

    def width(self, joints: int) -> int:
        """Values per frame."""
        size = TERMS[self.name][0]
        if self.name == "user":
            return int(self.size or 0)
        return joints if size == "joints" else int(size)


@dataclass(frozen=True)
class DeploySpec:
    source: Path  # the file it was read from
    format: str  # the format it was read as (edgeperf, unitree_rl_gym, isaaclab, onnx-metadata)
    scene: Path | None
    physics_dt: float
    decimation: int
    joints: tuple[str, ...]  # MJCF joint names, in policy order
    kp: tuple[float, ...]
    kd: tuple[float, ...]
    default_pos: tuple[float, ...]
    observation: tuple[ObsTerm, ...]
    torque_limit: tuple[float, ...] | None = None  # None: the scene's actuator limits
    action_mode: str = "position"
    action_scale: tuple[float, ...] = ()
    action_offset: tuple[float, ...] | None = None  # None: the default pose (position mode), 0 (torque mode)
    action_clip: float | None = None  # the policy's output, clipped to +-this before scaling
    target_clip: tuple[tuple[float, float], ...] | None = (
        None  # per joint (low, high) on scale x a + offset (Isaac Lab)
    )
    history_layout: str = "term-major"
    frames: int = 1  # frame-major: frames stacked, oldest first
    commands: dict = field(default_factory=lambda: dict(DEFAULT_COMMANDS))
    episode_s: float = 20.0
    min_base_height: float | None = None
    max_tilt_deg: float | None = 60.0
    fall_contacts: tuple[str, ...] = ()  # bodies that end the episode when they touch the ground
    min_forward_ratio: float | None = 0.5  # success: mean speed along the command >= this x commanded
    max_tracking_error: float | None = None  # success: mean |v - cmd| (m/s, rad/s) at most this
    init_noise: float = 0.0  # rad, N(0, s) added to the default pose at reset
    reference: str | None = None  # the policy this spec deploys (unitree_rl_gym's policy_path)
    # Domain randomisation, per episode from the seed (None: off): (low, high) ranges.
    friction: tuple[float, float] | None = None
    push_n: tuple[float, float] | None = None
    push_every_s: tuple[float, float] = (2.0, 4.0)
    mass_scale: tuple[float, float] | None = None
    motor_strength: tuple[float, float] | None = None
    obs_noise: float = 0.0  # Gaussian sensor noise (std, in the term's raw units, before scaling)

    # --- derived --------------------------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return len(self.joints)

    def term_sizes(self) -> list[tuple[str, int]]:
        """(term, values in the observation) in order: what a size mismatch is explained with."""
        if self.history_layout == "frame-major":
            return [(t.name, t.width(self.n) * self.frames) for t in self.observation]
        return [(t.name, t.width(self.n) * t.history) for t in self.observation]

    @property
    def obs_size(self) -> int:
        return sum(s for _, s in self.term_sizes())

    def describe_terms(self) -> str:
        return ", ".join(f"{name} {size}" for name, size in self.term_sizes())

    def replace(self, **changes) -> DeploySpec:
        return dataclasses.replace(self, **changes).check()

    # --- checks ---------------------------------------------------------------------------------------------
    def check(self) -> DeploySpec:
        where = f"{self.source}"
        n = self.n
        if n == 0:
            raise BadInput(f"{where}: the spec names no joints")
        if len(set(self.joints)) != n:
            dup = sorted({j for j in self.joints if self.joints.count(j) > 1})
            raise BadInput(f"{where}: joints listed twice: {', '.join(dup)}")
        _positive(where, "physics dt", self.physics_dt)
        if not 1e-5 <= self.physics_dt <= 0.1:  # outside: an episode of 10^9 physics steps, or no physics at all
            raise BadInput(f"{where}: physics dt {self.physics_dt:g} s: a physics step from 1e-05 to 0.1 s")
        if not (isinstance(self.decimation, int) and 1 <= self.decimation <= 1000):
            raise BadInput(f"{where}: control decimation must be a whole number from 1 to 1000: {self.decimation!r}")
        _positive(where, "episode length (s)", self.episode_s)
        if self.episode_s > 3600:
            raise BadInput(f"{where}: an episode of {self.episode_s:g} s: at most an hour")
        for key, vec in (("kp", self.kp), ("kd", self.kd), ("default joint positions", self.default_pos)):
            _vector(where, key, vec, n)
        if self.torque_limit is not None:
            _vector(where, "torque limits", self.torque_limit, n)
            if any(v <= 0 for v in self.torque_limit):
                raise BadInput(f"{where}: torque limits must be > 0")
        _vector(where, "action scale", self.action_scale, n)
        if self.action_offset is not None:
            _vector(where, "action offset", self.action_offset, n)
        if self.target_clip is not None:
            if len(self.target_clip) != n:
                raise BadInput(
                    f"{where}: action target clip has {len(self.target_clip)} rows but the spec has {n} joints"
                )
            for i, rng in enumerate(self.target_clip):
                _range(where, f"action target clip[{i}]", rng, allow_negative=True)
        if self.action_mode not in ACTION_MODES:
            raise BadInput(f"{where}: action mode '{self.action_mode}'; known: {', '.join(ACTION_MODES)}")
        for key, value in (
            ("action clip", self.action_clip),
            ("min base height", self.min_base_height),
            ("max tilt (deg)", self.max_tilt_deg),
            ("min forward ratio", self.min_forward_ratio),
            ("max tracking error", self.max_tracking_error),
        ):
            if value is not None:
                _finite(where, key, value)
        _finite(where, "init noise", self.init_noise)
        _finite(where, "observation noise", self.obs_noise)
        if self.history_layout not in LAYOUTS:
            raise BadInput(f"{where}: history layout '{self.history_layout}'; known: {', '.join(LAYOUTS)}")
        if not self.observation:
            raise BadInput(f"{where}: the spec has no observation terms")
        for term in self.observation:
            _check_term(where, term, n)
            if self.history_layout == "frame-major" and term.history != 1:
                raise BadInput(
                    f"{where}: term {term.name} has history {term.history} in a frame-major layout; there the "
                    f"whole observation is stacked ({self.frames} frames): give history per term only term-major"
                )
        if not (isinstance(self.frames, int) and self.frames >= 1):
            raise BadInput(f"{where}: frames must be a whole number >= 1, got {self.frames!r}")
        for key, rng in self.commands.items():
            if key not in COMMAND_KEYS:
                raise BadInput(f"{where}: unknown command '{key}'; known: {', '.join(COMMAND_KEYS)}")
            _range(where, f"command {key}", rng, allow_negative=True)
        for key in ("friction", "push_n", "mass_scale", "motor_strength", "push_every_s"):
            if getattr(self, key) is not None:
                _range(where, key, getattr(self, key))
        return self


def _finite(where: str, key: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise BadInput(f"{where}: {key} is {value!r}; a finite number is needed")


def _positive(where: str, key: str, value) -> None:
    _finite(where, key, value)
    if value <= 0:
        raise BadInput(f"{where}: {key} must be > 0, got {value}")


def _vector(where: str, key: str, vec, n: int) -> None:
    if len(vec) != n:
        raise BadInput(f"{where}: {key} has {len(vec)} values but the spec has {n} joints")
    for i, v in enumerate(vec):
        _finite(where, f"{key}[{i}]", v)


def _range(where: str, key: str, rng, allow_negative: bool = False) -> None:
    if isinstance(rng, (str, bytes)) or not hasattr(rng, "__len__") or len(rng) != 2:
        raise BadInput(f"{where}: {key} must be a value or a [low, high] range, got {list(rng)}")
    for v in rng:
        _finite(where, key, v)
    if rng[0] > rng[1] or (not allow_negative and rng[0] < 0):
        raise BadInput(f"{where}: {key} range {list(rng)} must have 0 <= low <= high")


def _check_term(where: str, term: ObsTerm, n: int) -> None:
    if term.name not in TERMS:
        import difflib

        close = difflib.get_close_matches(term.name, list(TERMS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise BadInput(f"{where}: unknown observation term '{term.name}'{hint} Known: {', '.join(TERMS)}")
    if not (isinstance(term.history, int) and term.history >= 1):
        raise BadInput(f"{where}: term {term.name}: history must be a whole number >= 1, got {term.history!r}")
    if term.name == "user":
        if not term.function or ":" not in term.function:
            raise BadInput(f"{where}: a user term needs function = 'module:function'")
        if not (isinstance(term.size, int) and term.size >= 1):
            raise BadInput(f"{where}: user term {term.function} needs size = the number of values it returns")
    if term.name == "gait_phase":
        _positive(where, "gait_phase period (s)", term.period)
    width = term.width(n)
    scale = term.scale if isinstance(term.scale, tuple) else (term.scale,)
    if len(scale) not in (1, width):
        raise BadInput(f"{where}: term {term.name} has {len(scale)} scales but {width} values")
    for v in scale:
        _finite(where, f"{term.name} scale", v)
    if term.clip is not None:
        _range(where, f"{term.name} clip", term.clip, allow_negative=True)
