"""Factory + state_dict and ONNX sources, and the bad-input contract for every source kind: one line, exit 2,
no partial artifact."""

import json
import sys
import zipfile

import numpy as np
import onnx
import pytest

from edgeperf import artifact
from edgeperf.errors import BadInput
from edgeperf.exporter.onnx import export
from edgeperf.runtime.session import Session

torch = pytest.importorskip("torch")


def test_factory_with_weights_exports_with_parity(factory_pkg, tmp_path, cli):
    _, weights, net = factory_pkg
    out = tmp_path / "f.onnx"
    r = cli(
        "export",
        "--factory",
        "mynets.policies:make_policy",
        "--weights",
        weights,
        "-o",
        out,
        "--json",
        tmp_path / "e.json",
    )
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "e.json").read_text())
    assert doc["config"]["source_kind"] == "factory" and doc["results"]["parity"]["passed"]
    assert doc["config"]["obs_shape"] == [10] and doc["results"]["source_sha256"]
    obs = np.random.default_rng(2).standard_normal((8, 10)).astype(np.float32)
    with Session.open(out) as s, torch.no_grad():
        np.testing.assert_allclose(s.run(obs), net(torch.from_numpy(obs)).numpy(), atol=1e-5)  # the saved weights


def test_factory_from_a_file_with_args_and_weights_as_source(factory_pkg, tmp_path):
    module_file, _, _ = factory_pkg
    net = torch.nn.Sequential()  # build a differently shaped net through the factory's arguments
    sys.path.insert(0, str(module_file.parent.parent))
    try:
        from mynets.policies import make_policy

        net = make_policy(obs_dim=6, act_dim=2, hidden=8)
    finally:
        sys.path.remove(str(module_file.parent.parent))
    weights = tmp_path / "small.pt"
    torch.save({"model_state_dict": net.state_dict(), "iter": 100}, str(weights))  # an rsl_rl-style checkpoint
    report = export(
        str(weights),
        tmp_path / "s.onnx",
        factory=f"{module_file}:make_policy",
        factory_args={"obs_dim": 6, "act_dim": 2, "hidden": 8},
        obs_shape=(6,),
    )
    assert report.results["parity"]["passed"]
    assert any("model_state_dict" in w for w in report.warnings)


def test_factory_without_weights_warns(factory_pkg, tmp_path):
    report = export(None, tmp_path / "n.onnx", factory="mynets.policies:make_policy", check=False)
    assert any("no --weights" in w for w in report.warnings)


def test_onnx_source_is_retargeted_with_its_metadata(example_onnx, tmp_path):
    out = tmp_path / "half.onnx"
    report = export(str(example_onnx), out, precision="fp16")
    assert report.config["source_kind"] == "onnx" and report.results["parity"]["passed"]
    meta = artifact.decode({p.key: p.value for p in onnx.load(str(out)).metadata_props})
    assert meta["precision"] == "fp16" and meta["source"] == str(example_onnx)
    assert meta["action_space"]["type"] == "box"  # carried over from the fp32 artifact
    assert report.results["source"]["original_source"] == "example:mlp"


def test_converted_onnx_is_not_converted_again(example_onnx, tmp_path):
    half = tmp_path / "half.onnx"
    export(str(example_onnx), half, precision="fp16", check=False)
    with pytest.raises(BadInput, match="already fp16"):
        export(str(half), tmp_path / "again.onnx", precision="int8")


# -- bad input: one line, exit 2, nothing left behind ---------------------------------------------------------


