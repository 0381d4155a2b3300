"""SB3 zips without their pickles: every algorithm SB3 and sb3-contrib publish for Box observations, rebuilt from
the zip's JSON and state_dict and checked against the library's own deterministic predict; payloads planted in
every pickled field stay inert; the lies and damage a stranger's zip can hold are one line, exit 2."""

from __future__ import annotations

import base64
import contextlib
import copy
import io
import json
import pickle
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")
pytest.importorskip("torch")

import torch

from edgeperf.errors import BadInput
from edgeperf.exporter import safe_pickle, sb3_safe
from edgeperf.exporter.onnx import export
from edgeperf.runtime.session import Session

SMALL = {"net_arch": [16, 16]}


def _make(algo: str, env: str, folder, **kw):
    import sb3_contrib
    import stable_baselines3

    cls = getattr(stable_baselines3, algo, None) or getattr(sb3_contrib, algo)
    kw = copy.deepcopy(kw)  # SB3 writes into policy_kwargs
    policy = kw.pop("policy", "MlpPolicy")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = cls(policy, env, seed=0, device="cpu", **kw)
    return model


def _saved(model, folder, name):
    path = folder / f"{name}.zip"
    model.save(path)
    return path


AGENTS = [
    ("PPO", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("PPO", "CartPole-v1", {"policy_kwargs": {"net_arch": {"pi": [8], "vf": [32]}}}),
    ("A2C", "CartPole-v1", {"policy_kwargs": {**SMALL, "activation_fn": torch.nn.ReLU}}),
    ("TRPO", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("PPO", "Pendulum-v1", {"policy_kwargs": {**SMALL, "squash_output": True}, "use_sde": True}),
    ("SAC", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("TQC", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("SAC", "Pendulum-v1", {"policy_kwargs": {**SMALL, "log_std_init": -2}, "use_sde": True}),  # mu then Hardtanh
    ("TQC", "Pendulum-v1", {"policy_kwargs": {**SMALL, "clip_mean": 0.5}, "use_sde": True}),
    ("CrossQ", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("TD3", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("DDPG", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("DQN", "CartPole-v1", {"policy_kwargs": SMALL}),
    ("QRDQN", "CartPole-v1", {"policy_kwargs": {**SMALL, "n_quantiles": 5}}),
    ("ARS", "Pendulum-v1", {"policy_kwargs": SMALL}),
    ("ARS", "Pendulum-v1", {"policy": "LinearPolicy"}),
    ("ARS", "CartPole-v1", {"policy_kwargs": SMALL}),
]


def _perturb(model) -> None:
    """Weights and normaliser statistics away from their initial values, so a layer read wrongly shows."""
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _, p in model.policy.named_parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=g))
        for name, b in model.policy.named_buffers():
            if name.endswith(("ra_mean", "ra_var")):
                b.copy_(torch.rand(b.shape, generator=g) + (0.5 if name.endswith("ra_var") else -0.5))


@pytest.mark.parametrize(("algo", "env", "kw"), AGENTS, ids=[f"{a}-{e}-{i}" for i, (a, e, _) in enumerate(AGENTS)])
def test_each_algorithm_pickle_free_matches_its_own_predict(tmp_path, algo, env, kw):
    model = _make(algo, env, tmp_path, **kw)
    _perturb(model)
    path = _saved(model, tmp_path, algo.lower())
    out = tmp_path / "p.onnx"
    report = export(str(path), out, parity_samples=64)
    assert report.results["source"]["loaded"] == "pickle-free"
    assert report.results["source"]["algorithm"] == algo
    space = model.observation_space
    obs = np.random.default_rng(0).uniform(np.maximum(space.low, -3), np.minimum(space.high, 3), (128, *space.shape))
    obs = obs.astype(np.float32)
    model.policy.set_training_mode(False)
    want = model.predict(obs, deterministic=True)[0]
    with Session.open(out) as s:
        got = s.run(obs)
    if model.action_space.__class__.__name__ == "Discrete":
        assert np.array_equal(np.asarray(got).reshape(-1), np.asarray(want).reshape(-1))
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)


def _planted(path, marker, folder):
    """The same zip with a payload in every pickled field of its JSON (SB3 keeps cloudpickle blobs there)."""
    blob = base64.b64encode(pickle.dumps(_Payload(str(marker)))).decode()
    out = folder / "planted.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            data = src.read(name)
            if name == "data":
                doc = json.loads(data)
                for value in doc.values():
                    if isinstance(value, dict) and ":serialized:" in value:
                        value[":serialized:"] = blob
                data = json.dumps(doc).encode()
            z.writestr(name, data)
    return out


class _Payload:
    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_payload_in_every_pickled_field_stays_inert(tmp_path, cli):
    model = _make("SAC", "Pendulum-v1", tmp_path, policy_kwargs=SMALL)
    marker = tmp_path / "RAN"
    planted = _planted(_saved(model, tmp_path, "sac"), marker, tmp_path)
    r = cli("export", planted, "-o", tmp_path / "p.onnx", "--no-store")
    assert r.code == 0, r.err
    assert not marker.exists()
    from stable_baselines3 import SAC

    with warnings.catch_warnings(), contextlib.suppress(Exception):  # the control: SB3's own loader runs it
        warnings.simplefilter("ignore")
        SAC.load(planted)
    assert marker.exists()


def test_a_gym_era_zip_loads_without_gym(tmp_path):
    """SB3 1.x wrote gym.spaces types and `shape` attributes; neither gym nor gymnasium is needed to read it."""
    model = _make("PPO", "Pendulum-v1", tmp_path, policy_kwargs=SMALL)
    _perturb(model)
    path = _saved(model, tmp_path, "ppo")
    legacy = tmp_path / "legacy.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(legacy, "w") as z:
        for name in src.namelist():
            data = src.read(name)
            if name == "data":
                text = data.decode().replace("gymnasium.spaces", "gym.spaces")
                doc = json.loads(text)
                for key in ("observation_space", "action_space"):
                    doc[key]["shape"] = doc[key].pop("_shape")
                    doc[key][":serialized:"] = "not a pickle anyone can read"
                data = json.dumps(doc).encode()
            z.writestr(name, data)
    assert "gym" not in sys.modules
    src = sb3_safe.load(legacy, None, None)
    assert "gym" not in sys.modules
    obs = np.random.default_rng(0).uniform(-1, 1, (16, 3)).astype(np.float32)
    np.testing.assert_allclose(src.reference(obs), model.predict(obs, deterministic=True)[0], atol=1e-5)


def test_an_sb3_1x_zip_with_shared_layers_loads(tmp_path):
    """SB3 before 1.8 wrote net_arch [16, dict(pi=[16], vf=[16])] as mlp_extractor.shared_net then policy_net; the
    same network written that way (a 2.x agent's two policy layers renamed) acts as the agent does."""
    model = _make("PPO", "Pendulum-v1", tmp_path, policy_kwargs={"net_arch": {"pi": [16, 16], "vf": [16]}})
    _perturb(model)
    path = _saved(model, tmp_path, "ppo")

    def shared(st):
        for name in ("weight", "bias"):
            st[f"mlp_extractor.shared_net.0.{name}"] = st.pop(f"mlp_extractor.policy_net.0.{name}")
            st[f"mlp_extractor.policy_net.0.{name}"] = st.pop(f"mlp_extractor.policy_net.2.{name}")

    legacy = _rewrite(path, tmp_path, edit_state=shared,
                      edit_data=lambda d: d["policy_kwargs"].update(net_arch=[16, {"pi": [16], "vf": []}]))  # fmt: skip
    src = sb3_safe.load(legacy, None, None)
    obs = np.random.default_rng(0).uniform(-1, 1, (32, 3)).astype(np.float32)
    np.testing.assert_allclose(src.reference(obs), model.predict(obs, deterministic=True)[0], atol=1e-5)


def _rewrite(path, folder, edit_data=None, edit_state=None, drop=()):
    out = folder / "edited.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w") as z:
        for name in src.namelist():
            if name in drop:
                continue
            data = src.read(name)
            if name == "data" and edit_data:
                doc = json.loads(data)
                edit_data(doc)
                data = json.dumps(doc).encode()
            if name == "policy.pth" and edit_state:
                state = torch.load(io.BytesIO(data), weights_only=True)
                edit_state(state)
                buf = io.BytesIO()
                torch.save(state, buf)
                data = buf.getvalue()
            z.writestr(name, data)
    return out


@pytest.fixture(scope="module")
def sac_zip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sac")
    return _saved(_make("SAC", "Pendulum-v1", folder, policy_kwargs=SMALL), folder, "sac")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {"edit_data": lambda d: d["observation_space"].update(_shape=[5], low="[-1. -1. -1. -1. -1.]", high="1.0")},
            "has 5 values (shape [5]) but policy.pth's first layer takes 3",
        ),
        ({"edit_data": lambda d: d["observation_space"].update(_shape=[5])}, "low has 3 values for shape [5]"),
        ({"edit_data": lambda d: d["policy_kwargs"].update(net_arch=[64, 64])}, "says hidden layers [64, 64]"),
        ({"edit_data": lambda d: d["action_space"].update(_shape=[2])}, "needs 2 outputs but"),
        ({"edit_data": lambda d: d["policy_class"].update(__module__="my_lab.policies")}, "--trust-pickle"),
        ({"edit_data": lambda d: d.update(observation_space=[1, 2])}, "observation_space is list"),
        ({"edit_data": lambda d: d["policy_kwargs"].update(activation_fn="<class 'my.Act'>")}, "activation_fn"),
        ({"drop": ("policy.pth",)}, "neither a TorchScript archive nor a Stable-Baselines3 model"),
        ({"edit_state": lambda s: s.update(extra=torch.zeros(3))}, "no place for: extra"),
        ({"edit_state": lambda s: s.pop("actor.mu.weight")}, "has no actor.mu"),
        ({"edit_state": lambda s: s["actor.mu.bias"].fill_(float("nan"))}, "NaN or inf"),
    ],
)
def test_a_zip_that_lies_or_is_damaged_is_one_line_exit_2(sac_zip, tmp_path, bad, change, says):
    edited = _rewrite(sac_zip, tmp_path, **change)
    r = bad(2, "export", edited, "-o", tmp_path / "p.onnx", "--no-store")
    assert says in r.err
    assert not (tmp_path / "p.onnx").exists()


