"""An SB3 agent on gymnasium's MuJoCo v5 tasks, read without its pickles: the faithful export validates as
equivalent against the zip itself on HalfCheetah-v5; the export with its output layer negated is not (with an
untrained agent the returns of either sign are alike, so the verdict is inconclusive rather than different, and
the actions tell them apart); the reference side takes the agent's VecNormalize statistics (validate
--vecnormalize)."""

from __future__ import annotations

import io
import json
import warnings
import zipfile

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("mujoco")
pytest.importorskip("imageio")

import torch


@pytest.fixture(scope="module")
def cheetah(tmp_path_factory):
    """A PPO agent for HalfCheetah-v5 (untrained but perturbed: its actions are far from zero), its VecNormalize
    statistics from a short rollout, and the same zip with its action head negated."""
    import gymnasium as gym
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    folder = tmp_path_factory.mktemp("cheetah")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vec = VecNormalize(DummyVecEnv([lambda: gym.make("HalfCheetah-v5")]), norm_reward=False)
        model = PPO("MlpPolicy", vec, seed=0, device="cpu", policy_kwargs={"net_arch": [32, 32]})
    with torch.no_grad():
        model.policy.action_net.weight.mul_(20.0)
    vec.reset()
    for _ in range(200):
        vec.step(np.array([vec.action_space.sample()]))
    paths = {"zip": folder / "ppo.zip", "vn": folder / "vn.pkl", "negated": folder / "negated.zip"}
    model.save(paths["zip"])
    vec.save(str(paths["vn"]))
    with zipfile.ZipFile(paths["zip"]) as src, zipfile.ZipFile(paths["negated"], "w") as z:
        for name in src.namelist():
            data = src.read(name)
            if name == "policy.pth":
                state = torch.load(io.BytesIO(data), weights_only=True)
                state["action_net.weight"] = -state["action_net.weight"]
                state["action_net.bias"] = -state["action_net.bias"]
                buf = io.BytesIO()
                torch.save(state, buf)
                data = buf.getvalue()
            z.writestr(name, data)
    return paths


def test_faithful_export_is_equivalent_and_a_negated_one_different(cheetah, cli, tmp_path):
    vn = str(cheetah["vn"])
    for name in ("zip", "negated"):
        r = cli("export", cheetah[name], "--vecnormalize", vn, "-o", tmp_path / f"{name}.onnx", "--no-store")
        assert r.code == 0, r.err
    common = ["--domain", "gym:HalfCheetah-v5", "--reference", cheetah["zip"], "--vecnormalize", vn, "-n", "3",
              "--workers", "1", "--no-store"]  # fmt: skip
    ok = cli("validate", tmp_path / "zip.onnx", *common, "--json", tmp_path / "v.json")
    assert ok.code == 0, ok.err + ok.out
    rep = json.loads((tmp_path / "v.json").read_text())["results"]
    assert rep["paired"]["verdict"] == "equivalent" and "margin_source" in rep["paired"]
    faithful = rep["action_divergence"]["max"]
    assert faithful < 1e-4
    bad = cli("validate", tmp_path / "negated.onnx", *common, "--json", tmp_path / "n.json")
    assert bad.code == 1 and "equivalent" not in bad.err
    rep = json.loads((tmp_path / "n.json").read_text())["results"]
    assert rep["action_divergence"]["p50"] > 1000 * faithful  # opposite actions along the reference's trajectories
    assert rep["paired"]["verdict"] in ("different", "inconclusive")


def test_the_reference_needs_its_statistics(cheetah, cli, tmp_path):
    """Without --vecnormalize the reference acts on raw observations: the normalised export differs from it."""
    vn = str(cheetah["vn"])
    assert cli("export", cheetah["zip"], "--vecnormalize", vn, "-o", tmp_path / "p.onnx", "--no-store").code == 0
    r = cli("validate", tmp_path / "p.onnx", "--domain", "gym:HalfCheetah-v5", "--reference", cheetah["zip"],
            "-n", "3", "--workers", "1", "--no-store")  # fmt: skip
    assert r.code == 1
