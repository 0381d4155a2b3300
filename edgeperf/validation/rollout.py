"""Episodes of a policy in a domain, in pairs under common random numbers, across a process pool.

Episode k of the reference and of the deployed policy use the same seed, so they meet the same initial
state, pushes and terrain. The unit of work is a pair: the reference episode (along which the deployed
policy is also queried, for action divergence) then the deployed episode (with latency in the loop when
asked). Each worker opens both policies once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from edgeperf import processes
from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.runtime import obsdict
from edgeperf.runtime.session import Session
from edgeperf.validation import chunks
from edgeperf.validation.chunks import ChunkExecution
from edgeperf.validation.latency import DelayedActions, LatencyModel

# Observations further apart than this (max abs difference) mean the two trajectories have separated.
SEPARATION_TOL = 1e-3


@dataclass(frozen=True)
class PolicySpec:
    source: str  # an artifact path or a policy source
    backend: str = "auto"
    # How to open it: a module-level function (it travels to the worker processes by name). Session.open takes
    # artifacts; edgeperf.pipeline.open_policy takes every policy source `export` reads.
    opener: Callable[..., Session] = Session.open

    def open(self) -> Session:
        return self.opener(self.source, backend=self.backend, threads=1)


@dataclass
class Episode:
    seed: int
    ret: float = 0.0
    steps: int = 0
    success: bool = False
    success_reported: bool = False  # the env put "success" in info on its final step (the domain has a criterion)
    fall: bool = False
    nonfinite: bool = False  # the policy returned a non-finite action (the episode stopped there)
    failure_reason: str = ""
    metrics: dict = field(default_factory=dict)
    inference_us: list = field(default_factory=list)  # per step: the policy answering an observation
    # per step, from an env that times its own side of a decision (`decision_timings`: web pages read and
    # encoded, actions executed), name -> microseconds
    env_timings: dict = field(default_factory=dict)

    def accepts(self, action: np.ndarray) -> bool:
        """False (and the episode failed) for a non-finite action: no robot is given NaN."""
        if np.all(np.isfinite(action)):
            return True
        self.nonfinite = True
        self.failure_reason = f"the policy returned a non-finite action at step {self.steps}"
        return False

    def step(self, env, applied: np.ndarray):
        """One control step with what the robot receives; returns (observation, episode over)."""
        obs, reward, terminated, truncated, info = env.step(applied)
        self.ret += float(reward)
        self.steps += 1
        if terminated or truncated:
            self.finish(info)
        return obs, terminated or truncated

    def finish(self, info: dict) -> None:
        """The outcome the env reported on its final step (the contract in domains/base.py)."""
        self.success_reported = "success" in info
        self.success = bool(info.get("success", False))
        self.fall = bool(info.get("fall", False))
        self.failure_reason = "" if self.success else info.get("failure_reason", "")
        self.metrics = {k: float(v) for k, v in info.get("metrics", {}).items()}


@dataclass
class Pair:
    seed: int
    reference: Episode | None
    deployed: Episode
    action_diff: np.ndarray | None = None  # per step of the reference episode: max |deployed - reference|
    separation_step: int | None = None  # first step where the two trajectories' observations differ


def episode(
    domain: base.Domain,
    policy: Session,
    seed: int,
    *,
    latency: LatencyModel | None = None,
    shadow: Session | None = None,
    record: bool = False,
    chunking: ChunkExecution | None = None,
):
    """One episode. `shadow` is queried on the same observations (action divergence); `record` keeps the
    observation trajectory; `chunking`: how a policy that returns action chunks is executed (validation/chunks.py,
    which then applies the latency). Returns (Episode, observations or None, shadow diffs or None)."""
    env = domain.env(seed)
    try:
        obs, _ = env.reset(seed=seed)
        policy.reset()
        if shadow is not None:
            shadow.reset()
        rng = np.random.default_rng([seed, 7])
        hold = np.zeros(env.action_space.shape, dtype=np.float32)
        deliver = DelayedActions(env, latency, 1.0 / domain.control_hz, rng, hold)
        feed = obsdict.mask_feeder(env, [s.name for s in policy.io.inputs], "the policy")
        act = policy.run if feed is None else (lambda o: policy.run(feed(o)))
        shadow_act = None
        if shadow is not None:
            shadow_feed = obsdict.mask_feeder(env, [s.name for s in shadow.io.inputs], "the reference")
            shadow_act = shadow.run if shadow_feed is None else (lambda o: shadow.run(shadow_feed(o)))
        chunker = None
        if chunking is not None:
            horizon = chunks.horizon_of(policy.io.outputs[0].shape[1:], env.action_space.shape)
            period = 1.0 / domain.control_hz
            chunker = chunks.Chunker(chunking, horizon, policy.run, period, latency, rng, hold)
            act = chunker.act
            if shadow is not None:
                h = chunks.horizon_of(shadow.io.outputs[0].shape[1:], env.action_space.shape)
                shadow_act = chunks.Chunker(chunking, h, shadow.run, period, None, rng, hold).act
        ep = Episode(seed)
        trajectory, diffs = [], []
        while True:
            t0 = time.perf_counter_ns()
            action = act(obs)
            ep.inference_us.append((time.perf_counter_ns() - t0) / 1e3)
            if shadow is not None:
                diffs.append(float(np.max(np.abs(np.asarray(shadow_act(obs), np.float64) - action))))
            if record:
                trajectory.append(obsdict.flat(obs))  # every input of a Dict observation, in one vector
            if not ep.accepts(action):
                break
            obs, done = ep.step(env, action if chunker else deliver(action))
            if done:
                break
        if chunker is not None:
            ep.metrics.update(chunker.metrics())
        timings = getattr(env.unwrapped, "decision_timings", None)
        if timings:
            ep.env_timings = {k: list(v) for k, v in timings.items()}
    finally:
        env.close()
    return ep, (np.asarray(trajectory) if record else None), (np.asarray(diffs) if shadow is not None else None)


# -- the worker side: policies are opened once per process --------------------------------------------
_WORKER: dict = {}


def _init_worker(domain_id: str, deployed: PolicySpec, reference: PolicySpec | None) -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER["domain"] = base.make(domain_id)
    _WORKER["deployed"] = deployed.open()
    _WORKER["reference"] = reference.open() if reference else None


def _run_pair(seed: int, latency: LatencyModel | None, chunking: ChunkExecution | None = None) -> Pair:
    domain, dep, ref = _WORKER["domain"], _WORKER["deployed"], _WORKER["reference"]
    if ref is None:
        ep, _, _ = episode(domain, dep, seed, latency=latency, chunking=chunking)
        return Pair(seed, None, ep)
    ref_ep, ref_traj, diffs = episode(domain, ref, seed, shadow=dep, record=True, chunking=chunking)
    dep_ep, dep_traj, _ = episode(domain, dep, seed, latency=latency, record=True, chunking=chunking)
    n = min(len(ref_traj), len(dep_traj))
    apart = np.flatnonzero(np.abs(ref_traj[:n] - dep_traj[:n]).max(axis=1) > SEPARATION_TOL)
    separation = int(apart[0]) if len(apart) else (None if len(ref_traj) == len(dep_traj) else n)
    return Pair(seed, ref_ep, dep_ep, diffs, separation)


def run_pairs(
    domain_id: str,
    deployed: PolicySpec,
    reference: PolicySpec | None,
    seeds: list[int],
    *,
    latency: LatencyModel | None = None,
    workers: int = 1,
    chunking: ChunkExecution | None = None,
) -> list[Pair]:
    """All pairs, in seed order. workers=1 runs in this process (no pool start-up)."""
    if workers < 1:
        raise BadInput(f"--workers must be at least 1, got {workers}")
    if workers == 1 or len(seeds) == 1:
        _init_worker(domain_id, deployed, reference)
        try:
            return [_run_pair(s, latency, chunking) for s in seeds]
        finally:
            for key in ("deployed", "reference"):
                if _WORKER.get(key) is not None:
                    _WORKER[key].close()
            _WORKER.clear()
    pool = processes.pool(min(workers, len(seeds)), _init_worker, (domain_id, deployed, reference))
    try:
        pairs = list(pool.map(_run_pair, seeds, [latency] * len(seeds), [chunking] * len(seeds)))
    except BaseException:
        # An interrupt (or a failed episode) must not wait for every queued episode: drop them, and stop the
        # workers (and their browsers) in the middle of the ones they are running.
        processes.stop_pool(pool)
        raise
    pool.shutdown()
    return pairs


def collect_observations(
    domain_id: str,
    act,
    n: int,
    seed: int,
    episodes: int,
    driver: str = "the source policy",
    reset=None,
    inputs: list[str] | None = None,
) -> tuple[np.ndarray, str]:
    """n observations the policy `act` (batch in, batch out) meets in the domain: `episodes` seeded episodes
    driven by the policy itself, sampled evenly over every step. For parity and int8 calibration on the data
    the policy will really see, not on random points of its input space. `inputs`: the policy's input names,
    when it has several (an action mask beside the observation is read from the env)."""
    if episodes < 1:
        raise BadInput(f"--calibration-episodes must be at least 1, got {episodes}")
    domain = base.make(domain_id)
    seen = []
    for k in range(episodes):
        env = domain.env(seed + k)
        if reset is not None:  # a recurrent policy starts each episode from zero state
            reset()
        try:
            feed = obsdict.mask_feeder(env, inputs or [], driver)
            obs, _ = env.reset(seed=seed + k)
            # a Dict observation (or one with an action mask beside it): each key keeps its dtype (uint8 images)
            multi = isinstance(obs, dict) or feed is not None
            if k == 0 and not multi and np.shape(obs) != tuple(env.observation_space.shape):
                raise BadInput(f"{domain_id} gives observations of shape {list(np.shape(obs))}")
            while True:
                seen.append(obsdict.copy(feed(obs) if feed else obs) if multi else np.asarray(obs, dtype=np.float32))
                one = {k_: v[None] for k_, v in seen[-1].items()} if multi else seen[-1][None]
                action = np.asarray(act(one))[0]
                if not np.all(np.isfinite(action)):
                    break
                # An action chunk (H x action) runs open loop: the policy sees the observation after it.
                chunk = action if action.ndim > len(env.action_space.shape) else action[None]
                for a in chunk:
                    obs, _, terminated, truncated, _ = env.step(a)
                    if terminated or truncated:
                        break
                if terminated or truncated:
                    break
        finally:
            env.close()
    pick = np.linspace(0, len(seen) - 1, n).round().astype(int)
    steps = obsdict.stack(seen)
    how = (
        f"{n} observations evenly spaced over the {len(seen)} steps of {episodes} {domain_id} episodes "
        f"(seeds {seed}..{seed + episodes - 1}) driven by {driver}"
    )
    return obsdict.take(steps, pick), how
