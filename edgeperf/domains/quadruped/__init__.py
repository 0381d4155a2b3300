"""The pybullet quadruped domain: `quadruped/trot`, `quadruped/pace`, `quadruped/spin`, `quadruped/trot-push`.

Robot: Unitree A1 (pybullet_data `a1/a1.urdf`) on a flat plane, pybullet DIRECT. The 12 motor joints are driven by
an explicit PD law (Kp 200 N m/rad, Kd 3 N m s/rad, torque clipped to 33.5 N m) computed at the physics rate
(500 Hz by default) with pybullet's default motors disabled. The policy acts at 50 Hz by default (`control_hz`);
an episode lasts 20 s (`episode_s`).

Observation (47 float32 values, raw SI units, body frame unless said; legs in pybullet's order FR, FL, RR, RL,
each (abduction, hip, knee) -- legged_gym orders legs FL, FR, RL, RR):

    [0:3]    base angular velocity (rad/s), body frame
    [3:6]    projected gravity: the unit gravity vector in the body frame ((0, 0, -1) when level)
    [6:9]    command: vx (m/s, heading frame), vy (m/s), yaw rate (rad/s)
    [9:21]   joint positions minus the default pose (0, 0.9, -1.8 rad per leg)
    [21:33]  joint velocities (rad/s)
    [33:45]  the previous action (as given, after clipping)
    [45:47]  gait clock: sin and cos of 2 pi phase (phase = t / period + a random offset, mod 1)

Action (12 values, clipped to [-2, 2]): joint position offsets; the PD target is default pose + 0.5 rad x action.

Command: the task's nominal command plus path following, as a joystick operator would give it. trot, pace and
trot-push: vx = 0.5 m/s (pace 0.4) plus 0.5 x how far the base lags a target point moving along the initial
heading at that speed (limit +-0.1 m/s); the yaw rate holds the initial heading (gain 1, limit 0.5 rad/s); vy
steers back onto the straight line through the start (gain 1, limit 0.3 m/s). spin: a yaw rate of 1 rad/s,
and vx, vy that steer the base back over its starting point (gain 1, limit 0.3 m/s).

Randomisation, all drawn at reset from the episode seed (same seed -> same world, whatever the policy does):
ground friction U(0.6, 1.0); initial heading U(-pi, pi), gait phase offset U(0, 1), joint angles default +
N(0, 0.03 rad); pushes of 0.1 s every U(2, 4) s in a uniform horizontal direction, applied at the base COM in the
world frame, of U(20, 50) N (trot, pace, spin) or U(100, 150) N (trot-push).

Reward per step (x dt): exp(-|v_xy - cmd_xy|^2 / 0.25) + 0.5 exp(-(yaw rate - cmd)^2 / 0.25)
- 2e-3 x mechanical power (sum |torque x joint velocity|, W) - 0.01 x |action - previous action|^2.

Termination: a fall (base COM below 0.12 m, body tilted more than 60 degrees, or the trunk, a hip or a thigh
touching the ground; the lower legs may touch it, their tips sit beside the foot spheres). Truncation at the
episode length. Success (info["success"] on the final step): no fall AND mean forward speed (displacement along
the initial heading / duration) within 15% of the nominal command AND lateral drift (final distance from the
straight line) under 0.5 m; spin: no fall AND mean yaw rate within 15% of the command AND the base ends within
0.5 m of its start. info["metrics"]: forward_speed, lateral_drift, yaw_rate, distance_from_start, tracking_error
(mean |(vx, vy, yaw rate) - command| per step), energy (J: sum over physics steps of |torque x joint velocity| x
dt), return, duration_s, friction, pushes.

Latency in the loop: `env.unwrapped.action_delay_s` (default 0): a new action applies that many seconds into its
step, rounded to physics steps; the previous targets hold until then (longer delays queue across steps).

pybullet, gymnasium (the `sim` extra) load when an env is made; torch only in `load_reference`.
"""

from __future__ import annotations

from edgeperf.domains.base import Domain
from edgeperf.errors import BadInput

TASK_DESCRIPTIONS = {
    "trot": "Unitree A1 trotting forward at 0.5 m/s under 20-50 N pushes",
    "pace": "Unitree A1 pacing forward at 0.4 m/s under 20-50 N pushes",
    "spin": "Unitree A1 turning in place at 1 rad/s under 20-50 N pushes",
    "trot-push": "Unitree A1 trotting forward at 0.5 m/s under 100-150 N pushes",
}
SUCCESS_RULES = {
    "trot": "no fall, mean forward speed within 15% of 0.5 m/s, lateral drift < 0.5 m over 20 s",
    "pace": "no fall, mean forward speed within 15% of 0.4 m/s, lateral drift < 0.5 m over 20 s",
    "spin": "no fall, mean yaw rate within 15% of 1 rad/s, ends within 0.5 m of the start, over 20 s",
    "trot-push": "no fall, mean forward speed within 15% of 0.5 m/s, lateral drift < 0.5 m over 20 s",
}
# Paired equivalence margin, in return units (a 20 s episode returns ~25-30 for a walking policy).
EQUIVALENCE_MARGIN = 1.0
CONTROL_HZ = 50.0
EPISODE_S = 20.0


def _task(domain_id: str) -> str:
    task = domain_id.split("/", 1)[1] if domain_id.startswith("quadruped/") else domain_id
    if task not in TASK_DESCRIPTIONS:
        raise BadInput(
            f"unknown quadruped task '{domain_id}'; known: " + ", ".join(f"quadruped/{t}" for t in TASK_DESCRIPTIONS)
        )
    return task


def make_env(task: str, seed: int | None = None, **options):
    """A QuadrupedEnv for `task` (options: control_hz, sim_hz, episode_s, action_delay_s, pushes, render_mode)."""
    from edgeperf.domains.quadruped.env import QuadrupedEnv

    return QuadrupedEnv(task=_task(task), seed=seed, **options)


def domain(domain_id: str) -> Domain:
    task = _task(domain_id)

    def make(seed: int, **options):
        env = make_env(task, seed=seed, **options)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return env

    return Domain(
        id=f"quadruped/{task}",
        description=TASK_DESCRIPTIONS[task],
        make_env=make,
        control_hz=CONTROL_HZ,
        equivalence_margin=EQUIVALENCE_MARGIN,
        reference=f"reference:quadruped/{task}",
        success_rule=SUCCESS_RULES[task],
        episode_s=EPISODE_S,
    )


def load_reference(domain_id: str):
    """The bundled neural policy for a quadruped task: a torch module (eval mode), raw observation -> action."""
    from edgeperf.domains.quadruped.policy import load_reference as _load

    return _load(domain_id)


def expert(domain_id: str = "quadruped/trot"):
    """The model-based gait expert (privileged: it reads the env, not the observation); expert(env) -> action."""
    from edgeperf.domains.quadruped.expert import GaitExpert

    _task(domain_id)
    return GaitExpert()
