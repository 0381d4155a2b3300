"""The MuJoCo twin of the pybullet quadruped: `mujoco/a1-trot`, `a1-pace`, `a1-spin`, `a1-trot-push`.

The same Unitree A1 (pybullet_data's `a1/a1.urdf`, compiled by MuJoCo with a floating base added), the same
observation, action, PD gains, torque limit, command (the path-following operator), pushes, randomisation drawn
in the same order from the same seed, reward, metrics and success rule as `quadruped/<task>`: they come from
edgeperf.domains.quadruped.task, shared by both engines. What differs is the physics (MuJoCo's soft contacts
against pybullet's), so `edgeperf sim2sim MODEL --domain quadruped/trot --to mujoco/a1-trot` measures the
transfer of a policy between the two engines and nothing else. Fall: base below 0.12 m, tilted beyond 60
degrees, or the trunk, a hip or a thigh on the ground (the lower legs may touch it, as in pybullet).
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from edgeperf.domains.mujoco.env import SpecEnv
from edgeperf.domains.mujoco.scene import mujoco
from edgeperf.domains.mujoco.spec import DeploySpec, ObsTerm
from edgeperf.domains.quadruped import task as q
from edgeperf.errors import require

LEGS = ("FR", "FL", "RR", "RL")
JOINTS = tuple(f"{leg}_{j}_joint" for leg in LEGS for j in ("hip", "upper", "lower"))
FALL_BODIES = ("trunk", *(f"{leg}_{part}" for leg in LEGS for part in ("hip", "upper")))
PHYSICS_DT, DECIMATION = 0.002, 10  # 500 Hz physics, 50 Hz policy: the pybullet env's defaults


def spec(task: str) -> DeploySpec:
    """The twin's deploy spec: the pybullet quadruped's contract, written in edgeperf's own terms."""
    t = q.TASKS[task]
    n = len(JOINTS)
    return DeploySpec(
        source=Path(f"mujoco/a1-{task}"),
        format="edgeperf",
        scene=None,
        physics_dt=PHYSICS_DT,
        decimation=DECIMATION,
        joints=JOINTS,
        kp=(q.KP,) * n,
        kd=(q.KD,) * n,
        torque_limit=(q.TORQUE_LIMIT,) * n,
        default_pos=tuple(q.DEFAULT_POSE),
        action_scale=(q.ACTION_SCALE,) * n,
        action_clip=q.ACTION_LIMIT,
        observation=(
            ObsTerm("base_ang_vel"),
            ObsTerm("projected_gravity"),
            ObsTerm("velocity_commands"),
            ObsTerm("joint_pos_rel"),
            ObsTerm("joint_vel"),
            ObsTerm("last_action", clipped=True),
            ObsTerm("gait_phase", period=t["period"], random_offset=True),
        ),
        commands={"vx": (t["command"][0],) * 2, "vy": (t["command"][1],) * 2, "yaw_rate": (t["command"][2],) * 2},
        episode_s=20.0,
        min_base_height=q.FALL_HEIGHT,
        max_tilt_deg=60.0,
        fall_contacts=FALL_BODIES,
        friction=q.FRICTION,
        push_n=t["push_n"],
        push_every_s=q.PUSH_EVERY_S,
    ).check()


@functools.lru_cache(maxsize=1)
def _urdf() -> tuple[str, dict]:
    with_pybullet = require("pybullet_data", "sim", "for the A1 twin (pybullet_data ships its URDF)")
    root = Path(with_pybullet.getDataPath()) / "a1"
    text = (root / "a1.urdf").read_text()
    # MuJoCo fixes a URDF's root link to the world; a floating joint above the trunk frees it.
    text = text.replace(
        '<link name="trunk">',
        '<link name="world_root"/><joint name="floating_base" type="floating">'
        '<parent link="world_root"/><child link="trunk"/></joint><link name="trunk">',
        1,
    )
    assets = {f"meshes/{p.name}": p.read_bytes() for p in (root / "meshes").iterdir() if p.is_file()}
    return text, assets


def mjspec():
    """The A1 as MuJoCo compiles it from pybullet_data's URDF, on a floor plane."""
    text, assets = _urdf()
    ms = mujoco.MjSpec.from_string(text, assets=assets)
    for joint in ms.joints:
        # MuJoCo turns the URDF's effort limits (20 N m hips, 55 N m legs) into joint force limits; pybullet's
        # torque control ignores them, and both envs clip to the A1's 33.5 N m instead
        joint.actfrclimited = mujoco.mjtLimited.mjLIMITED_FALSE
    floor = ms.worldbody.add_geom()
    floor.name = "floor"
    floor.type = mujoco.mjtGeom.mjGEOM_PLANE
    floor.size = [50.0, 50.0, 0.1]
    floor.friction = [1.0, 0.005, 0.0001]
    ms.option.gravity = [0.0, 0.0, -9.81]
    return ms


class A1TwinEnv(SpecEnv):
    """The pybullet quadruped's task on MuJoCo's A1."""

    metrics = q.QuadrupedTask.metrics
    _outcome = q.QuadrupedTask._outcome

    def __init__(
        self,
        task: str = "trot",
        seed: int | None = None,
        action_delay_s: float = 0.0,
        pushes: bool = True,
        overrides: dict[str, float] | None = None,
    ):
        self.task = task
        self.spec_task = q.TASKS[task]
        self.pushes = pushes
        self.overrides = dict(overrides or {})  # randomised quantities fixed at a level (sim2sim --randomize)
        s = spec(task)
        if "obs_noise" in self.overrides:
            s = s.replace(obs_noise=self.overrides["obs_noise"])
        super().__init__(s, seed=seed, action_delay_s=action_delay_s, mjspec=mjspec())

    def draw_episode(self, rng: np.random.Generator) -> np.ndarray:
        self.nominal_command = np.array(self.spec_task["command"], dtype=np.float64)
        self.friction, self.heading0, self.phase0, q0, pushes = q.draw_episode(rng, self.spec_task, self.episode_s)
        o = self.overrides
        if "push_n" in o:  # the same pushes, at the level's force
            pushes = [(t0, t1, f / np.linalg.norm(f) * o["push_n"]) for t0, t1, f in pushes]
        self.push_schedule = pushes if self.pushes else []
        self.friction = o.get("friction", self.friction)
        self.mass_scale = o.get("mass_scale", 1.0)
        self.motor_strength = o.get("motor_strength", 1.0)
        return q0

    def _place(self, q0: np.ndarray) -> None:
        super()._place(q0)
        self.data.qpos[self.b.root_qpos + 2] = q.STAND_HEIGHT
        mujoco.mj_forward(self.model, self.data)

    _command = q.QuadrupedTask._command