def test_a_zip_bomb_is_refused_before_it_is_read(tmp_path, bad):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("data", json.dumps({"policy_class": {"__module__": "stable_baselines3.sac.policies"}}))
        z.writestr("policy.pth", b"\0" * (64 * 2**20))
    r = bad(2, "export", bomb, "-o", tmp_path / "p.onnx", "--no-store")
    assert "zip bomb" in r.err


# --- CnnPolicy: SB3's NatureCNN rebuilt from policy.pth -----------------------------------------------------


class _Camera:
    """A 40x40 RGB camera env (uint8 HWC, as cameras give them): SB3 trains CnnPolicy behind VecTransposeImage
    and stores the channel-first space, which the artifact takes."""

    @staticmethod
    def make(discrete: bool):
        import gymnasium as gym

        class Camera(gym.Env):
            def __init__(self):
                self.observation_space = gym.spaces.Box(0, 255, (40, 40, 3), np.uint8)
                self.action_space = gym.spaces.Discrete(3) if discrete else gym.spaces.Box(-2, 2, (2,), np.float32)

            def reset(self, *, seed=None, options=None):
                return self.observation_space.sample(), {}

            def step(self, action):
                return self.observation_space.sample(), 0.0, False, True, {}

        return Camera()


CNN_SMALL = {"features_extractor_kwargs": {"features_dim": 16}, "net_arch": [8]}
IMAGES = [
    ("PPO", True, {"policy_kwargs": CNN_SMALL}),
    ("DQN", True, {"policy_kwargs": CNN_SMALL, "buffer_size": 10}),
    ("SAC", False, {"policy_kwargs": CNN_SMALL, "buffer_size": 10}),
    (
        "RecurrentPPO",
        True,
        {"policy": "CnnLstmPolicy", "n_steps": 8, "policy_kwargs": {**CNN_SMALL, "lstm_hidden_size": 8}},
    ),
]


