"""Whatever `export` reads, `validate --reference` and the Session read too: an SB3 original against its export."""

import json

import numpy as np

from edgeperf import pipeline
from edgeperf.exporter.onnx import export
from edgeperf.runtime.session import Session


def test_validate_an_sb3_export_against_the_sb3_original(sb3_models, tmp_path, cli):
    ppo = sb3_models["ppo-pendulum"]
    onnx_path = tmp_path / "ppo.onnx"
    export(str(ppo), onnx_path)
    out = tmp_path / "v.json"
    r = cli("validate", onnx_path, "--domain", "gym:Pendulum-v1", "--reference", ppo, "--episodes", "4",
            "--workers", "1", "--json", out)  # fmt: skip
    assert r.code == 0, r.err
    v = json.loads(out.read_text())
    assert v["config"]["reference"] == str(ppo) and v["results"]["paired"]["verdict"] == "equivalent"
    assert v["results"]["action_divergence"]["max"] < 1e-4


def test_a_discrete_policy_gives_its_logits_by_name(sb3_models, tmp_path):
    dqn = sb3_models["dqn-cartpole"]
    out = tmp_path / "dqn.onnx"
    export(str(dqn), out)
    obs = np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32)
    with Session.open(out) as s, pipeline.open_policy(str(dqn)) as original:
        got, want = s.run_all(obs), original.run_all(obs)
    assert list(got) == ["action", "logits"] == list(want)
    np.testing.assert_array_equal(got["action"], got["logits"].argmax(axis=1))
    np.testing.assert_allclose(got["logits"], want["logits"], rtol=1e-4, atol=1e-5)
