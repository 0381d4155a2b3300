"""`edgeperf serve --protocol openpi` as a real process, driven by openpi's own client (openpi-client, in the venv
`make test` builds for it) and by edgeperf's: the same actions as the ONNX, metadata on connect, server timing in
every answer; garbage, object arrays, lying shapes and frames over the cap are refused while the server keeps
serving; beyond loopback only with an api key; `hil --connect ws://` gives the same verdict as the ZeroMQ path."""

import json
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("websockets")
pytest.importorskip("msgpack")

import msgpack
from websockets.sync import client as ws_client

from edgeperf.runtime import openpi
from edgeperf.runtime.remote import RemoteError
from edgeperf.runtime.session import Session
from tests.runtime.test_server import no_strays, token_file  # noqa: F401 - fixtures
from tests.runtime.test_server import serve as served

OPENPI_PYTHON = Path(__file__).resolve().parents[2] / ".venv-openpi" / "bin" / "python"


def serve(model, *args):
    return served(model, "--protocol", "openpi", *args)


@pytest.fixture
def server(example_onnx, no_strays):  # noqa: F811
    s = serve(example_onnx)
    yield s
    s.stop()


def _obs(n=None, seed=0, width=None):
    shape = (width,) if n is None else (n, width)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_openpis_own_client_gets_the_onnxs_actions(server, example_onnx):
    """openpi-client's WebsocketClientPolicy, unchanged, in its own venv: metadata on connect, "actions" equal to
    the ONNX's on the same observations (sent as float64 under openpi's key, as its examples do), server timing."""
    if not OPENPI_PYTHON.exists():
        pytest.skip("openpi-client is not installed in .venv-openpi (make test installs it)")
    with Session.open(example_onnx) as local:
        width = local.io.inputs[0].shape[-1]
        obs = np.random.default_rng(0).standard_normal((5, width))
        want = [local.run(o.astype(np.float32)).tolist() for o in obs]
    script = f"""
import json, numpy as np
from openpi_client import websocket_client_policy as w
c = w.WebsocketClientPolicy(host="127.0.0.1", port={server.port})
meta = c.get_server_metadata()
out = []
for o in np.array({obs.tolist()!r}):
    r = c.infer({{"observation/state": o, "prompt": "walk"}})
    out.append({{"actions": r["actions"].tolist(), "infer_ms": r["server_timing"]["infer_ms"]}})
inputs = [i["name"] for i in meta["io"]["inputs"]]
print(json.dumps({{"meta": {{"model": meta["model"], "inputs": inputs}}, "out": out}}))
"""
    done = subprocess.run([str(OPENPI_PYTHON), "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert got["meta"]["model"] == example_onnx.name
    for row, w in zip(got["out"], want, strict=True):
        np.testing.assert_allclose(row["actions"], w, atol=1e-6)
        assert row["infer_ms"] > 0


def test_edgeperfs_client_batches_and_single_observations(server, example_onnx):
    with Session.open(example_onnx) as local, openpi.OpenpiSession.connect(server.address) as remote:
        width = local.io.inputs[0].shape[-1]
        assert [t.name for t in remote.io.inputs] == [t.name for t in local.io.inputs]
        one, batch = _obs(width=width), _obs(4, seed=1, width=width)
        np.testing.assert_allclose(remote.run(one), local.run(one), atol=1e-6)
        np.testing.assert_allclose(remote.run(batch), local.run(batch), atol=1e-6)
        seq = remote.send(one)
        reply = remote.poll(5.0)
        assert reply.seq == seq and reply.outputs["action"].shape == local.run(one).shape
        assert 0 < reply.timing.server_ns <= reply.timing.rtt_ns
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/healthz", timeout=5) as r:
        assert r.status == 200


def _raw(server, *messages, max_size=None):
    """Send messages on a bare websocket; what came back (metadata first), until the server closes or 2 s."""
    got = []
    with ws_client.connect(server.address, max_size=max_size, compression=None) as c:
        got.append(c.recv(timeout=5))
        for m in messages:
            c.send(m)
            try:
                got.append(c.recv(timeout=5))
            except Exception as exc:  # closed by the server
                got.append(exc)
                break
    return got


def _array(dtype: str, shape, data: bytes) -> dict:
    return {"__ndarray__": True, "data": data, "dtype": dtype, "shape": shape}


@pytest.mark.parametrize(
    ("message", "says"),
    [
        (b"\xc1garbage", "not openpi's msgpack-numpy"),
        (msgpack.packb({"obs": _array("|O", [1], b"\0" * 8)}), "not a numeric array"),
        (msgpack.packb({"obs": _array("<f4", [1000], b"\0" * 8)}), "needs 4000 bytes"),
        (msgpack.packb({"obs": _array("<f4", [-1], b"")}), "array shape"),
        (msgpack.packb({"a": _array("<f4", [3], b"\0" * 12), "b": _array("<f4", [3], b"\0" * 12)}), "name them"),
        (msgpack.packb([1, 2, 3]), "a map of arrays"),
        (msgpack.packb({"obs": _array("<f4", [7], b"\0" * 28)}), "has shape [1, 7]"),
    ],
    ids=["garbage", "object-dtype", "short-data", "negative-dim", "unmapped", "not-a-map", "wrong-shape"],
)
def test_bad_observations_are_refused_in_words_and_the_server_keeps_serving(server, example_onnx, message, says):
    got = _raw(server, message)
    assert says in str(got[1])
    with openpi.OpenpiSession.connect(server.address) as remote:  # a fresh client is served as before
        assert np.all(np.isfinite(remote.run(_obs(width=remote.io.inputs[0].shape[-1]))))


def test_a_frame_over_the_cap_is_refused_before_it_is_read(example_onnx, no_strays):  # noqa: F811
    s = serve(example_onnx, "--max-frame", 1 << 20)
    try:
        got = _raw(s, b"\0" * (2 << 20))
        assert isinstance(got[1], Exception)  # closed with 1009 (message too big)
        with openpi.OpenpiSession.connect(s.address) as remote:
            assert remote.run(_obs(width=remote.io.inputs[0].shape[-1])).shape
    finally:
        code, _, err = s.stop()
    assert code == 0
    assert "1 oversized" in err


def test_a_refusal_reaches_edgeperfs_client_as_a_remote_error(server):
    with openpi.OpenpiSession.connect(server.address) as remote:
        with pytest.raises(RemoteError, match="has shape"):
            remote.infer({"obs": np.zeros((1, 99), np.float32)})
        assert remote.run(_obs(width=remote.io.inputs[0].shape[-1])).shape  # the connection is still served


def test_beyond_loopback_only_with_an_api_key(example_onnx, token_file, bad, no_strays):  # noqa: F811
    r = bad(2, "serve", example_onnx, "--protocol", "openpi", "--bind", "0.0.0.0:0")
    assert "needs a shared token" in r.err
    s = serve(example_onnx, "--token-file", token_file)
    try:
        with pytest.raises(Exception, match="api key"):
            openpi.OpenpiSession.connect(s.address, connect_s=5)
        with openpi.OpenpiSession.connect(s.address, token=token_file.read_text()) as remote:
            assert remote.run(_obs(width=remote.io.inputs[0].shape[-1])).shape
    finally:
        s.stop()


def test_hil_over_openpi_is_equivalent_to_sil(tmp_path, cli, no_strays):  # noqa: F811
    model = tmp_path / "pendulum.onnx"
    assert cli("export", "reference:gym:Pendulum-v1", "-o", model, "--no-store").code == 0
    s = serve(model)
    try:
        r = cli("hil", model, "--connect", s.address, "--domain", "gym:Pendulum-v1", "-n", "2", "--mode", "lockstep",
                "--json", tmp_path / "h.json", "--no-store")  # fmt: skip
    finally:
        s.stop()
    assert r.code == 0, r.err
    doc = json.loads((tmp_path / "h.json").read_text())["results"]
    assert doc["paired"]["verdict"] == "equivalent"
    assert doc["link"]["clock_offset_us"] is None and "openpi" in doc["link"]["clock_offset_absent"]
    assert "clock offset not measured" in r.out


def test_msgpack_numpy_round_trip_and_refusals():
    a = np.arange(6, dtype=np.int16).reshape(2, 3)
    back = openpi.unpack(openpi.pack({"a": a, "s": np.float32(1.5), "t": "x"}))
    assert np.array_equal(back["a"], a) and back["a"].dtype == np.int16 and back["s"] == np.float32(1.5)
    with pytest.raises(ValueError, match="cap"):
        openpi.unpack(b"\0" * 100, max_bytes=10)
    with pytest.raises(TypeError):
        openpi.pack({"o": np.array([object()])})
    deep = b"\x91" * 100_000 + b"\x00"  # 100,000 nested one-element arrays
    with pytest.raises(ValueError, match="StackError"):  # msgpack's own depth limit, no RecursionError
        openpi.unpack(deep)


def test_a_new_client_of_a_recurrent_model_starts_from_zero_state(tmp_path, no_strays):  # noqa: F811
    """The server carries a recurrent model's state between one client's observations, and a new connection is a
    new episode: its first answer equals the first client's first answer (without the reset it would carry on)."""
    pytest.importorskip("torch")
    from edgeperf.exporter.onnx import export
    from tests.recurrent_helpers import write_nets

    model = tmp_path / "lstm.onnx"
    export(None, model, factory=f"{write_nets(tmp_path)}:lstm", check=False)
    s = serve(model)
    try:
        width = _width(s)
        obs = [np.full(width, 0.5 * k, np.float32) for k in range(1, 4)]
        with openpi.OpenpiSession.connect(s.address) as first:
            answers = [first.run(o) for o in obs]
            again = first.run(obs[0])
        assert not np.allclose(again, answers[0], atol=1e-6)  # one client's state is carried between its calls
        with openpi.OpenpiSession.connect(s.address) as second:
            np.testing.assert_allclose(second.run(obs[0]), answers[0], atol=1e-6)
    finally:
        s.stop()


def _width(served) -> int:
    with openpi.OpenpiSession.connect(served.address) as c:
        return c.io.inputs[0].shape[-1]
