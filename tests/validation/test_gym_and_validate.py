"""Paired validation for real: gymnasium Pendulum, the bundled reference (torch) against ONNX exports of it."""

import json

import numpy as np
import pytest

from edgeperf.domains import base
from edgeperf.errors import BadInput
from edgeperf.pipeline import validate
from edgeperf.validation.latency import LatencyModel

torch = pytest.importorskip("torch")
pytest.importorskip("gymnasium")


def _export(module, path):
    torch.onnx.export(
        module,
        (torch.zeros(2, 3),),
        str(path),
        dynamo=False,
        input_names=["obs"],
        output_names=["action"],
        dynamic_axes={"obs": {0: "b"}, "action": {0: "b"}},
    )


@pytest.fixture(scope="module")
def pendulum_onnx(tmp_path_factory):
    from edgeperf.domains import references

    module, _ = references.load("reference:gym:Pendulum-v1")
    path = tmp_path_factory.mktemp("pend") / "pendulum.onnx"
    _export(module, path)
    return path


def test_gym_domain_contract():
    d = base.make("gym:Pendulum-v1")
    assert d.control_hz == pytest.approx(20.0) and d.reference == "reference:gym:Pendulum-v1"
    env = d.env(seed=3)
    env.reset(seed=3)
    for _ in range(200):
        _, _, term, trunc, info = env.step(np.zeros(1, np.float32))
        if term or trunc:
            break
    assert trunc and info["success"] is False and info["failure_reason"]


def test_unknown_domains_suggest():
    with pytest.raises(BadInput, match="did you mean 'quadruped/trot'"):
        base.make("quadruped/trott")
    with pytest.raises(BadInput, match="gym:Pendulum-v1"):
        base.make("gym:Pendulum-v9")


def test_fp32_export_is_equivalent(pendulum_onnx):
    r = validate(pendulum_onnx, "gym:Pendulum-v1", episodes=8, workers=1)
    res = r.results
    assert res["paired"]["verdict"] == "equivalent"
    assert res["reference"]["success_rate"] == 1.0 and res["deployed"]["success_rate"] == 1.0
    assert res["action_divergence"]["max"] < 1e-4
    assert r.schema == "edgeperf.validate/1" and r.model.sha256


def test_80ms_of_latency_is_different(pendulum_onnx):
    r = validate(pendulum_onnx, "gym:Pendulum-v1", episodes=20, workers=1, latency=LatencyModel.constant(80))
    assert r.results["paired"]["verdict"] == "different"
    assert r.results["paired"]["mean_return_difference"] < 0


def test_a_policy_that_cannot_balance_is_different(tmp_path):
    bad = tmp_path / "weak.onnx"
    _export(torch.nn.Sequential(torch.nn.Linear(3, 1)).eval().requires_grad_(False), bad)
    r = validate(bad, "gym:Pendulum-v1", episodes=6, workers=1)
    assert r.results["paired"]["verdict"] == "different"
    assert r.results["deployed"]["success_rate"] == 0.0


def test_nan_actions_fail_the_episode_and_the_run_continues(tmp_path):
    class NaNPolicy(torch.nn.Module):
        def forward(self, obs):
            return obs[:, :1] * float("nan")

    path = tmp_path / "nan.onnx"
    _export(NaNPolicy(), path)
    r = validate(path, "gym:Pendulum-v1", episodes=3, workers=1)
    assert r.results["deployed"]["success_rate"] == 0.0
    assert all("non-finite" in f["reason"] for f in r.results["failures"] if f["policy"] == "deployed")
    assert any("non-finite actions in 3 episodes" in w for w in r.warnings)


def test_sizes_that_do_not_fit_the_domain_say_both(cli, example_onnx):
    r = cli("validate", example_onnx, "--domain", "gym:Pendulum-v1", "-n", "2")
    assert r.code == 2
    assert "shape [48]" in r.err and "gives [3]" in r.err


def test_cli_sweep_workers_and_json(cli, pendulum_onnx, tmp_path):
    r = cli(
        "validate",
        pendulum_onnx,
        "--domain",
        "gym:Pendulum-v1",
        "-n",
        "4",
        "--workers",
        "2",
        "--latency-sweep",
        "0,100",
        "--json",
        tmp_path / "v.json",
    )
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "v.json").read_text())
    pts = doc["results"]["latency_sweep"]["points"]
    assert [p["latency_ms"] for p in pts] == [0.0, 100.0]
    assert doc["results"]["workers"] == 2 and "verdict: equivalent" in r.out
    per = doc["results"]["per_episode"]  # each seed's pair, for the HTML report's paired returns
    assert per["seeds"] == [0, 1, 2, 3] and len(per["reference"]) == len(per["deployed"]) == 4
    assert np.mean(per["deployed"]) == pytest.approx(doc["results"]["deployed"]["return"]["mean"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "quadruped/trott"], "did you mean 'quadruped/trot'"),
        (["--domain", "gym:Pendulum-v1", "--reference", "nope.pt"], "does not exist"),
        (["--domain", "gym:Pendulum-v1", "-n", "1"], "--episodes must be from 2"),
        (["--domain", "gym:Pendulum-v1", "--latency", "5", "--latency-from", "p.json"], "not both"),
        (["--domain", "gym:Pendulum-v1", "--latency-sweep", "a,b"], "--latency-sweep"),
        (["--domain", "gym:Pendulum-v1", "--margin", "-1"], "--margin must be a positive"),
    ],
)
def test_bad_input_exit_2(cli, pendulum_onnx, args, message):
    r = cli("validate", pendulum_onnx, *args)
    assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1
