"""Parity: the original policy and the exported artifact on the same observations, compared in action units
after post-processing (the action the robot applies).

Continuous actions: an element passes when |artifact - original| <= atol * scale + rtol * |original|, where
scale is half the action range for a bounded action dimension (so atol reads as a fraction of the range; each
action of a chunk [H, action] by its dimension's) and 1 where the action space is unbounded or unknown.
Discrete actions: the chosen action must agree, except on near-ties (the original's top-two logits closer
than the logit tolerance, where any faithful artifact may pick either), and the logits must be within
atol + rtol * |logit|.

Tolerances per precision, stated in every report:
  fp32  atol 1e-5, rtol 1e-4   differs from torch only by kernel ordering
  fp16  atol 5e-3, rtol 5e-3   half precision keeps ~3 significant digits through every layer
  int8  atol 0.15, rtol 0.05   8-bit weights (and activations): a coarse approximation; validate it in closed loop
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edgeperf import spaces
from edgeperf.errors import BadInput
from edgeperf.exporter.policy import PolicySource
from edgeperf.runtime import obsdict
from edgeperf.runtime.session import Session

TOLERANCES = {"fp32": (1e-5, 1e-4), "fp16": (5e-3, 5e-3), "int8": (0.15, 0.05)}
RULE = "|artifact - original| <= atol * scale + rtol * |original|"


def observations(src: PolicySource, n: int, seed: int) -> tuple[np.ndarray, str]:
    if "parity" in src.rollouts:
        return src.rollouts["parity"]
    if spaces.is_dict(src.obs_space):  # several named inputs: every one filled (exporter/multi.py)
        return spaces.sample_dict(src.obs_space, n, seed, src.normalization)
    return spaces.sample(src.obs_space, src.obs_shape, n, seed, src.normalization)


def run_artifact(artifact: Path, obs: np.ndarray) -> list[np.ndarray]:
    """Every output of the artifact for a batch, through the runtime's Session (the one runner per backend the
    robot uses too), in chunks when the artifact takes a bounded batch."""
    n = obsdict.length(obs)  # a dict of arrays for a policy of several inputs
    with Session.open(artifact) as s:
        step = s.max_batch or n
        parts = [list(s.run_all(obsdict.take(obs, slice(i, i + step))).values()) for i in range(0, n, step)]
    return [np.concatenate([p[k] for p in parts]) for k in range(len(parts[0]))]


def parity(src: PolicySource, artifact: Path, precision: str, *, n: int = 512, seed: int = 0) -> dict:
    if src.recurrent is not None:
        return sequence_parity(src, artifact, precision, seed=seed)
    obs, how = observations(src, n, seed)
    atol, rtol = TOLERANCES[precision]
    common = {"observations": n, "observation_source": how, "seed": seed, "units": "action units after post-processing"}
    if src.discrete:
        got = run_artifact(artifact, obs)
        return {**common, **_discrete(src, obs, got, atol, rtol)}
    ref = src.act(obs).astype(np.float64)
    chunk = ref.ndim > 2  # [n, H, *action]: a chunk of H actions, each element scaled by its dimension's range
    ref = ref.reshape(n, -1)
    got = run_artifact(artifact, obs)[0].astype(np.float64)
    if got.size != ref.size:
        raise BadInput(
            f"the artifact returns actions of shape {list(got.shape[1:])}, the original {list(ref.shape[1:])}"
        )
    got = got.reshape(n, -1)
    scale = _action_scale(src, ref.shape[1], chunk)
    # NaN stays NaN (a NaN error is "nan", never "inf") and fails: NaN <= bound is False.
    err = np.abs(got - ref)
    bound = atol * scale + rtol * np.abs(ref)
    ok = err <= bound
    ref_scale = np.abs(ref).max(axis=0)
    tolerance = {"atol": atol, "rtol": rtol, "rule": RULE, "scale": "1 (action space unbounded or unknown)"}
    if np.any(scale != 1.0):
        tolerance["scale"] = "half the action range per dimension"
        tolerance["scale_per_dim"] = scale.tolist()
    return {
        "passed": bool(ok.all()),
        **common,
        "action_kind": "continuous",
        "tolerance": tolerance,
        "max_abs_error": float(err.max()),
        "p99_abs_error": float(np.percentile(err, 99)),
        "mean_abs_error": float(err.mean()),
        "max_abs_error_per_dim": err.max(axis=0).tolist(),
        "p99_abs_error_per_dim": np.percentile(err, 99, axis=0).tolist(),
        "max_rel_error_per_dim": (err.max(axis=0) / np.where(ref_scale > 0, ref_scale, 1.0)).tolist(),
        "elements_out_of_tolerance": int((~ok).sum()),
        "non_finite_values": _non_finite(ref, got),
    }


def _non_finite(ref: np.ndarray, got: np.ndarray) -> dict:
    """How many NaN/inf values each side returned: says which one is broken when the errors are nan."""
    return {"original": int((~np.isfinite(ref)).sum()), "artifact": int((~np.isfinite(got)).sum())}


def _action_scale(src: PolicySource, dims: int, chunk: bool = False) -> np.ndarray:
    space = src.action_space
    if not isinstance(space, spaces.Box):
        return np.ones(dims)
    low, high = spaces.bounds(space, space.shape)
    half = ((high - low) / 2).reshape(-1)
    if chunk and half.size and dims % half.size == 0:  # H actions one after the other: the range repeats
        half = np.tile(half, dims // half.size)
    if half.size != dims:
        return np.ones(dims)
    return np.where(np.isfinite(half) & (half > 0), half, 1.0)


def _discrete(src: PolicySource, obs, got: list[np.ndarray], atol: float, rtol: float) -> dict:
    n = obsdict.length(obs)
    ref_action = src.act(obs).reshape(n)
    ref_logits = src.logits(obs).astype(np.float64).reshape(n, -1)
    got_action = np.asarray(got[0]).reshape(n)
    got_logits = np.asarray(got[1], dtype=np.float64).reshape(n, -1) if len(got) > 1 else None
    if got_logits is None or got_logits.shape != ref_logits.shape:
        raise BadInput("the artifact lacks the logits output of a discrete policy; re-export it with edgeperf")
    err = np.abs(got_logits - ref_logits)  # NaN stays NaN and fails, as for continuous actions
    ok = err <= atol + rtol * np.abs(ref_logits)
    top2 = np.sort(ref_logits, axis=1)[:, -2:] if ref_logits.shape[1] > 1 else np.zeros((n, 2))
    margin = top2[:, 1] - top2[:, 0]
    near_tie = margin <= 2 * (atol + rtol * np.abs(top2[:, 1]))
    disagree = got_action != ref_action
    hard = disagree & ~near_tie
    return {
        "passed": bool(ok.all() and not hard.any()),
        "action_kind": "discrete",
        "tolerance": {
            "atol": atol,
            "rtol": rtol,
            "rule": "chosen action equal (near-ties excepted); "
            "logits: |artifact - original| <= atol + rtol * |original|",
        },
        "agreement_rate": float(1.0 - disagree.mean()),
        "disagreements": int(disagree.sum()),
        "disagreements_on_near_ties": int((disagree & near_tie).sum()),
        "max_abs_error": float(err.max()),
        "p99_abs_error": float(np.percentile(err, 99)),
        "mean_abs_error": float(err.mean()),
        "max_abs_error_per_dim": err.max(axis=0).tolist(),
        "p99_abs_error_per_dim": np.percentile(err, 99, axis=0).tolist(),
        "elements_out_of_tolerance": int((~ok).sum()) + int(hard.sum()),
        "errors_are_of": "logits",
        "non_finite_values": _non_finite(ref_logits, got_logits),
    }


# -- policies with memory (exporter/recurrent.py): parity over sequences, the state carried in both -------------

SEQUENCES = 4
STEPS = 200
DRIFT_WINDOW = 10  # steps averaged at each end of a sequence for the drift ratio
DRIFT_BAR = 10.0  # the last steps' error may be at most this many times the first steps'


def sequence_parity(src, artifact, precision: str, *, seed: int = 0, steps: int = STEPS, sequences: int = SEQUENCES):
    """The original and the artifact over the same observation sequences, each carrying its own state from
    zeros; the error per step (max over sequences and action values) shows drift."""
    atol, rtol = TOLERANCES[precision]
    obs, how = spaces.sample(src.obs_space, src.obs_shape, sequences * steps, seed, src.normalization)
    obs = obs.reshape(sequences, steps, 1, *src.obs_shape)
    original = src.recurrent.stepper()
    ref, got = [], []
    with Session.open(artifact) as session:
        for k in range(sequences):
            original.reset()
            session.reset()
            ref.append([original.step(obs[k, t]).reshape(-1) for t in range(steps)])
            got.append([np.asarray(session.run(obs[k, t])).reshape(-1) for t in range(steps)])
    ref, got = np.asarray(ref, np.float64), np.asarray(got, np.float64)  # [sequence, step, value]
    if ref.shape != got.shape:
        raise BadInput(
            f"the artifact returns actions of shape {list(got.shape[2:])}, the original {list(ref.shape[2:])}"
        )
    err = np.abs(got - ref)
    scale = _action_scale(src, ref.shape[2])
    bound = atol * scale + rtol * np.abs(ref)
    ok = err <= bound
    per_step = err.max(axis=(0, 2))
    # the floor keeps an exact first step (error 0) from turning float noise later into an "infinite" drift
    floor = atol / 100
    first = max(float(per_step[:DRIFT_WINDOW].mean()), floor)
    last = max(float(per_step[-DRIFT_WINDOW:].mean()), floor)
    drift = last / first
    return {
        "passed": bool(ok.all()) and drift <= DRIFT_BAR,
        "observations": sequences * steps,
        "observation_source": how,
        "seed": seed,
        "units": "action units after post-processing",
        "action_kind": "continuous",
        "recurrent": {
            **src.recurrent.describe(),
            "sequences": sequences,
            "steps": steps,
            "state": "carried in both from zeros at each sequence start (the artifact's through its Session)",
            "drift_ratio": drift,
            "drift_rule": (
                f"mean error of the last {DRIFT_WINDOW} steps / of the first {DRIFT_WINDOW} (each at least atol/100) "
                f"<= {DRIFT_BAR:g}"
            ),
            "max_abs_error_per_step": per_step.tolist(),
        },
        "tolerance": {"atol": atol, "rtol": rtol, "rule": RULE},
        "max_abs_error": float(err.max()),
        "p99_abs_error": float(np.percentile(err, 99)),
        "mean_abs_error": float(err.mean()),
        "max_abs_error_per_dim": err.max(axis=(0, 1)).tolist(),
        "elements_out_of_tolerance": int((~ok).sum()),
        "non_finite_values": {"original": int((~np.isfinite(ref)).sum()), "artifact": int((~np.isfinite(got)).sum())},
    }
