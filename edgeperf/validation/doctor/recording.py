"""Term-by-term diagnosis against a recording of the training side.

The recording (`--recording FILE.npz`, read with allow_pickle=False) holds, per control step t, the observation
the policy saw and its action, and the state they came from:

  obs                (T, obs_size)  the observation the policy was given (required)
  action             (T, n)         what it returned (required: the last-action term is action[t-1])
  qpos, qvel         (T, nq), (T, nv)  MuJoCo state in the scene's own layout (mjlab, a MuJoCo sim2sim), or
                     the named quantities, joints in policy order:
  base_ang_vel       (T, 3)  body frame, rad/s        base_lin_vel  (T, 3)  body frame, m/s
  projected_gravity  (T, 3)  unit gravity, body frame joint_pos     (T, n)  rad, absolute
  joint_vel          (T, n)  rad/s                    command       (T, 3)  vx, vy, yaw rate
  t                  (T,)    seconds since the episode began (for a gait phase)

Each term of the spec is rebuilt from the state as the spec says (clip, then scale) and compared with its slot
in the recorded observation (the newest frame where the term keeps a history). A term that differs is explained
by the transformation that maps one onto the other: a scale factor (and its sign, or degrees for radians), a
joint permutation, the default pose (not) subtracted, an affine map per value (a normaliser left out of the
export: mean and std fitted), a stale last action; a layout that fits the other way round is the history
layout. `scripts/record_rollout.py` writes such a file from an edgeperf domain; docs/guide/doctor.md shows the same few
lines for Isaac Lab, legged_gym and mjlab rollouts.
"""

from __future__ import annotations

import dataclasses
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from edgeperf.domains.mujoco import spec_domain
from edgeperf.domains.mujoco.spec import DeploySpec
from edgeperf.errors import BadInput
from edgeperf.results.io import atomic_write_bytes, open_input

NAMED = ("base_ang_vel", "base_lin_vel", "projected_gravity", "joint_pos", "joint_vel", "command", "t")
KNOWN = ("obs", "action", "qpos", "qvel", *NAMED)
MAX_BYTES = 2**30
TOL = 1e-3  # relative: a term matches when max |recorded - rebuilt| <= TOL x (1 + max |recorded|)


@dataclass
class TermCheck:
    term: str
    slot: tuple[int, int]  # [start, end) of its newest frame in the observation
    matches: bool
    max_error: float
    explanation: str = ""  # what maps the rebuilt onto the recorded values, in words
    fix: dict | None = None  # the ObsTerm fields (or spec fields under "spec") that make it match
    skipped: str = ""  # why it could not be rebuilt


