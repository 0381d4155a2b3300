"""Stable-Baselines3 sources, for real: tiny trained PPO, A2C, SAC, TD3 and DQN models exported to ONNX and
compared with SB3's own deterministic predict (VecNormalize, clipping/unscaling and argmax included)."""

import json
import pickle
import zipfile

import numpy as np
import onnx
import pytest

from edgeperf import artifact
from edgeperf.errors import BadInput
from edgeperf.exporter.onnx import export
from edgeperf.exporter.sb3 import detect_algo
from edgeperf.runtime.session import Session

pytest.importorskip("stable_baselines3")
pytest.importorskip("torch")


@pytest.mark.parametrize(
    ("name", "algo", "kind"),
    [
        ("ppo-cartpole", "PPO", "discrete"),
        ("a2c-mountaincar", "A2C", "continuous"),
        ("sac-pendulum", "SAC", "continuous"),
        ("td3-pendulum", "TD3", "continuous"),
        ("dqn-cartpole", "DQN", "discrete"),
    ],
)
def test_each_algorithm_exports_with_parity(sb3_models, tmp_path, name, algo, kind):
    """Pickle-free by default: parity of the artifact against SB3's own predict (SB3 loads the test's own zip)."""
    import stable_baselines3 as sb3

    out = tmp_path / f"{name}.onnx"
    report = export(str(sb3_models[name]), out, parity_samples=256)
    par = report.results["parity"]
    assert par["passed"], par
    assert report.results["source"]["algorithm"] == algo and par["action_kind"] == kind
    assert "without unpickling" in report.results["trust"]
    model = getattr(sb3, algo).load(sb3_models[name], device="cpu")
    space = model.observation_space
    low, high = np.maximum(space.low, -5), np.minimum(space.high, 5)
    obs = np.random.default_rng(0).uniform(low, high, (256, *space.shape)).astype(np.float32)
    with Session.open(out) as s:
        got = s.run(obs)
    want = model.predict(obs, deterministic=True)[0]
    if kind == "discrete":
        assert np.array_equal(np.asarray(got).reshape(-1), want.reshape(-1))
        assert [o["name"] for o in report.model.outputs] == ["action", "logits"]
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_trust_pickle_is_the_old_path_and_says_so(sb3_models, tmp_path):
    report = export(str(sb3_models["sac-pendulum"]), tmp_path / "sac.onnx", parity_samples=64, trust_pickle=True)
    assert report.results["parity"]["passed"] and "--trust-pickle" in report.results["trust"]


def test_squashed_policies_return_actions_in_the_action_space(sb3_models, tmp_path):
    """SAC's tanh output is unscaled to Pendulum's [-2, 2] inside the graph: the robot gets torques."""
    from stable_baselines3 import SAC

    out = tmp_path / "sac.onnx"
    export(str(sb3_models["sac-pendulum"]), out, check=False)
    model = SAC.load(sb3_models["sac-pendulum"], device="cpu")
    obs = np.random.default_rng(3).uniform([-1, -1, -8], [1, 1, 8], (64, 3)).astype(np.float32)
    with Session.open(out) as s:
        got = s.run(obs)
    want = model.predict(obs, deterministic=True)[0]
    np.testing.assert_allclose(got, want, atol=1e-5)
    import torch

    with torch.no_grad():
        squashed = model.actor(torch.from_numpy(obs), deterministic=True).numpy()  # tanh output in [-1, 1]
    np.testing.assert_allclose(got, 2.0 * squashed, atol=1e-5)  # Pendulum's torque range is [-2, 2]


def test_vecnormalize_is_baked_into_the_graph(sb3_models, tmp_path, cli):
    from stable_baselines3 import PPO

    out = tmp_path / "ppo.onnx"
    r = cli(
        "export",
        sb3_models["ppo-pendulum"],
        "--vecnormalize",
        sb3_models["vecnormalize"],
        "-o",
        out,
        "--json",
        tmp_path / "e.json",
    )
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["results"]["parity"]["passed"]
    assert "VecNormalize" in doc["results"]["parity"]["observation_source"]
    assert doc["results"]["normalization"]["type"] == "vecnormalize"
    # The artifact takes raw observations: equal to SB3 on normalized ones, not on raw ones.
    with open(sb3_models["vecnormalize"], "rb") as f:
        vn = pickle.load(f)
    model = PPO.load(sb3_models["ppo-pendulum"], device="cpu")
    raw = np.random.default_rng(5).uniform([-1, -1, -8], [1, 1, 8], (128, 3)).astype(np.float32)
    with Session.open(out) as s:
        got = s.run(raw)
    np.testing.assert_allclose(got, model.predict(vn.normalize_obs(raw), deterministic=True)[0], atol=1e-5)
    assert not np.allclose(got, model.predict(raw, deterministic=True)[0], atol=1e-3)
    assert np.abs(got).max() <= 2.0  # clipped to Pendulum's action bounds inside the graph


