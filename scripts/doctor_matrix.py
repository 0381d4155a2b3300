"""doctor's test matrix: mutated deploy specs of a policy that succeeds, and whether the first-ranked diagnosis
names the mutation and its corrected spec restores the task.

The policy is the bundled quadruped/trot reference exported to ONNX; the spec is tests/fixtures/mujoco/a1_trot.toml
(the A1 from pybullet_data in MuJoCo), on which it succeeds. Each mutation is one contract mistake from the
families doctor searches (joint order, observation scales, default pose, action scale and offset, physics step
and rate, PD gains), written as a spec file; a mutation that does not break the policy (it still succeeds in all
episodes) is reported and left out of the rate. "named" means the first-ranked finding's corrected spec equals
the unmutated spec on every field the mutation changed (not merely another fix that also happens to work), and
"restores" that it succeeds in a majority of the confirmation episodes. Bar: named in at least 90% of at least
20 breaking mutations.

Run: .venv/bin/python scripts/doctor_matrix.py [--budget-s 300] [--episodes 5] [--only NAME]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edgeperf.domains.mujoco.formats import load  # noqa: E402
from edgeperf.domains.mujoco.formats.write import dump_toml, to_mapping  # noqa: E402

SPEC = ROOT / "tests/fixtures/mujoco/a1_trot.toml"


def _term(spec, term, **changes):
    return tuple(dataclasses.replace(t, **changes) if t.name == term else t for t in spec.observation)


def _perm(spec, order):
    return tuple(spec.joints[i] for i in order)


LEGS = {"FR": 0, "FL": 3, "RR": 6, "RL": 9}


def mutations(spec) -> dict[str, dict]:
    """name -> DeploySpec.replace() arguments."""
    s = spec
    mirror = [3, 4, 5, 0, 1, 2, 9, 10, 11, 6, 7, 8]  # FR <-> FL, RR <-> RL
    front_rear = [6, 7, 8, 9, 10, 11, 0, 1, 2, 3, 4, 5]
    breadth = [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]  # joint type major
    reverse = [2, 1, 0, 5, 4, 3, 8, 7, 6, 11, 10, 9]
    out = {
        "joint_vel scale x20": {"observation": _term(s, "joint_vel", scale=20.0)},
        "joint_vel scale x10": {"observation": _term(s, "joint_vel", scale=10.0)},
        "base_ang_vel scale x4": {"observation": _term(s, "base_ang_vel", scale=4.0)},
        "base_ang_vel scale x10": {"observation": _term(s, "base_ang_vel", scale=10.0)},
        "base_ang_vel in degrees": {"observation": _term(s, "base_ang_vel", scale=180 / math.pi)},
        "projected_gravity sign": {"observation": _term(s, "projected_gravity", scale=-1.0)},
        "joint_pos_rel scale x4": {"observation": _term(s, "joint_pos_rel", scale=4.0)},
        "joint_pos_rel in degrees": {"observation": _term(s, "joint_pos_rel", scale=180 / math.pi)},
        "joint_pos_rel scale /4": {"observation": _term(s, "joint_pos_rel", scale=0.25)},
        "joint_vel sign": {"observation": _term(s, "joint_vel", scale=-1.0)},
        "last_action scale x4": {"observation": _term(s, "last_action", scale=4.0)},
        "velocity_commands scale x4": {"observation": _term(s, "velocity_commands", scale=4.0)},
        "velocity_commands scale /4": {"observation": _term(s, "velocity_commands", scale=0.25)},
        "gait_phase sign": {"observation": _term(s, "gait_phase", scale=-1.0)},
        "left/right swapped": {"joints": _perm(s, mirror)},
        "front/rear swapped": {"joints": _perm(s, front_rear)},
        "breadth-first joint order": {"joints": _perm(s, breadth)},
        "each leg reversed": {"joints": _perm(s, reverse)},
        "default pose not subtracted": {"observation": _term(s, "joint_pos_rel", name="joint_pos")},
        "action scale x2": {"action_scale": tuple(v * 2 for v in s.action_scale)},
        "action scale /4": {"action_scale": tuple(v / 4 for v in s.action_scale)},
        "action offset dropped": {"action_offset": (0.0,) * s.n},
        "control at 25 Hz": {"decimation": s.decimation * 2},
        "control at 100 Hz": {"decimation": s.decimation // 2},
        "PD gains /4": {"kp": tuple(v / 4 for v in s.kp), "kd": tuple(v / 4 for v in s.kd)},
        "PD gains x4": {"kp": tuple(v * 4 for v in s.kp), "kd": tuple(v * 4 for v in s.kd)},
    }
    return out


def run_one(onnx: Path, spec, name: str, changes: dict, folder: Path, budget: float, episodes: int) -> dict:
    from edgeperf.pipeline import open_policy
    from edgeperf.validation.doctor import _spec_of, doctor

    mutated = spec.replace(**changes)
    path = folder / (name.replace(" ", "_").replace("/", "_") + ".toml")
    path.write_text(dump_toml(to_mapping(mutated, path)))
    t0 = time.perf_counter()
    _, diag = doctor(onnx, f"mujoco:{path}", budget_s=budget, episodes=episodes, opener=open_policy)
    wall = time.perf_counter() - t0
    row = {"name": name, "wall_s": wall, "verdict": diag.verdict, "baseline": diag.baseline.successes}
    if diag.verdict == "healthy":
        row["result"] = "did not break"
        return row
    top = diag.findings[0] if diag.findings else None
    row["top"] = top.fix if top else "-"
    row["restores"] = bool(top and top.restores)
    fixed = diag.fixed
    original = _spec_of(f"mujoco:{SPEC}")
    row["named"] = bool(fixed is not None and all(getattr(fixed, k) == getattr(original, k) for k in changes))
    row["coverage"] = diag.search.get("coverage")
    row["result"] = "named" if row["named"] else ("restored by another fix" if row["restores"] else "missed")
    return row


def recording_timing(onnx: Path, spec, folder: Path) -> str:
    """A 1000-step recording (the trot on the right spec, 20 s at 50 Hz) checked term by term against a spec
    with joint_vel scaled x20: the check alone, and doctor with the recording and the search."""
    from edgeperf.pipeline import open_policy
    from edgeperf.validation.doctor import doctor
    from edgeperf.validation.doctor import recording as rec_mod

    long = spec.replace(episode_s=20.0)
    right = folder / "right_20s.toml"
    right.write_text(dump_toml(to_mapping(long, right)))
    with open_policy(onnx, threads=1) as session:
        steps = rec_mod.record(session, f"mujoco:{right}", folder / "rec.npz", seed=1)
    bad = long.replace(observation=_term(long, "joint_vel", scale=20.0))
    wrong = folder / "wrong_20s.toml"
    wrong.write_text(dump_toml(to_mapping(bad, wrong)))
    rec = rec_mod.load(folder / "rec.npz")
    t0 = time.perf_counter()
    checks, _ = rec_mod.check(bad, rec, tuple(bad.joints))
    check_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    _, diag = doctor(onnx, f"mujoco:{wrong}", recording=folder / "rec.npz", opener=open_policy)
    whole_s = time.perf_counter() - t0
    named = [c.explanation for c in checks if c.explanation]
    return (
        f"recording: {steps} steps checked term by term in {check_s:.2f} s (bar 10 s): {'; '.join(named)}; doctor "
        f"with it and the search: {whole_s:.1f} s, verdict {diag.verdict}, first: {diag.findings[0].fix} "
        f"(from the {diag.findings[0].source})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--budget-s", type=float, default=300.0)
    ap.add_argument("--episodes", type=int, default=5)
    ap.add_argument("--only", default=None)
    ap.add_argument("--onnx", type=Path, default=None, help="the trot policy exported (default: export it now)")
    args = ap.parse_args()
    spec = load(SPEC)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        onnx = args.onnx
        if onnx is None:
            from edgeperf.exporter.onnx import export

            onnx = folder / "trot.onnx"
            export("reference:quadruped/trot", onnx)
        rows = []
        for name, changes in mutations(spec).items():
            if args.only and args.only not in name:
                continue
            row = run_one(onnx, spec, name, changes, folder, args.budget_s, args.episodes)
            rows.append(row)
            print(f"{name:30s} {row['result']:24s} as given {row['baseline']}/{args.episodes}  "
                  f"{row['wall_s']:5.1f} s  top: {row.get('top', '-')}", flush=True)  # fmt: skip
        timing = recording_timing(onnx, spec, folder) if not args.only else ""
        healthy = run_one(onnx, spec, "unmutated", {}, folder, args.budget_s, args.episodes)
    broke = [r for r in rows if r["result"] != "did not break"]
    named = [r for r in broke if r["named"]]
    restored = [r for r in broke if r["restores"]]
    walls = sorted(r["wall_s"] for r in rows)
    print(
        f"\n{len(rows)} mutations, {len(broke)} broke the policy; first-ranked diagnosis named the mutation in "
        f"{len(named)} of {len(broke)} ({100 * len(named) / max(len(broke), 1):.0f}%, bar 90%), a fix restored the "
        f"task in {len(restored)}; doctor took {walls[0]:.1f}-{walls[-1]:.1f} s per spec (median "
        f"{walls[len(walls) // 2]:.1f} s, budget {args.budget_s:g} s)"
    )
    print(f"unmutated spec: {healthy['verdict']} (as given {healthy['baseline']}/{args.episodes})")
    if timing:
        print(timing)
    print(f"command: .venv/bin/python scripts/doctor_matrix.py --budget-s {args.budget_s:g} --episodes {args.episodes}")


if __name__ == "__main__":
    main()