def _bad_cases(tmp_path, factory_pkg, sb3_zip):
    rnd = tmp_path / "random.zip"
    rnd.write_bytes(np.random.default_rng(0).bytes(4096))
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(sb3_zip.read_bytes()[:1500])
    notsb3 = tmp_path / "notes.zip"
    with zipfile.ZipFile(notsb3, "w") as z:
        z.writestr("README.md", "my policy")
        z.writestr("data.csv", "1,2,3")
    wrong = tmp_path / "wrong.pt"
    torch.save(torch.nn.Linear(10, 64).state_dict(), str(wrong))
    pickled = tmp_path / "pickled.pt"
    torch.save(torch.nn.Linear(10, 3), str(pickled))  # a whole module: weights_only refuses it
    ts = tmp_path / "ts.pt"
    torch.jit.save(torch.jit.script(torch.nn.Linear(10, 3)), str(ts))
    factory = ["--factory", "mynets.policies:make_policy", "--weights"]
    return {
        "random bytes": ([rnd], "not a zip file"),
        "truncated SB3 zip": ([truncated], "not a zip file"),
        "zip that is not SB3": ([notsb3], "neither a TorchScript archive nor a Stable-Baselines3 model"),
        "state_dict that does not fit": ([*factory, wrong], "does not fit the network"),
        "pickled module as weights": ([*factory, pickled], "weights_only=True"),
        "random bytes as weights": ([*factory, rnd], "not a file torch.load can read"),
        "unknown factory module": (["--factory", "nope.nets:make", "--weights", wrong], "cannot import nope"),
        "factory without function": (["--factory", "mynets.policies:nothing"], "has no function nothing"),
        "TorchScript vs --obs-shape": ([ts, "--obs-shape", "7"], "does not run on observations of shape [1, 7]"),
        "SB3 vs --obs-shape": ([sb3_zip, "--obs-shape", "5"], "not --obs-shape [5]"),
        "bad --factory-args": (["--factory", "mynets.policies:make_policy", "--factory-args", "{x"], "not JSON"),
    }


CASES = [
    "random bytes",
    "truncated SB3 zip",
    "zip that is not SB3",
    "state_dict that does not fit",
    "pickled module as weights",
    "random bytes as weights",
    "unknown factory module",
    "factory without function",
    "TorchScript vs --obs-shape",
    "SB3 vs --obs-shape",
    "bad --factory-args",
]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(case, tmp_path, factory_pkg, sb3_models, cli):
    args, message = _bad_cases(tmp_path, factory_pkg, sb3_models["ppo-cartpole"])[case]
    outdir = tmp_path / "out"
    outdir.mkdir()
    r = cli("export", *args, "-o", outdir / "policy.onnx")
    assert r.code == 2, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("edgeperf: error: ") and "Traceback" not in r.err
    assert message in r.err
    assert list(outdir.iterdir()) == []


def test_state_dict_mismatch_names_the_layers(factory_pkg, tmp_path):
    wrong = tmp_path / "wrong.pt"
    torch.save({"net.0.weight": torch.zeros(64, 10), "extra.bias": torch.zeros(3)}, str(wrong))
    with pytest.raises(BadInput) as info:
        export(None, tmp_path / "x.onnx", factory="mynets.policies:make_policy", weights=str(wrong))
    msg = str(info.value)
    assert "net.0.weight is [64, 10] in the file, [32, 10] in the network" in msg
    assert "missing from the file: net.0.bias" in msg and "not in the network: extra.bias" in msg


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing-dir/p.onnx", "does not exist"),
        ("a-file/p.onnx", "is not a directory"),
        ("somedir", "is a directory"),
        ("p.tflite", "cannot tell the format"),
    ],
)
def test_unwritable_or_unclear_output_is_exit_2(out, message, tmp_path, cli):
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "somedir").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    r = cli("export", "example:mlp", "-o", tmp_path / out)
    assert r.code == 2 and message in r.err and len(r.err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.skipif(sys.platform != "linux", reason="uses /proc, a filesystem nobody can create files in")
def test_output_in_an_unwritable_directory_is_exit_2(cli):
    r = cli("export", "example:mlp", "-o", "/proc/edgeperf-test-policy.onnx")
    assert r.code == 2 and "cannot write /proc/edgeperf-test-policy.onnx" in r.err


def test_read_only_directory_as_a_normal_user(tmp_path, cli):
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes into read-only directories; the /proc test covers this case")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        r = cli("export", "example:mlp", "-o", ro / "p.onnx")
        assert r.code == 2 and "no permission" in r.err and list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_bundled_reference_policy_exports_with_its_domain_spaces(tmp_path):
    pytest.importorskip("edgeperf.domains.references", reason="no bundled reference policies in this tree")
    pytest.importorskip("gymnasium")
    report = export("reference:gym:Pendulum-v1", tmp_path / "pendulum.onnx", parity_samples=128)
    assert report.config["source_kind"] == "reference" and report.results["parity"]["passed"]
    assert report.results["spaces"]["action"] == {"type": "box", "shape": [1], "low": -2.0, "high": 2.0}
    assert report.results["parity"]["observation_source"] == "uniform in the observation space's bounds"
    meta = artifact.decode({p.key: p.value for p in onnx.load(str(tmp_path / "pendulum.onnx")).metadata_props})
    assert meta["control_hz"] == pytest.approx(20.0) and meta["obs_space"]["high"] == [1.0, 1.0, 8.0]
