"""An SB3 agent on gymnasium's MuJoCo v5 tasks, read without its pickles: the faithful export validates as
equivalent against the zip itself on HalfCheetah-v5; the export with its output layer negated is not (with an
untrained agent the returns of either sign are alike, so the verdict is inconclusive rather than different, and
the actions tell them apart; a PPO agent that balances InvertedPendulum-v5 tells them apart by the task: different);
the reference side takes the agent's VecNormalize statistics (validate
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
    _negated(paths["zip"], paths["negated"])
    return paths


def _negated(path, out, head: str = "action_net"):
    """The same zip with its output layer negated."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            data = src.read(name)
            if name == "policy.pth":
                state = torch.load(io.BytesIO(data), weights_only=True)
                for key in (f"{head}.weight", f"{head}.bias"):
                    state[key] = -state[key]
                buf = io.BytesIO()
                torch.save(state, buf)
                data = buf.getvalue()
            z.writestr(name, data)
    return out


def test_a_balancing_agent_validates_equivalent_and_its_negation_different(tmp_path, cli):
    """A PPO agent whose action head holds a stabilising state feedback (cart, pole angle and their rates): it
    balances InvertedPendulum-v5 for the whole 1000 steps. Its faithful export is equivalent to the zip; the export
    of its negated head drops the pole within steps, and the verdict says different, exit 1."""
    import gymnasium as gym
    from stable_baselines3 import PPO

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = PPO("MlpPolicy", gym.make("InvertedPendulum-v5"), seed=0, device="cpu", policy_kwargs={"net_arch": []})
    with torch.no_grad():
        model.policy.action_net.weight.copy_(torch.tensor([[1.0, 10.0, 1.0, 1.0]]))
        model.policy.action_net.bias.zero_()
    path = tmp_path / "balance.zip"
    model.save(path)
    negated = _negated(path, tmp_path / "negated.zip")
    common = ["--domain", "gym:InvertedPendulum-v5", "--reference", path, "-n", "6", "--workers", "1", "--no-store"]
    for name, src in (("faithful", path), ("negated", negated)):
        assert cli("export", src, "-o", tmp_path / f"{name}.onnx", "--no-store").code == 0
    ok = cli("validate", tmp_path / "faithful.onnx", *common, "--json", tmp_path / "v.json")
    assert ok.code == 0, ok.err + ok.out
    rep = json.loads((tmp_path / "v.json").read_text())["results"]
    assert rep["paired"]["verdict"] == "equivalent"
    assert rep["reference"]["success_rate"] == 1.0  # it really balances: the test stands on a working agent
    bad = cli("validate", tmp_path / "negated.onnx", *common, "--json", tmp_path / "n.json")
    assert bad.code == 1
    assert json.loads((tmp_path / "n.json").read_text())["results"]["paired"]["verdict"] == "different"


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
