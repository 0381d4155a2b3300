"""edgeperf doctor for real: the bundled trot policy (exported to ONNX) on the A1's deploy spec in MuJoCo, the spec
mutated by the contract mistakes people make, and doctor naming each and writing the spec that walks again.
The whole matrix (26 mutations) is scripts/doctor_matrix.py and the slow test below; here, one of each kind."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

pytest.importorskip("mujoco")
pytest.importorskip("pybullet")
pytest.importorskip("torch")

from edgeperf.domains.mujoco.formats import load
from edgeperf.domains.mujoco.formats.write import dump_toml, to_mapping
from edgeperf.pipeline import open_policy
from edgeperf.validation.doctor import doctor
from edgeperf.validation.doctor import recording as rec_mod
from edgeperf.validation.doctor.candidates import conventional, permutations
from tests.conftest import FIXTURES

A1_TOML = FIXTURES / "mujoco" / "a1_trot.toml"
BREADTH = [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]  # FR_hip, FL_hip, RR_hip, RL_hip, FR_upper, ...


@pytest.fixture(scope="module")
def trot(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    path = tmp_path_factory.mktemp("doctor") / "trot.onnx"
    export("reference:quadruped/trot", path)
    return path


def spec_file(folder, name, **changes):
    spec = load(A1_TOML)
    mutated = spec.replace(**changes) if changes else spec
    path = folder / f"{name}.toml"
    path.write_text(dump_toml(to_mapping(mutated, path)))
    return path


def with_term(term, **changes):
    spec = load(A1_TOML)
    return tuple(dataclasses.replace(t, **changes) if t.name == term else t for t in spec.observation)


def test_the_healthy_spec_has_nothing_to_cure(trot, cli, tmp_path):
    r = cli("doctor", trot, "--domain", f"mujoco:{A1_TOML}", "--json", tmp_path / "d.json", "--no-store")
    assert r.code == 0, r.err
    rep = json.loads((tmp_path / "d.json").read_text())
    assert rep["schema"] == "edgeperf.doctor/1" and rep["results"]["verdict"] == "healthy"
    assert rep["results"]["baseline"]["successes"] == 5 and not rep["results"]["findings"]
    assert "nothing to cure" in r.out


def test_a_dropped_velocity_scale_is_named_and_the_written_spec_validates(trot, cli, tmp_path):
    """joint_vel x20 (unitree's dof_vel_scale 1 where training used 0.05, in reverse): named first, the corrected
    spec written in the input's format, and `validate` passes on it (breaks if the fix is not the inverse, or
    the writer loses a field)."""
    bad = spec_file(tmp_path, "bad", observation=with_term("joint_vel", scale=20.0))
    fixed = tmp_path / "fixed.toml"
    r = cli("doctor", trot, "--domain", f"mujoco:{bad}", "-o", fixed, "--json", tmp_path / "d.json", "--no-store")
    assert r.code == 0, r.err
    res = json.loads((tmp_path / "d.json").read_text())["results"]
    top = res["findings"][0]
    assert res["verdict"] == "fixed" and top["family"] == "observation scale" and "joint_vel" in top["fix"]
    assert "every value is 20x too large" in top["diagnosis"] and top["confirm"]["successes"] == 5
    assert res["baseline"]["successes"] == 0 and res["search"]["coverage"] == 1.0
    assert load(fixed).observation == load(A1_TOML).observation
    assert res["fixed_spec"]["format"] == "edgeperf"
    v = cli("validate", trot, "--domain", f"mujoco:{fixed}", "--reference", "reference:quadruped/trot", "-n", "4",
            "--workers", "1", "--no-store")  # fmt: skip
    assert v.code == 0, v.err + v.out


@pytest.mark.parametrize(
    ("name", "changes", "family", "says"),
    [
        ("breadth-first", {"joints": tuple(load(A1_TOML).joints[i] for i in BREADTH)}, "joint order", "breadth-first"),
        ("absolute", {"observation": with_term("joint_pos_rel", name="joint_pos")}, "default pose", "default pose"),
        ("offset", {"action_offset": (0.0,) * 12}, "action", "not offset by the default pose"),
    ],
)
def test_each_family_named_first(trot, tmp_path, name, changes, family, says):
    bad = spec_file(tmp_path, name, **changes)
    _, diag = doctor(trot, f"mujoco:{bad}", opener=open_policy)
    top = diag.findings[0]
    assert diag.verdict == "fixed" and top.family == family and says in top.diagnosis, (top.fix, top.diagnosis)
    original = load(A1_TOML)
    assert all(getattr(diag.fixed, k) == getattr(original, k) for k in changes)


def test_the_budget_bounds_the_search_and_says_what_it_left(trot, tmp_path):
    bad = spec_file(tmp_path, "bad", observation=with_term("joint_vel", scale=20.0))
    report, diag = doctor(trot, f"mujoco:{bad}", opener=open_policy, budget_s=0.001)
    s = report.results["search"]
    assert diag.verdict == "unexplained" and s["tried"] == 0 and s["coverage"] == 0.0
    assert sum(s["not_tried"].values()) == s["candidates"] > 50


def test_the_original_succeeds_where_the_export_fails_so_the_export_is_at_fault(trot, tmp_path):
    from tests.domains.mujoco.test_mujoco_env import _permuted

    wrong = tmp_path / "wrong.onnx"
    _permuted(trot, wrong)
    _, diag = doctor(wrong, f"mujoco:{A1_TOML}", reference="reference:quadruped/trot", opener=open_policy)
    assert diag.verdict == "export" and "run edgeperf validate" in diag.summary


def test_latency_it_tolerates_against_the_profile(trot, tmp_path):
    """A profile whose p99 is 60 ms: the trot fails with it in the loop and doctor bisects the latency it takes."""
    latency = {k: 60_000.0 for k in ("min", "mean", "p50", "p90", "p95", "p99", "p99_9", "max")}
    profile = {"schema": "edgeperf.profile/1", "config": {"batch": 1}, "results": {"latency_us": latency}}
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(profile))
    _, diag = doctor(trot, f"mujoco:{A1_TOML}", latency_from=path, opener=open_policy, episodes=3)
    assert diag.verdict == "latency", diag.summary
    assert 0 < diag.latency["tolerated_ms"] < 60 and diag.latency["profile_p99_ms"] == pytest.approx(60.0)
    assert "needs under" in diag.summary


# --- with a recording ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def recorded(trot, tmp_path_factory):
    """The training side: the trot on the right spec, recorded with its MuJoCo state."""
    path = tmp_path_factory.mktemp("rec") / "rollout.npz"
    with open_policy(trot, threads=1) as session:
        assert rec_mod.record(session, f"mujoco:{A1_TOML}", path, seed=3) == 500
    return path


def test_the_recording_names_the_term_and_its_factor(trot, recorded, tmp_path):
    bad = spec_file(tmp_path, "bad", observation=with_term("base_ang_vel", scale=4.0))
    _, diag = doctor(trot, f"mujoco:{bad}", recording=recorded, opener=open_policy)
    terms = {t["term"]: t for t in diag.recording["terms"]}
    assert terms["projected_gravity"]["matches"] and terms["joint_vel"]["matches"]
    assert not terms["base_ang_vel"]["matches"] and "4x too large" in terms["base_ang_vel"]["explanation"]
    assert diag.findings[0].source == "recording" and diag.verdict == "fixed"
    assert diag.fixed.observation == load(A1_TOML).observation


def test_a_policy_that_succeeds_still_hears_of_a_term_that_differs(trot, recorded, tmp_path):
    bad = spec_file(tmp_path, "tolerated", observation=with_term("base_ang_vel", scale=0.25))
    report, diag = doctor(trot, f"mujoco:{bad}", recording=recorded, opener=open_policy)
    assert diag.verdict == "healthy"
    assert any("base_ang_vel" in w and "4x too small" in w for w in report.warnings)


def test_the_recording_finds_the_permutation_from_the_state(trot, recorded, tmp_path):
    bad = spec_file(tmp_path, "bad", joints=tuple(load(A1_TOML).joints[i] for i in BREADTH))
    _, diag = doctor(trot, f"mujoco:{bad}", recording=recorded, opener=open_policy, budget_s=0.001)
    terms = {t["term"]: t for t in diag.recording["terms"]}
    assert "joints are permuted" in terms["joint_vel"]["explanation"]
    assert "policy joint 1 is FR_upper_joint, not FL_hip_joint" in terms["joint_pos_rel"]["explanation"]
    assert diag.verdict == "fixed" and diag.fixed.joints == load(A1_TOML).joints


def test_named_quantities_and_a_missing_normaliser(tmp_path):
    """A recording of named quantities (as from Isaac Lab): the joint velocities normalised in training ((x - mean)
    / std) are named as a normaliser with its fitted statistics; a stale last action as such."""
    spec = load(A1_TOML)
    rng = np.random.default_rng(0)
    steps, n = 200, 12
    q = spec.default_pos + 0.2 * rng.standard_normal((steps, n))
    dq = rng.standard_normal((steps, n))
    action = rng.standard_normal((steps, n))
    grav = np.tile([0.0, 0.0, -1.0], (steps, 1))
    ang = rng.standard_normal((steps, 3))
    mean, std = np.linspace(-0.5, 0.5, n), np.linspace(0.5, 2.0, n)
    last = np.vstack([np.zeros((2, n)), action[:-2]])  # two steps old
    obs = np.hstack([ang, grav, np.tile([0.5, 0, 0], (steps, 1)), q - spec.default_pos, (dq - mean) / std, last,
                     np.zeros((steps, 2))])  # fmt: skip
    path = tmp_path / "named.npz"
    np.savez(path, obs=obs, action=action, base_ang_vel=ang, projected_gravity=grav, joint_pos=q, joint_vel=dq)
    checks, _ = rec_mod.check(spec, rec_mod.load(path), tuple(spec.joints))
    by = {c.term: c for c in checks}
    assert by["joint_pos_rel"].matches and by["base_ang_vel"].matches
    assert "normaliser" in by["joint_vel"].explanation and "std [0.5" in by["joint_vel"].explanation
    assert "two steps old" in by["last_action"].explanation
    assert by["gait_phase"].skipped


@pytest.mark.parametrize(
    ("arrays", "says"),
    [
        ({"obs": np.zeros((5, 47)), "action": np.zeros((4, 12))}, "disagree in length"),
        ({"obs": np.zeros((5, 47)), "action": np.zeros((5, 12)), "qpos_": np.zeros(5)}, "unknown arrays qpos_"),
        ({"obs": np.zeros((5, 47))}, "needs 'action'"),
        ({"obs": np.full((5, 47), np.nan), "action": np.zeros((5, 12))}, "finite numbers"),
    ],
)
def test_bad_recordings_are_one_line_exit_2(trot, bad, tmp_path, arrays, says):
    path = tmp_path / "r.npz"
    np.savez(path, **arrays)
    r = bad(2, "doctor", trot, "--domain", f"mujoco:{A1_TOML}", "--recording", path, "--no-store")
    assert says in r.err


def test_a_pickled_recording_is_refused(trot, bad, tmp_path):
    path = tmp_path / "r.npz"
    np.savez(path, obs=np.zeros((5, 47)), action=np.array([{"x": 1}] * 5, dtype=object))
    r = bad(2, "doctor", trot, "--domain", f"mujoco:{A1_TOML}", "--recording", path, "--no-store")
    assert "not a recording" in r.err and "never does" in r.err
    r = bad(2, "doctor", trot, "--domain", f"mujoco:{A1_TOML}", "--seed", "-1", "--no-store")
    assert "--seed must be from 0" in r.err


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--budget-s", "0"], "--budget-s must be"),
        (["--budget-s", "nan"], "--budget-s must be"),
        (["--episodes", "1"], "--episodes must be"),
        (["-o", str(A1_TOML)], "--output"),
    ],
)
def test_bad_options_are_one_line_exit_2(trot, bad, args, says):
    r = bad(2, "doctor", trot, "--domain", f"mujoco:{A1_TOML}", *args, "--no-store")
    assert says in r.err


def test_a_policy_that_cannot_run_there_names_both_shapes(bad, tmp_path):
    from tests.domains.mujoco.test_mjlab_metadata import policy_onnx

    model = policy_onnx(tmp_path / "wide.onnx", None, obs=60)
    r = bad(2, "doctor", model, "--domain", f"mujoco:{A1_TOML}", "--no-store")
    assert "60" in r.err and "47" in r.err


def test_structured_permutations_from_joint_names():
    a1 = tuple(f"{leg}_{j}_joint" for leg in ("FR", "FL", "RR", "RL") for j in ("hip", "upper", "lower"))
    perms = dict(permutations(a1))
    assert perms["left and right swapped"][:3] == [3, 4, 5]
    assert any(p == BREADTH for p in perms.values())
    humanoid = (
        "left_hip_pitch_joint",
        "left_knee_joint",
        "right_hip_pitch_joint",
        "right_knee_joint",
        "waist_yaw_joint",
    )
    mirrored = dict(permutations(humanoid))["left and right swapped"]
    assert mirrored == [2, 3, 0, 1, 4]  # the waist stays where it is


def test_conventional_numbers():
    assert all(conventional(v) for v in (1.0, 0.25, 0.05, 20.0, 200.0, 0.5, 2.5e-3))
    assert not any(conventional(v) for v in (4.0, 0.0698, 180 / math.pi, 3.0))


@pytest.mark.slow
def test_the_matrix_meets_its_bar():
    """scripts/doctor_matrix.py: at least 20 mutations that break the policy, the first-ranked diagnosis names
    the mutation in at least 90% of them."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "scripts/doctor_matrix.py"], capture_output=True, text=True, check=True)
    line = next(x for x in out.stdout.splitlines() if "broke the policy" in x)
    broke = int(line.split(" mutations, ")[1].split(" broke")[0])
    named = int(line.split("named the mutation in ")[1].split(" of ")[0])
    assert broke >= 20 and named / broke >= 0.9, line


def test_the_report_joins_the_store_history_and_the_page(trot, cli, tmp_path):
    bad = spec_file(tmp_path, "bad", observation=with_term("joint_vel", scale=20.0))
    db = tmp_path / "runs.db"
    assert cli("doctor", trot, "--domain", f"mujoco:{bad}", "--db", db).code == 0
    h = cli("history", "--db", db, "--json", "-")
    run = json.loads(h.out)["runs"][0]
    assert run["kind"] == "doctor" and run["figures"]["verdict"] == "fixed" and run["figures"]["coverage"] == 1.0
    page = tmp_path / "r.html"
    assert cli("report", run["run_id"], "--db", db, "-o", page).code == 0
    assert 'data-figure="doctor_verdict">fixed<' in page.read_text()