def test_spaces_and_normalization_travel_as_metadata(sb3_models, tmp_path):
    out = tmp_path / "ppo.onnx"
    export(str(sb3_models["ppo-pendulum"]), out, vecnormalize=str(sb3_models["vecnormalize"]), check=False)
    meta = artifact.decode({p.key: p.value for p in onnx.load(str(out)).metadata_props})
    assert meta["obs_space"] == {"type": "box", "shape": [3], "low": [-1.0, -1.0, -8.0], "high": [1.0, 1.0, 8.0]}
    assert meta["action_space"] == {"type": "box", "shape": [1], "low": -2.0, "high": 2.0}
    assert meta["normalization"]["type"] == "vecnormalize" and len(meta["normalization"]["mean"]) == 3
    assert meta["precision"] == "fp32" and meta["source_kind"] == "sb3"


def test_discrete_metadata_and_int64_action(sb3_models, tmp_path):
    out = tmp_path / "dqn.onnx"
    export(str(sb3_models["dqn-cartpole"]), out, check=False)
    meta = artifact.decode({p.key: p.value for p in onnx.load(str(out)).metadata_props})
    assert meta["action_space"] == {"type": "discrete", "n": 2, "start": 0}
    obs_space = meta["obs_space"]
    assert obs_space["low"] is None and obs_space["high"] is None  # low/high only ever hold finite bounds
    assert obs_space["low_partial"][1] is None and obs_space["low_partial"][0] == pytest.approx(-4.8)
    with Session.open(out) as s:
        a = s.run(np.zeros((5, 4), np.float32))
    assert a.dtype == np.int64 and a.shape == (5,)


def test_discrete_int8_reports_agreement(sb3_models, tmp_path):
    report = export(str(sb3_models["ppo-cartpole"]), tmp_path / "q.onnx", precision="int8", parity_samples=256)
    par = report.results["parity"]
    assert par["action_kind"] == "discrete" and 0.9 <= par["agreement_rate"] <= 1.0
    assert par["tolerance"]["atol"] == 0.15 and par["errors_are_of"] == "logits"


def test_wrong_vecnormalize_is_bad_input(sb3_models, tmp_path):
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    other = tmp_path / "cartpole_stats.pkl"
    VecNormalize(make_vec_env("CartPole-v1", n_envs=1)).save(str(other))
    with pytest.raises(BadInput, match=r"statistics for observations of shape \[4\]"):
        export(str(sb3_models["ppo-pendulum"]), tmp_path / "x.onnx", vecnormalize=str(other))
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x00\x01garbage")
    with pytest.raises(BadInput, match="is not a pickle edgeperf can read"):
        export(str(sb3_models["ppo-pendulum"]), tmp_path / "x.onnx", vecnormalize=str(junk))
    with pytest.raises(BadInput, match=r"Stable-Baselines3 \.zip sources only"):
        export("example:mlp", tmp_path / "x.onnx", vecnormalize=str(junk))
    assert list(tmp_path.glob("x*")) == []


def test_damaged_sb3_zip_is_bad_input(sb3_models, tmp_path, cli):
    src = zipfile.ZipFile(sb3_models["ppo-pendulum"])
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as z:
        for name in src.namelist():
            data = src.read(name)
            z.writestr(name, data[: len(data) // 3] if name == "policy.pth" else data)  # weights cut short
    r = cli("export", broken, "-o", tmp_path / "out.onnx")
    assert r.code == 2 and "policy.pth is not a plain state_dict" in r.err
    assert len(r.err.strip().splitlines()) == 1
    assert list(tmp_path.glob("out*")) == []


def test_algorithm_detection_from_the_data_entry():
    assert detect_algo({"policy_class": {"__module__": "stable_baselines3.sac.policies"}}) == "SAC"
    assert detect_algo({"policy_class": {"__module__": "my.policies"}, "clip_range": 1}) == "PPO"
    assert detect_algo({"gae_lambda": 0.95}) == "A2C"
    assert detect_algo({"policy_delay": 2}) == "TD3"
    assert detect_algo({}) is None


def test_the_trust_note_is_said_once(sb3_models, tmp_path, cli):
    out = tmp_path / "p.onnx"
    args = ["--vecnormalize", sb3_models["vecnormalize"], "--no-check", "--json", tmp_path / "e.json"]
    r = cli("export", sb3_models["ppo-pendulum"], "-o", out, *args, "--trust-pickle")
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "e.json").read_text())
    notes = [w for w in doc["warnings"] if "unpickled" in w]
    assert notes == [
        "ppo_pendulum.zip was unpickled by SB3 (--trust-pickle), which runs code from the file: export only files "
        "you trust"
    ]
    assert "--trust-pickle" in doc["results"]["trust"] and "allowlist" in doc["results"]["trust"]
    assert " ".join(r.out.split()).count("was unpickled") == 1
    r = cli("export", sb3_models["ppo-pendulum"], "-o", out, *args)  # the default: nothing unpickled
    doc = json.loads((tmp_path / "e.json").read_text())
    assert not [w for w in doc["warnings"] if "was unpickled" in w]
    assert doc["results"]["trust"].startswith("read without unpickling")