@pytest.mark.parametrize(("algo", "discrete", "kw"), IMAGES, ids=[a for a, _, _ in IMAGES])
def test_cnn_policies_pickle_free_match_their_own_predict(tmp_path, algo, discrete, kw):
    """NatureCNN (kernels from policy.pth, NatureCNN's strides), the /255 and the bounds read from numpy's
    summarized text of a 4,800-value space: a wrong stride, a missing /255 or a missed ReLU changes the action."""
    kw = {"policy": "CnnPolicy", **kw}
    model = _make(algo, _Camera.make(discrete), tmp_path, **kw)
    _perturb(model)
    path = _saved(model, tmp_path, algo.lower())
    out = tmp_path / "p.onnx"
    report = export(str(path), out, parity_samples=32)
    assert report.results["source"]["loaded"] == "pickle-free"
    obs = np.random.default_rng(0).integers(0, 256, (24, 3, 40, 40)).astype(np.uint8)
    model.policy.set_training_mode(False)
    with Session.open(out) as s:
        if algo == "RecurrentPPO":
            want = np.concatenate([model.predict(o[None], deterministic=True)[0] for o in obs[:1]])
            got = np.asarray(s.run(obs[:1].astype(np.float32))).reshape(want.shape)
        else:
            want = model.predict(obs, deterministic=True)[0]
            got = np.asarray(s.run(obs.astype(np.float32))).reshape(np.shape(want))
    if discrete:
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)


