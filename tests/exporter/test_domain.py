"""export --domain: parity and int8 calibration on the observations the policy meets in its domain."""

import json

import pytest

pytest.importorskip("torch")
pytest.importorskip("gymnasium")


def test_parity_and_calibration_from_rollouts(cli, tmp_path):
    r = cli(
        "export",
        "reference:gym:Pendulum-v1",
        "-o",
        tmp_path / "p.onnx",
        "--precision",
        "int8",
        "--quantization",
        "static",
        "--domain",
        "gym:Pendulum-v1",
        "--calibration-episodes",
        "2",
        "--parity-samples",
        "128",
        "--calibration-samples",
        "64",
        "--json",
        tmp_path / "e.json",
    )
    doc = json.loads((tmp_path / "e.json").read_text())
    par = doc["results"]["parity"]
    assert "400 steps of 2 gym:Pendulum-v1 episodes (seeds 0..1)" in par["observation_source"]
    assert par["observations"] == 128
    assert r.code in (0, 1)  # int8 of this policy may fail parity honestly; the observations are what is tested
    assert "domain-rollouts" in r.out and "seeds 10007..10008" in r.out


def test_fp32_with_domain_passes(cli, tmp_path):
    r = cli(
        "export",
        "reference:gym:Pendulum-v1",
        "-o",
        tmp_path / "p.onnx",
        "--domain",
        "gym:Pendulum-v1",
        "--calibration-episodes",
        "1",
        "--json",
        "-",
    )
    assert r.code == 0, r.err
    par = json.loads(r.out)["results"]["parity"]
    assert par["passed"] and "driven by the source policy" in par["observation_source"]


def test_domain_that_does_not_fit_says_both_shapes(cli, tmp_path):
    r = cli("export", "example:mlp", "-o", tmp_path / "p.onnx", "--domain", "gym:Pendulum-v1")
    assert r.code == 2
    assert "shape [48]" in r.err and "gives [3]" in r.err
    assert list(tmp_path.iterdir()) == []


def test_unknown_domain(cli, tmp_path):
    r = cli("export", "example:mlp", "-o", tmp_path / "p.onnx", "--domain", "quadruped/trott")
    assert r.code == 2 and "did you mean 'quadruped/trot'" in r.err
