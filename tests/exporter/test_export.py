"""Real torch export, real onnxruntime: the example policy and a TorchScript file, parity and its failure."""

import json
import zipfile

import numpy as np
import onnx
import pytest

from edgeperf.errors import BadInput
from edgeperf.exporter import parity as parity_mod
from edgeperf.exporter.onnx import export
from edgeperf.runtime.session import Session

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def torchscript_policy(tmp_path_factory):
    net = torch.nn.Sequential(torch.nn.Linear(10, 32), torch.nn.Tanh(), torch.nn.Linear(32, 3)).eval()
    path = tmp_path_factory.mktemp("ts") / "policy_1.pt"
    torch.jit.save(torch.jit.script(net), str(path))
    return path, net


def test_example_exports_to_a_single_checked_file(example_onnx):
    model = onnx.load(str(example_onnx))
    onnx.checker.check_model(model, full_check=True)
    assert not list(example_onnx.parent.glob("*.data"))  # self-contained: no external weights file
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_value == 48  # dynamic batch axis


def test_torchscript_source_exports_with_parity(torchscript_policy, tmp_path, cli):
    path, net = torchscript_policy
    out = tmp_path / "ts.onnx"
    r = cli("export", path, "-o", out, "--json", tmp_path / "export.json")
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "export.json").read_text())
    assert doc["schema"] == "edgeperf.export/1"
    par = doc["results"]["parity"]
    assert par["passed"] and par["max_abs_error"] < 1e-5 and len(par["max_abs_error_per_dim"]) == 3
    assert doc["config"]["obs_shape"] == [10]
    assert any("inferred" in w for w in doc["warnings"])
    assert doc["results"]["source_sha256"] and doc["model"]["sha256"]
    obs = np.random.default_rng(1).standard_normal((4, 10)).astype(np.float32)
    with Session.open(out) as s, torch.no_grad():
        np.testing.assert_allclose(s.run(obs), net(torch.from_numpy(obs)).numpy(), atol=1e-5)


def test_damaged_artifact_fails_parity(torchscript_policy, tmp_path):
    from edgeperf.exporter import sources

    path, _ = torchscript_policy
    out = tmp_path / "ok.onnx"
    export(str(path), out)
    model = onnx.load(str(out))
    init = max(model.graph.initializer, key=lambda t: np.prod(t.dims))
    w = onnx.numpy_helper.to_array(init) * 1.01  # one weight matrix scaled by 1%
    init.CopyFrom(onnx.numpy_helper.from_array(w.astype(np.float32), init.name))
    damaged = tmp_path / "damaged.onnx"
    onnx.save(model, str(damaged))
    result = parity_mod.parity(sources.load(str(path)), damaged, "fp32", n=64)
    assert not result["passed"] and result["elements_out_of_tolerance"] > 0


def test_parity_failure_exits_1_and_keeps_report(monkeypatch, tmp_path, cli, torchscript_policy):
    monkeypatch.setitem(parity_mod.TOLERANCES, "fp32", (0.0, 0.0))  # no kernel reordering tolerated at all
    out = tmp_path / "p.onnx"
    r = cli("export", torchscript_policy[0], "-o", out, "--json", tmp_path / "e.json")
    assert r.code == 1
    assert "parity failed" in r.err and "Traceback" not in r.err
    assert json.loads((tmp_path / "e.json").read_text())["results"]["parity"]["passed"] is False


def _bad_sources(tmp_path):
    rnd = tmp_path / "random.pt"
    rnd.write_bytes(np.random.default_rng(0).bytes(4096))
    state = tmp_path / "state_dict.pt"
    torch.save(torch.nn.Linear(4, 2).state_dict(), str(state))
    junkzip = tmp_path / "junk.pt"
    with zipfile.ZipFile(junkzip, "w") as z:
        z.writestr("hello.txt", "not a model")
    return {
        "random bytes": (rnd, "not a TorchScript archive"),
        "a state_dict": (state, "torch.save() file"),
        "a foreign zip": (junkzip, "neither a TorchScript archive nor a Stable-Baselines3 model"),
        "missing": (tmp_path / "missing.pt", "does not exist"),
        "a directory": (tmp_path, "is a directory"),
    }


@pytest.mark.parametrize("case", ["random bytes", "a state_dict", "a foreign zip", "missing", "a directory"])
def test_bad_sources_are_one_line_exit_2_and_write_nothing(case, tmp_path, cli):
    src, message = _bad_sources(tmp_path)[case]
    out = tmp_path / "out" / "p.onnx"
    out.parent.mkdir()
    r = cli("export", src, "-o", out)
    assert r.code == 2
    assert message in r.err and len(r.err.strip().splitlines()) == 1
    assert list(out.parent.iterdir()) == []


def test_truncated_torchscript_is_bad_input(torchscript_policy, tmp_path):
    cut = tmp_path / "cut.pt"
    cut.write_bytes(torchscript_policy[0].read_bytes()[:600])
    with pytest.raises(BadInput):
        export(str(cut), tmp_path / "x.onnx")


def test_wrong_obs_shape_is_bad_input(torchscript_policy, tmp_path):
    with pytest.raises(BadInput, match="does not run on observations of shape"):
        export(str(torchscript_policy[0]), tmp_path / "x.onnx", obs_shape=(7,))
    assert not list(tmp_path.glob("*.onnx"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--format", "tflite"], "--format tflite"),
        (["--precision", "int4"], "--precision int4"),
        (["--opset", "5"], "--opset 5"),
        (["--obs-shape", "abc"], "not a shape"),
    ],
)
def test_bad_options(args, message, tmp_path, cli):
    r = cli("export", "example:mlp", "-o", tmp_path / "x.onnx", *args)
    assert r.code == 2 and message in r.err