def load(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    try:
        # results.io opens it: a regular file of at most 1 GiB (a FIFO or a device is named, never read)
        with open_input(path, "recording", max_bytes=MAX_BYTES) as (f, _):
            unpacked = sum(i.file_size for i in zipfile.ZipFile(f).infolist())
            if unpacked > MAX_BYTES:  # a zip's sizes bound what it inflates to: no compressed bomb is read
                raise BadInput(f"recording {path} unpacks to {unpacked / 2**30:.1f} GiB, over the 1 GiB edgeperf reads")
            f.seek(0)
            with np.load(f, allow_pickle=False) as z:
                data = {k: np.asarray(z[k]) for k in z.files}
    except ValueError as exc:  # object arrays among them (pickles, never loaded), or a damaged array
        pickled = "pickle" in str(exc)
        why = "no .npz of numeric arrays (reading it would unpickle, which edgeperf never does)" if pickled else exc
        raise BadInput(f"{path}: not a recording .npz edgeperf can read: {why}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise BadInput(f"{path}: not a recording .npz edgeperf can read ({exc})") from None
    unknown = sorted(set(data) - set(KNOWN))
    if unknown:
        raise BadInput(f"{path}: unknown arrays {', '.join(unknown)}; a recording holds {', '.join(KNOWN)}")
    for key in ("obs", "action"):
        if key not in data:
            raise BadInput(f"{path}: a recording needs '{key}' (the policy's observation and action per step)")
    lengths = {k: len(v) if v.ndim else -1 for k, v in data.items()}
    if len(set(lengths.values())) != 1:
        raise BadInput(
            f"{path}: the arrays disagree in length (steps): "
            + ", ".join(f"{k} {n}" for k, n in sorted(lengths.items()))
        )
    for k, v in data.items():
        if not np.issubdtype(v.dtype, np.number) or not np.all(np.isfinite(v)):
            raise BadInput(f"{path}: '{k}' must hold finite numbers")
    if ("qpos" in data) != ("qvel" in data):
        raise BadInput(f"{path}: qpos and qvel go together (MuJoCo state)")
    if lengths["obs"] < 2:
        raise BadInput(f"{path}: a recording needs at least 2 steps")
    return {k: v.astype(np.float64) for k, v in data.items()}


def _state(spec: DeploySpec, rec: dict) -> dict[str, np.ndarray]:
    """The named quantities, from qpos/qvel through the scene (as the env reads them) or as recorded."""
    if "qpos" not in rec:
        return {k: rec[k] for k in NAMED if k in rec}
    from edgeperf.domains.mujoco.env import SpecEnv

    env = SpecEnv(spec)
    env.reset(seed=0)
    m = env.model
    if rec["qpos"].shape[1] != m.nq or rec["qvel"].shape[1] != m.nv:
        raise BadInput(
            f"the recording's qpos/qvel have {rec['qpos'].shape[1]}/{rec['qvel'].shape[1]} values per step; "
            f"the scene's state has {m.nq}/{m.nv}"
        )
    out = {k: [] for k in ("base_ang_vel", "base_lin_vel", "projected_gravity", "joint_pos", "joint_vel")}
    for qpos, qvel in zip(rec["qpos"], rec["qvel"], strict=True):
        env.data.qpos[:] = qpos
        env.data.qvel[:] = qvel
        env._update_state()
        out["base_ang_vel"].append(env.base_ang_vel)
        out["base_lin_vel"].append(env.base_rot.T @ env.base_lin_vel_world)
        out["projected_gravity"].append(env.projected_gravity)
        out["joint_pos"].append(env.q)
        out["joint_vel"].append(env.dq)
    env.close()
    state = {k: np.asarray(v) for k, v in out.items()}
    for k in ("command", "t"):
        if k in rec:
            state[k] = rec[k]
    return state


def _raw(spec: DeploySpec, term, state: dict, rec: dict) -> tuple[np.ndarray | None, str]:
    """The term's values before clip and scale per step, or (None, why not)."""
    n, steps = spec.n, len(rec["obs"])
    name = term.name
    if name in ("base_ang_vel", "base_lin_vel", "projected_gravity"):
        return (state[name], "") if name in state else (None, f"the recording has no {name} (or qpos/qvel)")
    if name in ("joint_pos_rel", "joint_pos", "joint_vel"):
        key = "joint_vel" if name == "joint_vel" else "joint_pos"
        if key not in state:
            return None, f"the recording has no {key} (or qpos/qvel)"
        return (state[key] - np.asarray(spec.default_pos) if name == "joint_pos_rel" else state[key]), ""
    if name == "velocity_commands":
        if "command" in state:
            return state["command"], ""
        fixed = [lo for lo, hi in (spec.commands.get(k, (0.0, 0.0)) for k in ("vx", "vy", "yaw_rate")) if lo == hi]
        if len(fixed) == 3:
            return np.tile(fixed, (steps, 1)), ""
        return None, "the recording has no command and the spec draws one per episode"
    if name == "last_action":
        act = np.vstack([np.zeros((1, n)), rec["action"][:-1]])
        if term.clipped and spec.action_clip is not None:
            act = np.clip(act, -spec.action_clip, spec.action_clip)
        return act, ""
    if name == "gait_phase":
        if "t" not in state or term.random_offset:
            return None, "a gait phase needs the recording's t (and no random phase offset)"
        ph = 2 * math.pi * ((state["t"] / term.period) % 1.0)
        return np.stack([np.sin(ph), np.cos(ph)], axis=1), ""
    return None, f"{name} is not rebuilt from a recording"


def _slots(spec: DeploySpec, layout: str) -> list[tuple[int, int]]:
    """Each term's newest frame in the observation, laid out term-major or frame-major."""
    n, out, at = spec.n, [], 0
    widths = [t.width(n) for t in spec.observation]
    if layout == "frame-major":
        frames = max(spec.frames, *(t.history for t in spec.observation))
        start = sum(widths) * (frames - 1)
        for w in widths:
            out.append((start + at, start + at + w))
            at += w
        return out
    for t, w in zip(spec.observation, widths, strict=True):
        hist = t.history if spec.history_layout == "term-major" else spec.frames
        at += w * hist
        out.append((at - w, at))
    return out


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.max(np.abs(a - b)) <= TOL * (1.0 + np.max(np.abs(a))))


def check(spec: DeploySpec, rec: dict, joint_names: tuple[str, ...]) -> tuple[list[TermCheck], str]:
    """Each term rebuilt and compared; returns (checks, the history layout the recording fits best)."""
    obs = rec["obs"]
    if obs.ndim != 2 or obs.shape[1] != spec.obs_size:
        raise BadInput(
            f"the recording's obs has {obs.shape[1] if obs.ndim == 2 else obs.shape} values per step; the spec "
            f"builds {spec.obs_size} ({spec.describe_terms()})"
        )
    if rec["action"].ndim != 2 or rec["action"].shape[1] != spec.n:
        raise BadInput(f"the recording's action has {rec['action'].shape[1:]} values per step; the robot has {spec.n}")
    state = _state(spec, rec)
    layouts = [spec.history_layout]
    if any(t.history > 1 for t in spec.observation) or spec.frames > 1:
        layouts.append("frame-major" if spec.history_layout == "term-major" else "term-major")
    best = None
    for layout in layouts:
        checks = [_check_term(spec, term, slot, state, rec, joint_names) for term, slot in
                  zip(spec.observation, _slots(spec, layout), strict=True)]  # fmt: skip
        score = sum(c.matches or bool(c.fix) for c in checks)
        if best is None or score > best[0]:
            best = (score, checks, layout)
    return best[1], best[2]


def _check_term(spec, term, slot, state, rec, joint_names) -> TermCheck:
    raw, why = _raw(spec, term, state, rec)
    if raw is None:
        return TermCheck(term.name, slot, False, math.nan, skipped=why)
    recorded = rec["obs"][:, slot[0] : slot[1]]
    scale = np.asarray(term.scale, dtype=np.float64)
    clipped = np.clip(raw, *term.clip) if term.clip is not None else raw
    rebuilt = clipped * scale
    err = float(np.max(np.abs(recorded - rebuilt)))
    tc = TermCheck(term.name, slot, _close(recorded, rebuilt), err)
    if not tc.matches:
        tc.explanation, tc.fix = explain(spec, term, raw, clipped, recorded, joint_names, rec)
    return tc


def explain(spec, term, raw, clipped, recorded, joint_names, rec) -> tuple[str, dict | None]:
    """The transformation that maps the spec's values onto the recorded ones."""
    s = np.asarray(term.scale, dtype=np.float64)
    name = term.name
    # a single factor
    denom = float(np.sum(clipped * clipped))
    if denom > 0:
        k = float(np.sum(recorded * clipped)) / denom
        if k != 0 and _close(recorded, k * clipped):
            return _scale_words(name, term.scale, k), {"scale": _round(k)}
    # one factor per value
    if clipped.shape[1] > 1 and np.all(np.sum(clipped * clipped, axis=0) > 0):
        ks = np.sum(recorded * clipped, axis=0) / np.sum(clipped * clipped, axis=0)
        if _close(recorded, ks * clipped):
            return (f"{name} needs a scale per value, {_fmt(ks)}; the spec gives {_fmt(s)}",
                    {"scale": tuple(_round(v) for v in ks)})  # fmt: skip
    # the default pose
    default = np.asarray(spec.default_pos)
    if name == "joint_pos_rel" and _close(recorded, (raw + default) * s):
        return (f"{name}: the recorded joint positions are absolute; the spec subtracts the default pose",
                {"name": "joint_pos"})  # fmt: skip
    if name == "joint_pos" and _close(recorded, (raw - default) * s):
        return (f"{name}: the recorded joint positions are relative to the default pose; the spec gives them "
                "absolute", {"name": "joint_pos_rel"})  # fmt: skip
    # a permutation of the joints (relative positions: each joint less the default of the slot it lands in)
    if raw.shape[1] == spec.n and spec.n > 1:
        shift = default if name == "joint_pos_rel" else np.zeros(spec.n)
        perm = _match_columns(recorded, raw + shift, shift, s, term.clip)
        if perm is not None and perm != list(range(spec.n)):
            moved = [
                f"policy joint {j} is {joint_names[p]}, not {joint_names[j]}" for j, p in enumerate(perm) if p != j
            ]
            return (f"{name}: the joints are permuted ({'; '.join(moved[:4])}"
                    + (f"; and {len(moved) - 4} more" if len(moved) > 4 else "") + ")",
                    {"spec": {"permutation": perm}})  # fmt: skip
    # a stale last action
    if name == "last_action":
        n = spec.n
        for lag, word in ((2, "two steps old"), (0, "the current step's")):
            act = rec["action"]
            shifted = np.vstack([np.zeros((lag, n)), act[:-lag]]) if lag else act
            if _close(recorded, shifted * s):
                return f"last_action: the recorded term is {word} action, the spec gives the previous one", None
    # an affine map per value: a normaliser
    a, b, ok = _affine(clipped * s, recorded)
    if ok:
        return (f"{name}: the recorded values are (x - mean) / std of the spec's (mean {_fmt(-b / a)}, std "
                f"{_fmt(1 / a)}): a normaliser from training that the deployed policy leaves out; export the "
                "policy with its normaliser", None)  # fmt: skip
    return f"{name}: no transformation edgeperf knows maps the spec's values onto the recorded ones", None


def _match_columns(recorded: np.ndarray, values: np.ndarray, shift: np.ndarray, scale, clip) -> list[int] | None:
    """For each recorded column j the column i of `values` it equals as (values[:, i] - shift[j]) x scale, if
    every one has exactly one."""
    scale = np.broadcast_to(np.asarray(scale, dtype=np.float64), (recorded.shape[1],))
    perm = []
    for j in range(recorded.shape[1]):
        col = values - shift[j]
        if clip is not None:
            col = np.clip(col, *clip)
        hits = [i for i in range(values.shape[1]) if _close(recorded[:, j], col[:, i] * scale[j])]
        if len(hits) != 1 and np.ptp(recorded[:, j]) > 0:
            return None
        perm.append(hits[0] if hits else j)
    return perm if sorted(perm) == list(range(len(perm))) else None


def _affine(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """y = a x + b per column, least squares; ok when it fits and is not a plain scale."""
    xm, ym = x.mean(axis=0), y.mean(axis=0)
    var = ((x - xm) ** 2).sum(axis=0)
    if np.any(var <= 0):
        return np.ones(x.shape[1]), np.zeros(x.shape[1]), False
    a = ((x - xm) * (y - ym)).sum(axis=0) / var
    b = ym - a * xm
    ok = bool(np.all(a > 0)) and _close(y, a * x + b) and bool(np.any(np.abs(b) > TOL * (1 + np.abs(y).max())))
    return a, b, ok


def _round(v: float) -> float:
    return float(f"{v:.6g}")


def _fmt(v) -> str:
    v = np.atleast_1d(np.asarray(v, dtype=np.float64))
    return f"{v[0]:.4g}" if v.size == 1 else "[" + ", ".join(f"{x:.3g}" for x in v) + "]"


def _scale_words(name: str, scale, k: float) -> str:
    s = float(np.mean(np.atleast_1d(scale)))
    ratio = k / s if s else math.inf
    if abs(ratio + 1) < 1e-3:
        return f"{name} has the wrong sign: the policy saw -1 x what the spec builds"
    if abs(ratio - 180 / math.pi) < 0.01 * 180 / math.pi:
        return f"{name} is in radians where the policy saw degrees"
    if abs(ratio - math.pi / 180) < 0.01 * math.pi / 180:
        return f"{name} is in degrees where the policy saw radians"
    how = f"{1 / ratio:.4g}x too large" if abs(ratio) < 1 else f"{ratio:.4g}x too small"
    return f"{name} is scaled by {_fmt(scale)}; training used {k:.4g}: every value is {how}"


def describe_fixes(spec: DeploySpec, checks: list[TermCheck], layout: str) -> str:
    """The recording's fixes as one line: what the corrected spec changes."""
    out = [f"history {layout}"] if layout != spec.history_layout else []
    for term, c in zip(spec.observation, checks, strict=True):
        fix = c.fix or {}
        if "scale" in fix:
            out.append(f"{term.name} scale {_fmt(term.scale)} -> {_fmt(fix['scale'])}")
        if "name" in fix:
            out.append(f"observe {fix['name']} instead of {term.name}")
        if "spec" in fix and "reorder the joints as the recording shows" not in out:
            out.append("reorder the joints as the recording shows")
    return "; ".join(out)


def fixed_spec(spec: DeploySpec, checks: list[TermCheck], layout: str) -> DeploySpec | None:
    """The spec with every fix the recording explains, or None when it explains none."""
    terms = list(spec.observation)
    changes: dict = {}
    any_fix = layout != spec.history_layout
    for i, c in enumerate(checks):
        if not c.fix:
            continue
        any_fix = True
        fix = dict(c.fix)
        inner = fix.pop("spec", None)
        if fix:
            terms[i] = dataclasses.replace(terms[i], **fix)
        if inner and "permutation" in inner:
            perm = inner["permutation"]
            changes["joints"] = tuple(spec.joints[p] for p in perm)
    if not any_fix:
        return None
    changes["observation"] = tuple(terms)
    if layout != spec.history_layout:
        if layout == "frame-major":
            h = max(t.history for t in terms)
            changes.update(history_layout="frame-major", frames=h,
                           observation=tuple(dataclasses.replace(t, history=1) for t in terms))  # fmt: skip
        else:
            changes.update(history_layout="term-major", frames=1,
                           observation=tuple(dataclasses.replace(t, history=spec.frames) for t in terms))  # fmt: skip
    return spec.replace(**changes)


def record(session, domain_id: str, path: str | Path, *, seed: int = 0, steps: int | None = None) -> int:
    """One episode of `session`'s policy in a mujoco:SPEC domain written as a recording (obs, action, qpos, qvel,
    t): the training side's file when that side is a MuJoCo simulation; returns the steps written."""

    env = spec_domain(domain_id).env(seed)
    out = {k: [] for k in ("obs", "action", "qpos", "qvel", "t")}
    try:
        obs, _ = env.reset(seed=seed)
        session.reset()
        for _ in range(steps or env.max_steps):
            action = np.asarray(session.run(obs), dtype=np.float64).reshape(-1)
            for k, v in (("obs", obs), ("action", action), ("qpos", env.data.qpos), ("qvel", env.data.qvel),
                         ("t", env.t)):  # fmt: skip
                out[k].append(np.array(v, dtype=np.float64))
            obs, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
    finally:
        env.close()
    import io

    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in out.items()})
    atomic_write_bytes(Path(path), buf.getvalue())
    return len(out["obs"])
