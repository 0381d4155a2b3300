"""The mujoco domain's env speed, measured side by side: SpecEnv against a deploy_mujoco-style bare loop.

  step     SpecEnv.step (the env of a deploy spec: `decimation` mj_step calls with the PD law inside MuJoCo,
           then the observation from its terms) against a bare loop written as unitree_rl_gym's deploy_mujoco.py
           is: the scene MJCF loaded with mujoco.MjModel.from_xml_path (its own motors), per physics step the PD
           torque in numpy, tau = kp (target - q) - kd dq, written to d.ctrl, then mujoco.mj_step; every
           `decimation` steps the same observation in plain numpy (mju_quat2Mat, projected gravity, scaled joint
           positions and velocities, the phase's sin and cos, one concatenate). Both start from the env's reset
           state (and the bare model takes the episode's floor friction), act on the same observations, and are
           checked to give the same observations. Rounds alternate env / bare / floor, then floor / bare / env,
           to cancel drift. Microseconds per control step, median over rounds. Bar: env / bare <= 1.15.
  floor    the physics alone: the env's compiled model, mujoco.mj_step(m, d, nstep=decimation) per control step
           with the env run's PD targets replayed (no Python per physics step).
  episode  a 20 s episode of the 12-joint biped (tests/fixtures/mujoco/biped, 2 ms physics, 50 Hz policy) run
           through onnxruntime (1 thread): env.reset, then (session.run, env.step) to the end, timed whole. The
           policy is an MLP 47 -> 256 -> 256 -> 12 (ELU) exported with torch.onnx.export: random weights (the
           robot falls early), the last layer zeroed (actions 0), and the same network with weights set by hand
           to an ankle-pitch feedback that keeps the biped standing the whole 1000 steps. Bar: under 2 s.

The robot's actions in `step`: zeros for the A1 (it stands on its PD); the biped falls within 1.5 s on zeros
(G1's ankle gains, 2 x 40 N m/rad, are under the m g h ~ 210 N m/rad a 31.5 kg humanoid with its centre of mass
at 0.69 m needs), so both loops act on it with that ankle feedback (two multiply-adds on the observation).

The whole run is pinned to one core (--cpu); torch and onnxruntime use one thread.

Run: .venv/bin/python scripts/bench_mujoco.py [--steps 400] [--rounds 20] [--episodes 5] [--cpu N] [--profile]
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import io
import math
import os
import platform
import pstats
import shlex
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import _docs  # scripts/ is on sys.path when this runs as a script
import mujoco
import numpy as np
import onnxruntime as ort
import torch

from edgeperf.domains import base
from edgeperf.domains.mujoco.env import SpecEnv

DOCS_PAGE = "benchmarks/mujoco.md"

ROOT = Path(__file__).resolve().parent.parent
SPECS = {
    "a1": ROOT / "tests/fixtures/mujoco/a1_trot.toml",
    "biped": ROOT / "tests/fixtures/mujoco/biped/biped.toml",
}
LAYOUT = ("base_ang_vel", "projected_gravity", "velocity_commands", "joint_pos_rel", "joint_vel", "last_action",
          "gait_phase")  # fmt: skip
DOWN = np.array([0.0, 0.0, -1.0])
# The biped's standing feedback: ankle pitch action = TILT x projected gravity x + RATE x (scaled) pitch rate.
TILT, RATE = 10.0, 2.0
LIFT = 20.0  # the hand-set MLP's offset that keeps its ELUs in their linear range


def _scale(term) -> np.ndarray:
    return np.asarray(term.scale, dtype=np.float64)


def _span(addr: np.ndarray):
    """A slice when the addresses are consecutive (deploy_mujoco's qpos[7:]), else the index array."""
    addr = np.asarray(addr)
    if np.array_equal(addr, np.arange(addr[0], addr[0] + addr.size)):
        return slice(int(addr[0]), int(addr[0]) + addr.size)
    return addr


def obs_index(spec, term: str, k: int) -> int:
    """Where value k of a term sits in the observation."""
    at = 0
    for name, size in spec.term_sizes():
        if name == term:
            return at + k
        at += size
    raise KeyError(term)


class Stand:
    """The action for `step`: zeros, or the biped's ankle feedback on the observation."""

    def __init__(self, spec, feedback: bool):
        self.action = np.zeros(spec.n)
        self.feedback = feedback
        self.ankles = [i for i, j in enumerate(spec.joints) if "ankle_pitch" in j]
        self.tilt = obs_index(spec, "projected_gravity", 0)
        self.rate = obs_index(spec, "base_ang_vel", 1)

    def __call__(self, obs: np.ndarray) -> np.ndarray:
        if not self.feedback:
            return self.action
        action = np.zeros(self.action.size)  # a new array per call, as a policy's
        action[self.ankles] = TILT * obs[self.tilt] + RATE * obs[self.rate]
        return action


class Bare:
    """unitree_rl_gym's deploy_mujoco.py loop on the scene MJCF, for a spec with the LAYOUT observation."""

    def __init__(self, spec, env: SpecEnv):
        terms = {t.name: t for t in spec.observation}
        if tuple(terms) != LAYOUT or spec.history_layout != "term-major" or any(t.history > 1 for t in terms.values()):
            raise SystemExit(f"{spec.source}: the bare loop is written for the observation {', '.join(LAYOUT)}")
        for name in ("projected_gravity", "last_action", "gait_phase"):
            if np.any(_scale(terms[name]) != 1.0):
                raise SystemExit(f"{spec.source}: the bare loop reads {name} unscaled")
        if spec.action_mode != "position" or spec.action_offset is not None or spec.target_clip is not None:
            raise SystemExit(f"{spec.source}: the bare loop is written for position targets around the default pose")
        m = mujoco.MjModel.from_xml_path(str(spec.scene))
        m.opt.timestep = spec.physics_dt
        # The episode's floor friction (the env draws it per episode): the same contacts on both sides
        m.geom_friction[:] = env.model.geom_friction
        m.geom_priority[:] = env.model.geom_priority
        joint = mujoco.mjtObj.mjOBJ_JOINT
        jid = [mujoco.mj_name2id(m, joint, name) for name in env.b.joints]
        acts = []
        for j in jid:
            found = np.flatnonzero((m.actuator_trntype == mujoco.mjtTrn.mjTRN_JOINT) & (m.actuator_trnid[:, 0] == j))
            if found.size != 1:
                raise SystemExit(f"{spec.scene}: joint {m.joint(j).name} needs exactly one motor")
            acts.append(int(found[0]))
        self.m, self.d = m, mujoco.MjData(m)
        self.qs, self.vs = _span(m.jnt_qposadr[jid]), _span(m.jnt_dofadr[jid])
        self.cs = _span(np.array(acts))
        r, v = env.b.root_qpos, env.b.root_dof
        self.quat, self.omega = slice(r + 3, r + 7), slice(v + 3, v + 6)
        self.kp, self.kd = np.array(spec.kp), np.array(spec.kd)
        self.default = np.array(spec.default_pos)
        self.action_scale = np.array(spec.action_scale)
        self.clip = spec.action_clip
        self.clipped_last = terms["last_action"].clipped
        self.ang_vel_scale = _scale(terms["base_ang_vel"])
        self.cmd_scale = _scale(terms["velocity_commands"])
        self.dof_pos_scale = _scale(terms["joint_pos_rel"])
        self.dof_vel_scale = _scale(terms["joint_vel"])
        self.period = terms["gait_phase"].period
        self.decimation, self.dt = spec.decimation, spec.physics_dt
        self.n = spec.n
        self.env = env

    def reset(self) -> np.ndarray:
        """The env's reset state and episode draws (command, phase offset); returns the first observation."""
        e, d = self.env, self.d
        mujoco.mj_resetData(self.m, d)
        d.qpos[:] = e.data.qpos
        d.qvel[:] = e.data.qvel
        mujoco.mj_forward(self.m, d)
        self.cmd = e.command.copy()
        self.phase0 = e.phase0
        self.counter = 0
        return self.observe(np.zeros(self.n))

    def observe(self, last_action: np.ndarray) -> np.ndarray:
        d = self.d
        rot = np.empty(9)
        mujoco.mju_quat2Mat(rot, d.qpos[self.quat])
        gravity = rot.reshape(3, 3).T @ DOWN
        omega = d.qvel[self.omega] * self.ang_vel_scale
        qj = (d.qpos[self.qs] - self.default) * self.dof_pos_scale
        dqj = d.qvel[self.vs] * self.dof_vel_scale
        phase = 2 * math.pi * ((self.counter * self.dt / self.period + self.phase0) % 1.0)
        return np.concatenate(
            [omega, gravity, self.cmd * self.cmd_scale, qj, dqj, last_action, [math.sin(phase), math.cos(phase)]]
        ).astype(np.float32)

    def run(self, obs: np.ndarray, steps: int, policy) -> np.ndarray:
        """`steps` control steps from `obs`, deploy_mujoco's loop; returns the last observation."""
        m, d, qs, vs, cs = self.m, self.d, self.qs, self.vs, self.cs
        kp, kd, dec = self.kp, self.kd, self.decimation
        raw = policy(obs)
        action = np.clip(raw, -self.clip, self.clip) if self.clip is not None else raw
        target = action * self.action_scale + self.default
        for _ in range(steps * dec):
            tau = kp * (target - d.qpos[qs]) - kd * d.qvel[vs]
            d.ctrl[cs] = tau
            mujoco.mj_step(m, d)
            self.counter += 1
            if self.counter % dec == 0:
                obs = self.observe(action if self.clipped_last else raw)
                raw = policy(obs)
                action = np.clip(raw, -self.clip, self.clip) if self.clip is not None else raw
                target = action * self.action_scale + self.default
        return obs


class Floor:
    """The physics alone: the env's compiled model (PD inside MuJoCo), nstep calls, the env's targets replayed."""

    def __init__(self, env: SpecEnv, targets: np.ndarray):
        self.m = copy.copy(env.model)
        self.d = mujoco.MjData(self.m)
        self.env, self.targets, self.ctrl = env, targets, env.b.ctrl

    def reset(self) -> None:
        mujoco.mj_resetData(self.m, self.d)
        self.d.qpos[:] = self.env.data.qpos
        self.d.qvel[:] = self.env.data.qvel
        self.d.ctrl[:] = self.env.data.ctrl
        mujoco.mj_forward(self.m, self.d)

    def run(self, steps: int) -> None:
        m, d, ctrl, dec = self.m, self.d, self.ctrl, self.env.substeps
        for k in range(steps):
            d.ctrl[ctrl] = self.targets[k]
            mujoco.mj_step(m, d, nstep=dec)


def env_run(env: SpecEnv, obs: np.ndarray, steps: int, policy) -> np.ndarray:
    for k in range(steps):
        obs, _, term, trunc, info = env.step(policy(obs))
        if term or trunc:
            raise SystemExit(f"the env's episode ended at step {k + 1}: {info.get('failure_reason') or 'time out'}")
    return obs


def step_bench(robot: str, steps: int, rounds: int, profile: bool) -> dict:
    env = base.make(f"mujoco:{SPECS[robot]}").env(0)
    spec = env.spec
    steps = min(steps, env.max_steps - 1)  # within the episode: no time-out on the way
    policy = Stand(spec, feedback=robot == "biped")
    bare = Bare(spec, env)
    # Parity, and the env's targets for the floor: the same observations from both loops, step by step
    obs_e, _ = env.reset(seed=0)
    obs_b = bare.reset()
    worst = float(np.max(np.abs(obs_e - obs_b)))
    targets = np.empty((steps, spec.n))
    for k in range(steps):
        obs_e = env_run(env, obs_e, 1, policy)
        obs_b = bare.run(obs_b, 1, policy)
        targets[k] = env.data.ctrl[env.b.ctrl]
        if k < 50:
            worst = max(worst, float(np.max(np.abs(obs_e - obs_b))))
    upright = float(-env.projected_gravity[2])
    floor = Floor(env, targets)
    times: dict[str, list[float]] = {"env": [], "bare": [], "floor": []}

    def one(which: str) -> None:
        obs, _ = env.reset(seed=0)
        if which == "env":
            t0 = time.perf_counter_ns()
            env_run(env, obs, steps, policy)
        elif which == "bare":
            obs = bare.reset()
            t0 = time.perf_counter_ns()
            bare.run(obs, steps, policy)
        else:
            floor.reset()
            t0 = time.perf_counter_ns()
            floor.run(steps)
        times[which].append((time.perf_counter_ns() - t0) / 1e3 / steps)

    for which in ("env", "bare", "floor"):  # warm-up
        one(which)
    for v in times.values():
        v.clear()
    order = ["env", "bare", "floor"]
    for r in range(rounds):
        for which in order if r % 2 == 0 else order[::-1]:
            one(which)
    med = {k: statistics.median(v) for k, v in times.items()}
    out = {
        "robot": robot,
        "steps": steps,
        "rounds": rounds,
        "substeps": env.substeps,
        "env_us": med["env"],
        "bare_us": med["bare"],
        "floor_us": med["floor"],
        "ratio": med["env"] / med["bare"],
        "ratio_rounds": [round(a / b, 3) for a, b in zip(times["env"], times["bare"], strict=True)],
        "spread_us": {k: (min(v), max(v)) for k, v in times.items()},
        "parity_max_abs_obs_diff_50_steps": worst,
        "upright_cos_at_end": upright,
    }
    if profile:
        obs, _ = env.reset(seed=0)
        prof = cProfile.Profile()
        prof.enable()
        env_run(env, obs, steps, policy)
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(25)
        out["profile"] = text.getvalue()
    return out


# --- the episode ------------------------------------------------------------------------------------------------
def mlp(n_obs: int, n_act: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torch.nn.Linear(n_obs, 256),
        torch.nn.ELU(),
        torch.nn.Linear(256, 256),
        torch.nn.ELU(),
        torch.nn.Linear(256, n_act),
    )


def policies(spec) -> dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    random = mlp(spec.obs_size, spec.n)
    zeros = copy.deepcopy(random)
    stand = copy.deepcopy(random)
    with torch.no_grad():
        zeros[4].weight.zero_()
        zeros[4].bias.zero_()
        # The ankle feedback through the same layers: one unit carries it, kept positive (ELU's identity) by LIFT
        for p in stand.parameters():
            p.zero_()
        stand[0].weight[0, obs_index(spec, "projected_gravity", 0)] = TILT
        stand[0].weight[0, obs_index(spec, "base_ang_vel", 1)] = RATE
        stand[0].bias[0] = LIFT
        stand[2].weight[0, 0] = 1.0
        for i, name in enumerate(spec.joints):
            if "ankle_pitch" in name:
                stand[4].weight[i, 0] = 1.0
                stand[4].bias[i] = -LIFT
    return {"random": random, "zeros": zeros, "stand": stand}


def export(module: torch.nn.Module, n_obs: int, path: Path) -> None:
    module.eval()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(
            module,
            (torch.zeros(1, n_obs),),
            str(path),
            input_names=["obs"],
            output_names=["actions"],
            opset_version=17,
            dynamo=False,
        )


def session(path: Path) -> ort.InferenceSession:
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def episode(env: SpecEnv, sess: ort.InferenceSession) -> dict:
    run = sess.run
    t_policy = t_env = 0
    clock = time.perf_counter_ns
    t0 = clock()
    obs, _ = env.reset(seed=0)
    steps = 0
    while True:
        a = clock()
        action = run(None, {"obs": obs[None]})[0][0]
        b = clock()
        obs, _, term, trunc, info = env.step(action)
        t_env += clock() - b
        t_policy += b - a
        steps += 1
        if term or trunc:
            break
    wall = (clock() - t0) / 1e9
    return {
        "wall_s": wall,
        "steps": steps,
        "policy_s": t_policy / 1e9,
        "env_s": t_env / 1e9,
        "end": info["failure_reason"] if info.get("fall") else "ran to the end (20 s)",
    }


def episode_bench(repeats: int) -> list[dict]:
    domain = base.make(f"mujoco:{SPECS['biped']}")
    env = domain.env(0)
    spec = env.spec
    # The zero policy once more with the termination off: the whole 1000 steps, the fallen robot on the floor
    no_stop = SpecEnv(spec.replace(max_tilt_deg=None, min_base_height=None), seed=0)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        sessions = {}
        for name, module in policies(spec).items():
            path = Path(tmp) / f"{name}.onnx"
            export(module, spec.obs_size, path)
            sessions[name] = session(path)
        cases = [(name, env, sess) for name, sess in sessions.items()]
        cases.append(("zeros, no termination", no_stop, sessions["zeros"]))
        for _, e, sess in cases:  # warm-up
            episode(e, sess)
        results: dict[str, list[dict]] = {name: [] for name, _, _ in cases}
        for r in range(repeats):
            for name, e, sess in cases if r % 2 == 0 else cases[::-1]:
                results[name].append(episode(e, sess))
    for name, rs in results.items():
        walls = [x["wall_s"] for x in rs]
        best = rs[walls.index(statistics.median_low(walls))]
        runs.append(
            {
                "policy": name,
                **best,
                "wall_s": statistics.median(walls),
                "walls": walls,
                "simulated_s": best["steps"] * env.dt,
            }
        )
    return runs


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400, help="control steps per round and variant (step bench)")
    parser.add_argument("--rounds", type=int, default=20, help="alternating rounds (step bench)")
    parser.add_argument("--episodes", type=int, default=5, help="repeats of each 20 s episode (median)")
    parser.add_argument("--cpu", type=int, default=max(os.sched_getaffinity(0)), help="the core to pin to")
    parser.add_argument("--profile", action="store_true", help="cProfile one env run per robot, top 25 by tottime")
    parser.add_argument("--skip-episode", action="store_true")
    args = parser.parse_args()
    os.sched_setaffinity(0, {args.cpu})
    torch.set_num_threads(1)
    command = " ".join([".venv/bin/python", "scripts/bench_mujoco.py", *map(shlex.quote, sys.argv[1:])])
    load0 = os.getloadavg()
    print(f"command: {command}")
    print(
        f"machine: {_cpu_name()}, {os.cpu_count()} cpus, pinned to cpu {args.cpu}; python {platform.python_version()}, "
        f"mujoco {mujoco.__version__}, onnxruntime {ort.__version__}, numpy {np.__version__}, torch {torch.__version__}"
    )
    print("load average at start (1/5/15 min): " + " ".join(f"{x:.2f}" for x in load0))
    t_start = time.perf_counter()

    steps = [step_bench(robot, args.steps, args.rounds, args.profile) for robot in SPECS]
    print()
    print(f"step: microseconds per control step, median of {args.rounds} alternating rounds of {args.steps} steps")
    print(f"{'robot':8} {'substeps':>8} {'env':>9} {'bare':>9} {'floor':>9} {'env/bare':>9} {'bar':>6}  parity")
    for s in steps:
        ok = "ok" if s["ratio"] <= 1.15 else "OVER"
        print(
            f"{s['robot']:8} {s['substeps']:8d} {s['env_us']:9.1f} {s['bare_us']:9.1f} {s['floor_us']:9.1f} "
            f"{s['ratio']:9.3f} {ok:>6}  max |obs diff| {s['parity_max_abs_obs_diff_50_steps']:.1e} (50 steps)"
        )
    for s in steps:
        spread = ", ".join(f"{k} {lo:.1f}-{hi:.1f}" for k, (lo, hi) in s["spread_us"].items())
        print(f"  {s['robot']}: per-round env/bare {s['ratio_rounds']}; range us: {spread}")
        print(f"  {s['robot']}: body z axis . world z after the run {s['upright_cos_at_end']:.3f} (1: upright)")
        print(
            f"  {s['robot']}: env - bare = {s['env_us'] - s['bare_us']:.1f} us/step; env - floor = "
            f"{s['env_us'] - s['floor_us']:.1f} us/step ({(s['env_us'] - s['floor_us']) / s['substeps']:.2f} us per "
            f"physics step); bare - floor = {s['bare_us'] - s['floor_us']:.1f} us/step"
        )
        if "profile" in s:
            print(f"--- cProfile of {s['steps']} env steps, {s['robot']} ---")
            print(s["profile"])

    runs = [] if args.skip_episode else episode_bench(args.episodes)
    if runs:
        print()
        print(f"episode: the biped's 20 s episode (1000 control steps max), median of {args.episodes}; bar < 2 s")
        print(
            f"{'policy':24} {'steps':>5} {'sim s':>6} {'wall s':>7} {'x real':>7} {'ort s':>6} {'env s':>6} "
            f"{'us/step':>8}  end"
        )
        for r in runs:
            ok = "" if r["steps"] < 1000 else ("  (bar ok)" if r["wall_s"] < 2.0 else "  (OVER the bar)")
            print(
                f"{r['policy']:24} {r['steps']:5d} {r['simulated_s']:6.2f} {r['wall_s']:7.3f} "
                f"{r['simulated_s'] / r['wall_s']:7.1f} {r['policy_s']:6.3f} {r['env_s']:6.3f} "
                f"{1e6 * r['wall_s'] / r['steps']:8.1f}  {r['end']}{ok}"
            )
        print("  walls (s): " + "; ".join(f"{r['policy']}: {', '.join(f'{w:.3f}' for w in r['walls'])}" for r in runs))

    print()
    print("summary (each figure from: " + command + ")")
    for s in steps:
        print(
            f"  {s['robot']} step: env {s['env_us']:.1f} us, bare {s['bare_us']:.1f} us, floor {s['floor_us']:.1f} us "
            f"per control step; env/bare {s['ratio']:.3f} (bar <= 1.15: {'met' if s['ratio'] <= 1.15 else 'NOT met'})"
        )
    for r in runs:
        print(
            f"  biped episode, {r['policy']} policy: {r['steps']} steps ({r['simulated_s']:.2f} s simulated) in "
            f"{r['wall_s']:.3f} s"
            + (f" (bar < 2 s: {'met' if r['wall_s'] < 2.0 else 'NOT met'})" if r["steps"] == 1000 else "")
        )
    print(
        "load average at end (1/5/15 min): "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
        + f"; took {time.perf_counter() - t_start:.0f} s"
    )


if __name__ == "__main__":
    _docs.run(main, DOCS_PAGE)
