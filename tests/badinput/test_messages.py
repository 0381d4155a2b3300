"""Messages that misled (issue 24): each says what is really wrong, in one line with the documented exit code.

- a client without the server's token was asked whether the server runs at all;
- a TorchScript policy's outputs by name (a dict, a namedtuple) were called 'action' and 'logits', or a traceback;
- a run id that cannot be one (not UTF-8, empty) was a traceback;
- `workers = 0` meaning "the default" in a sweep: tests/badinput/test_sweep_inputs.py.
"""

from __future__ import annotations

import json
import socket

import numpy as np
import pytest

from edgeperf.errors import HardwareMissing
from edgeperf.runtime.remote import RemoteSession
from tests.runtime.test_server import TOKEN, no_strays, serve  # noqa: F401 - the fixture, used by name


@pytest.fixture
def token_file(tmp_path):
    p = tmp_path / "token"
    p.write_text(TOKEN)
    p.chmod(0o600)
    return p


@pytest.fixture
def pendulum_onnx(tmp_path):
    """A policy of gym:Pendulum-v1's shapes (3 observations, 1 action), made without an export."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.full((3, 1), 0.1, np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["mu"])],
        "g",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["b", 3])],
        [helper.make_tensor_value_info("mu", TensorProto.FLOAT, ["b", 1])],
        [w],
    )
    path = tmp_path / "pendulum.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    return path


@pytest.mark.usefixtures("no_strays")
def test_a_client_without_the_servers_token_is_told_about_the_token(bad, pendulum_onnx, token_file):
    srv = serve(pendulum_onnx, "--token-file", token_file)
    try:
        # hil without --token-file: the server drops its frames unanswered, by design.
        r = bad(3, "hil", "--domain", "gym:Pendulum-v1", "--connect", srv.host_port, "--connect-timeout", "0.5")
        assert "took the connection but answered nothing" in r.err
        assert "answers only a client with its token; give the same file with --token-file" in r.err
        with pytest.raises(HardwareMissing, match="was it started with this same token"):
            RemoteSession.connect(srv.host_port, token="another-token-of-some-length-0123", connect_s=0.5)
        with RemoteSession.connect(srv.host_port, token=TOKEN) as r:  # the right one is served
            assert r.run(np.zeros(3, np.float32)).shape == (1,)
    finally:
        srv.stop()


def test_nothing_listening_is_not_called_a_token_problem():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(HardwareMissing, match="is `edgeperf serve` running there, and reachable") as e:
        RemoteSession.connect(f"127.0.0.1:{port}", connect_s=0.3)
    assert "token" not in str(e.value)


def _torchscript(tmp_path):
    pytest.importorskip("torch")
    from tests.badinput.named_outputs import save

    return save(tmp_path)


@pytest.mark.parametrize("kind", ["dict", "namedtuple"])
def test_a_torchscript_policys_outputs_keep_their_own_names(tmp_path, cli, kind):
    from edgeperf.runtime.session import Session

    path = _torchscript(tmp_path)[kind]
    with Session.open(path) as s:
        assert [o.name for o in s.io.outputs] == ["mu", "value"]  # were 'action' and 'logits' (or a traceback)
        out = s.run_all(np.ones(3, np.float32))
        np.testing.assert_allclose(out["value"], 2 * out["mu"], rtol=1e-6)
        np.testing.assert_array_equal(s.run(np.ones(3, np.float32)), out["mu"])  # the action is the first
    report = tmp_path / "p.json"
    r = cli("profile", path, "-n", "20", "--duration", "0", "--warmup", "2", "--no-power", "--json", report,
            "--no-store")  # fmt: skip
    assert r.code == 0, r.err
    assert [o["name"] for o in json.loads(report.read_text())["model"]["outputs"]] == ["mu", "value"]


def test_a_torchscript_policy_with_outputs_that_are_not_tensors_is_one_line(tmp_path, bad):
    r = bad(2, "profile", _torchscript(tmp_path)["nested"], "-n", "20", "--duration", "0", "--no-power", "--no-store")
    assert "nested.pt returns tuple among its outputs; a policy returns tensors" in r.err


@pytest.fixture
def store(tmp_path):
    from edgeperf.results.store import Store

    path = tmp_path / "runs.db"
    Store.open(path).close()
    return path


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["compare", "\udcff", "abc"], "run id '\\udcff' is not UTF-8 text, so no run has it"),
        (["history", "--export", "ab\udcff"], "run id 'ab\\udcff' is not UTF-8 text"),
        (["history", "--model", "\udcff.onnx"], "--model '\\udcff.onnx' is not UTF-8 text"),
        (["history", "--device", "\udcff"], "--device '\\udcff' is not UTF-8 text"),
        (["compare", "", "abc"], "the run id is empty"),
        (["report", "", "-o", "r.html"], "the run id is empty"),
        (["check", "--budget", "b.toml", ""], "the run id is empty"),
    ],
)
def test_run_ids_that_cannot_be_one_are_said_so(bad, store, tmp_path, monkeypatch, args, says):
    """Each was a traceback: UnicodeEncodeError from SQLite's binding, ValueError from Path('').with_name."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "b.toml").write_text("[profile]\np99_us = 5\n")
    r = bad(2, *args, "--db", store)
    assert says in r.err