def _dict_env(discrete: bool):
    import gymnasium as gym

    class Robot(gym.Env):
        """A camera (uint8 HWC) beside two vectors, one with per-value bounds: a MultiInputPolicy's usual input."""

        def __init__(self):
            self.observation_space = gym.spaces.Dict(
                {
                    "joints": gym.spaces.Box(np.array([-1.0, -2.0]), np.array([1.0, 3.0]), (2,), np.float32),
                    "camera": gym.spaces.Box(0, 255, (40, 40, 3), np.uint8),
                    "imu": gym.spaces.Box(-1, 1, (3,), np.float32),
                }
            )
            self.action_space = gym.spaces.Discrete(3) if discrete else gym.spaces.Box(-1, 1, (2,), np.float32)

        def reset(self, *, seed=None, options=None):
            return self.observation_space.sample(), {}

        def step(self, action):
            return self.observation_space.sample(), 0.0, False, True, {}

    return Robot()


@pytest.mark.parametrize(("algo", "discrete"), [("PPO", True), ("SAC", False)])
def test_dict_observations_pickle_free_match_their_own_predict(tmp_path, algo, discrete):
    """CombinedExtractor rebuilt (a NatureCNN per image key, a flatten per vector, concatenated in the space's key
    order) behind the same raw-key wrapper as the trusted path: HWC pixels in, transposed and scaled inside. A key
    order other than SB3's, or a camera not transposed, changes the action."""
    kw = {"policy_kwargs": {"features_extractor_kwargs": {"cnn_output_dim": 8}, "net_arch": [8]}}
    if algo == "SAC":
        kw["buffer_size"] = 10
    model = _make(algo, _dict_env(discrete), tmp_path, policy="MultiInputPolicy", **kw)
    _perturb(model)
    path = _saved(model, tmp_path, algo.lower())
    out = tmp_path / "p.onnx"
    report = export(str(path), out, parity_samples=32)
    assert report.results["source"]["loaded"] == "pickle-free"
    rng = np.random.default_rng(0)
    obs = {
        "joints": rng.uniform(-1, 1, (16, 2)).astype(np.float32),
        "camera": rng.integers(0, 256, (16, 40, 40, 3)).astype(np.uint8),
        "imu": rng.uniform(-1, 1, (16, 3)).astype(np.float32),
    }
    want = model.predict(obs, deterministic=True)[0]
    with Session.open(out) as s:
        assert {i.name for i in s.io.inputs} == {"joints", "camera", "imu"}
        got = np.asarray(s.run(obs)).reshape(np.shape(want))
    if discrete:
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, atol=1e-4)


def test_a_dict_of_non_box_spaces_names_what_it_cannot_read(tmp_path, bad):
    model = _make("PPO", _dict_env(True), tmp_path, policy="MultiInputPolicy", n_steps=16)
    path = _saved(model, tmp_path, "ppo")
    text = "{'camera': Box(0, 255, (3, 40, 40), uint8), 'mode': Discrete(3)}"
    edited = _rewrite(path, tmp_path, edit_data=lambda d: d["observation_space"].update(spaces=text))
    r = bad(2, "export", edited, "-o", tmp_path / "p.onnx", "--no-store")
    assert "reads only as Boxes" in r.err and "--trust-pickle" in r.err


def test_summarized_bounds_are_read_only_when_uniform(tmp_path):
    shape = (2000,)
    np.testing.assert_array_equal(sb3_safe._array(str(np.full(shape, -np.inf)), shape, tmp_path, "x"), -np.inf)
    with pytest.raises(BadInput, match="summarized by numpy"):
        sb3_safe._array(str(np.arange(2000.0)), shape, tmp_path, "x")


