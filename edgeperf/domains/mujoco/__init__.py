"""The user's robot in MuJoCo: `--domain mujoco:SPEC` and the A1 twin `mujoco/a1-<task>`.

SPEC is a deploy spec file: edgeperf's own (`schema = "edgeperf.deploy/1"`, TOML or YAML), unitree_rl_gym's
`deploy/deploy_mujoco/configs/*.yaml`, or an Isaac Lab deploy file as unitree_rl_lab writes it
(`params/deploy.yaml`), or a policy ONNX that carries mjlab's metadata; the formats are told apart by their keys
(formats/). Options follow the path after commas: `mujoco:params/deploy.yaml,scene=g1_29dof.xml` for a file that
names no scene; `dt=`, `decimation=` set the physics step and the control decimation, `vx=`, `vy=`, `yaw_rate=`
fix the command; friction, push_n, mass_scale, motor_strength and obs_noise fix a randomisation level.

MuJoCo (the `mujoco` extra) loads when an env is made; nothing is downloaded at run time.
"""

from __future__ import annotations

import math

from edgeperf.domains.base import Domain
from edgeperf.errors import BadInput

A1_TASKS = ("trot", "pace", "spin", "trot-push")
PREFIX = "mujoco:"


def margin(episode_s: float) -> float:
    """The paired equivalence margin in return units: the quadruped's 1.0 per 20 s episode, scaled to the
    episode's length (the reward is per second: at most 1.5 a second)."""
    return episode_s / 20.0


def a1_domain(domain_id: str) -> Domain:
    name, overrides = parse_overrides(domain_id)
    if set(overrides) - set(LEVELS):
        raise BadInput(f"--domain {domain_id}: the A1 twin takes only randomisation levels ({', '.join(LEVELS)})")
    task = name.removeprefix("mujoco/a1-")
    if task not in A1_TASKS:
        raise BadInput(f"unknown A1 twin task '{domain_id}'; known: " + ", ".join(f"mujoco/a1-{t}" for t in A1_TASKS))
    from edgeperf.domains.quadruped import SUCCESS_RULES, TASK_DESCRIPTIONS

    def make(seed: int, **options):
        from edgeperf.domains.mujoco.a1 import A1TwinEnv

        env = A1TwinEnv(task, seed=seed, overrides=overrides, **options)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return env

    return Domain(
        id=domain_id,
        description=TASK_DESCRIPTIONS[task] + " (MuJoCo twin of quadruped/" + task + ")",
        make_env=make,
        control_hz=50.0,
        equivalence_margin=margin(20.0),
        reference=f"reference:quadruped/{task}",
        success_rule=SUCCESS_RULES[task],
        episode_s=20.0,
    )


def spec_domain(domain_id: str) -> Domain:
    """The Domain of a deploy spec file (`mujoco:PATH[,scene=MJCF]`)."""
    spec = load_id(domain_id)
    _, overrides = parse_overrides(domain_id)
    if overrides:
        spec = apply_overrides(spec, overrides)
    return domain_of(spec, domain_id)


def domain_of(spec, domain_id: str) -> Domain:
    """The Domain of a DeploySpec (doctor builds one per candidate spec, in this process)."""

    def make(seed: int, **options):
        from edgeperf.domains.mujoco.env import SpecEnv

        env = SpecEnv(spec, seed=seed, **options)
        env.reset(seed=seed)
        env.action_space.seed(seed)
        return env

    return Domain(
        id=domain_id,
        description=f"{spec.n}-joint robot of {spec.source.name} ({spec.format} format) in MuJoCo",
        make_env=make,
        control_hz=1.0 / (spec.physics_dt * spec.decimation),
        equivalence_margin=margin(spec.episode_s),
        reference=spec.reference,
        success_rule=success_rule(spec),
        episode_s=spec.episode_s,
        observation_terms=tuple(spec.term_sizes()),
    )


def load_id(domain_id: str):
    """The DeploySpec a `mujoco:PATH[,key=value...]` id names."""
    from edgeperf.domains.mujoco.formats import load

    path, options = parse_id(domain_id)
    return load(path, **options)


# Options after the path: the scene, randomisation fixed at one level (sim2sim --randomize sets them), and what
# a format may not carry (mjlab's metadata has no physics step or command)
LEVELS = ("friction", "push_n", "mass_scale", "motor_strength", "obs_noise")
SETTINGS = ("dt", "decimation", "vx", "vy", "yaw_rate")


def parse_id(domain_id: str) -> tuple[str, dict]:
    """(spec path, {"scene": ...}) of a `mujoco:PATH[,scene=MJCF][,KEY=LEVEL...]` id."""
    path, options = _split(domain_id.removeprefix(PREFIX), domain_id)
    if not path:
        raise BadInput(f"--domain {domain_id}: give mujoco:PATH to a deploy spec (e.g. mujoco:configs/g1.yaml)")
    return path, {k: v for k, v in options.items() if k == "scene"}


def parse_overrides(domain_id: str) -> tuple[str, dict[str, float]]:
    """(the id without options, {randomisation key: level})."""
    name, options = _split(domain_id, domain_id)
    return name, {k: float(v) for k, v in options.items() if k != "scene"}


def _split(body: str, domain_id: str) -> tuple[str, dict]:
    path, *rest = body.split(",")
    options = {}
    for item in rest:
        key, sep, value = item.partition("=")
        if not sep or not value or key not in ("scene", *LEVELS, *SETTINGS):
            raise BadInput(
                f"--domain {domain_id}: unknown option '{item}'; known: scene=PATH (an MJCF), "
                + ", ".join(f"{k}=LEVEL" for k in LEVELS)
                + ", dt=S, decimation=N, vx=M/S, vy=M/S, yaw_rate=RAD/S"
            )
        if key != "scene":
            try:
                level = float(value)
            except ValueError:
                level = math.nan
            signed = key in ("vx", "vy", "yaw_rate")
            if not (math.isfinite(level) and (signed or level >= 0)):
                raise BadInput(f"--domain {domain_id}: {key}={value}: a finite number{'' if signed else ' >= 0'}")
            if key == "decimation" and (level < 1 or level != int(level)):
                raise BadInput(f"--domain {domain_id}: decimation={value}: a whole number >= 1")
        options[key] = value
    return path, options


def apply_overrides(spec, overrides: dict[str, float]):
    """The spec with each randomised quantity fixed at its level, and the physics step, decimation and command
    the options set."""
    changes = {k: (v, v) for k, v in overrides.items() if k in LEVELS and k != "obs_noise"}
    if "obs_noise" in overrides:
        changes["obs_noise"] = overrides["obs_noise"]
    if "dt" in overrides:
        changes["physics_dt"] = overrides["dt"]
    if "decimation" in overrides:
        changes["decimation"] = int(overrides["decimation"])
    if any(k in overrides for k in ("vx", "vy", "yaw_rate")):
        changes["commands"] = {
            **spec.commands,
            **{k: (v, v) for k, v in overrides.items() if k in ("vx", "vy", "yaw_rate")},
        }
    return spec.replace(**changes)


def success_rule(spec) -> str:
    rule = ["no fall"]
    if spec.min_forward_ratio is not None:
        rule.append(f"mean speed along the command >= {spec.min_forward_ratio:g} x the commanded speed")
    if spec.max_tracking_error is not None:
        rule.append(f"tracking error <= {spec.max_tracking_error:g}")
    return ", ".join(rule) + f", over {spec.episode_s:g} s"