# --- RecurrentPPO: the LSTM state carried, zeroed at an episode start ------------------------------------------

RECURRENT = [
    ("Pendulum-v1", {"lstm_hidden_size": 8, "net_arch": [16]}),
    ("CartPole-v1", {"lstm_hidden_size": 8, "n_lstm_layers": 2, "shared_lstm": True, "enable_critic_lstm": False}),
    ("Pendulum-v1", {"lstm_hidden_size": 8, "net_arch": [], "enable_critic_lstm": False}),
]


@pytest.mark.parametrize(("env", "pk"), RECURRENT, ids=["box", "discrete-2-layers-shared", "no-mlp-critic-linear"])
def test_recurrent_ppo_carries_its_state_as_sb3_does(tmp_path, env, pk):
    """The artifact, its state carried by the Session and reset at each episode start, against sb3-contrib's own
    predict(state, episode_start): a state not carried, carried from the critic's LSTM, or not zeroed at an
    episode start breaks the equality within a few steps."""
    model = _make("RecurrentPPO", env, tmp_path, policy="MlpLstmPolicy", n_steps=16, policy_kwargs=pk)
    _perturb(model)
    path = _saved(model, tmp_path, "rppo")
    out = tmp_path / "p.onnx"
    report = export(str(path), out, parity_samples=64)
    assert report.results["source"]["loaded"] == "pickle-free"
    assert report.results["source"]["algorithm"] == "RecurrentPPO"
    rng = np.random.default_rng(0)
    space = model.observation_space
    state, worst = None, 0.0
    with Session.open(out) as s:
        for t in range(45):
            start = t % 15 == 0  # three episodes
            if start:
                s.reset()
            x = rng.uniform(np.maximum(space.low, -2), np.minimum(space.high, 2), (1, *space.shape)).astype(np.float32)
            want, state = model.predict(x, state=state, episode_start=np.array([start]), deterministic=True)
            got = np.asarray(s.run(x)).reshape(np.shape(want))
            worst = max(worst, float(np.abs(got.astype(np.float64) - want).max()))
    assert worst <= 1e-4


def test_recurrent_ppo_that_lies_about_its_lstm_is_one_line(tmp_path, bad):
    model = _make("RecurrentPPO", "Pendulum-v1", tmp_path, policy="MlpLstmPolicy", n_steps=16,
                  policy_kwargs={"lstm_hidden_size": 8})  # fmt: skip
    path = _saved(model, tmp_path, "rppo")
    edited = _rewrite(path, tmp_path, edit_data=lambda d: d["policy_kwargs"].update(lstm_hidden_size=64))
    r = bad(2, "export", edited, "-o", tmp_path / "p.onnx", "--no-store")
    assert "lstm_hidden_size says 64 but policy.pth's lstm_actor has 8" in r.err
    edited = _rewrite(path, tmp_path, edit_state=lambda st: st.pop("lstm_actor.weight_hh_l0"))
    r = bad(2, "export", edited, "-o", tmp_path / "p.onnx", "--no-store")
    assert "lstm_actor" in r.err
    assert not (tmp_path / "p.onnx").exists()


# --- MaskablePPO: the action mask as a second input -----------------------------------------------------------

MASKED = "gym:tests.exporter.masked_env:MaskedLine-v0"


@pytest.fixture(scope="module")
def maskable_zip(tmp_path_factory):
    from tests.exporter import masked_env

    folder = tmp_path_factory.mktemp("maskable")
    model = _make("MaskablePPO", masked_env.MaskedLine(), folder, n_steps=16, policy_kwargs=SMALL)
    _perturb(model)
    return model, _saved(model, folder, "mppo")


def test_maskable_ppo_takes_the_mask_beside_the_observation(maskable_zip, tmp_path):
    """The artifact's action equals MaskablePPO.predict(obs, action_masks=mask) and is never a masked action; a
    mask input that were ignored (or inverted) would choose masked actions here, where the unmasked argmax often
    is one."""
    model, path = maskable_zip
    out = tmp_path / "p.onnx"
    report = export(str(path), out, parity_samples=64)
    assert report.results["source"]["algorithm"] == "MaskablePPO"
    rng = np.random.default_rng(0)
    obs = rng.uniform(-1, 1, (300, 4)).astype(np.float32)
    mask = rng.random((300, 6)) < 0.4
    mask[np.arange(300), rng.integers(0, 6, 300)] = True  # at least one action allowed
    want = model.predict(obs, action_masks=mask, deterministic=True)[0]
    with Session.open(out) as s:
        assert [i.name for i in s.io.inputs] == ["obs", "action_mask"]
        got = np.asarray(s.run({"obs": obs, "action_mask": mask.astype(np.float32)})).reshape(-1)
    assert np.array_equal(got, want)
    assert mask[np.arange(300), got].all()
    assert not np.array_equal(want, model.predict(obs, deterministic=True)[0])  # the mask mattered


def test_maskable_ppo_validates_with_the_envs_masks(maskable_zip, tmp_path, cli, monkeypatch):
    """Export with --domain (parity on the env's own masks) and validate against the zip: every step reads the
    env's action_masks(), so neither side ever takes a masked action (which would end the episode failed)."""
    _, path = maskable_zip
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).resolve().parents[2]))  # the spawned workers import tests
    out = tmp_path / "p.onnx"
    r = cli("export", path, "-o", out, "--domain", MASKED, "--no-store")
    assert r.code == 0, r.err
    r = cli("validate", out, "--domain", MASKED, "--reference", path, "--episodes", "4", "--workers", "1",
            "--json", tmp_path / "v.json", "--no-store")  # fmt: skip
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "v.json").read_text())
    assert doc["results"]["paired"]["verdict"] == "equivalent"
    for side in ("reference", "deployed"):
        assert "masked action" not in json.dumps(doc["results"][side])


# --- VecNormalize statistics through the allowlist ----------------------------------------------------------


def test_vecnormalize_statistics_without_running_code(tmp_path):
    import gymnasium as gym
    from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

    vn = VecNormalize(DummyVecEnv([lambda: gym.make("Pendulum-v1")]), clip_obs=7.0)
    vn.reset()
    for _ in range(20):
        vn.step(np.array([vn.action_space.sample()]))
    vn.save(str(tmp_path / "vn.pkl"))
    got = safe_pickle.load((tmp_path / "vn.pkl").read_bytes(), "vn.pkl")
    want = VecNormalize.load(str(tmp_path / "vn.pkl"), DummyVecEnv([lambda: gym.make("Pendulum-v1")]))
    np.testing.assert_array_equal(got.obs_rms.mean, want.obs_rms.mean)
    np.testing.assert_array_equal(got.obs_rms.var, want.obs_rms.var)
    assert got.obs_rms.count == want.obs_rms.count and got.clip_obs == 7.0 and got.epsilon == want.epsilon


@pytest.mark.parametrize("payload", ["os.system", "builtins.eval", "subprocess.Popen"])
def test_a_pkl_with_a_class_outside_the_allowlist_is_refused_unrun(tmp_path, payload):
    module, name = payload.rsplit(".", 1)
    marker = tmp_path / "RAN"
    # A pickle that calls module.name(...): GLOBAL, then REDUCE with a one-string tuple
    data = b"c" + module.encode() + b"\n" + name.encode() + b"\n(S'touch " + str(marker).encode() + b"'\ntR."
    with pytest.raises(BadInput, match=f"asks for {module}.{name}"):
        safe_pickle.load(data, "stats.pkl")
    assert not marker.exists()


def test_a_maskable_agent_on_a_domain_without_masks_is_one_line(maskable_zip, tmp_path, bad):
    _, path = maskable_zip
    r = bad(2, "export", path, "-o", tmp_path / "p.onnx", "--domain", "gym:CartPole-v1", "--no-store")
    assert "action_masks()" in r.err
    assert not (tmp_path / "p.onnx").exists()


def test_trust_pickle_reads_the_algorithm_from_the_zip_too(tmp_path, bad):
    """A TQC zip under --trust-pickle was once loaded as SAC and failed with SAC's error; the algorithm comes from
    the policy class's module on both paths, and an sb3-contrib agent is told to drop the flag."""
    path = _saved(_make("TQC", "Pendulum-v1", tmp_path, policy_kwargs=SMALL), tmp_path, "tqc")
    r = bad(2, "export", path, "--trust-pickle", "-o", tmp_path / "p.onnx", "--no-store")
    assert "is a TQC agent" in r.err and "drop --trust-pickle" in r.err
