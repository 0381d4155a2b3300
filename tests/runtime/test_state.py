"""The Session carries a recurrent policy's state between calls on every backend, and reset() zeroes it:
checked against a bare onnxruntime loop that feeds the state back by hand."""

from __future__ import annotations

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.runtime.session import IOSpec, Session, TensorSpec
from edgeperf.runtime.state import guess, parse_pairs
from tests.recurrent_helpers import rsl_torchscript, write_nets

pytest.importorskip("torch")
ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def lstm(tmp_path_factory):
    from edgeperf.exporter.onnx import export

    d = tmp_path_factory.mktemp("state")
    nets = write_nets(d)
    path = d / "lstm.onnx"
    export(None, path, factory=f"{nets}:lstm", check=False)
    return path


def _by_hand(path, obs) -> np.ndarray:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    h = np.zeros((1, 2, 16), np.float32)
    c = h.copy()
    out = []
    for x in obs:
        a, h, c = sess.run(None, {"obs": x[None], "h_in": h, "c_in": c})
        out.append(a[0])
    return np.asarray(out)


OBS = np.random.default_rng(3).uniform(-1, 1, (60, 4)).astype(np.float32)


def test_the_session_feeds_the_state_back_as_a_hand_written_loop_does(lstm):
    want = _by_hand(lstm, OBS)
    with Session.open(lstm) as s:
        got = np.asarray([s.run(x) for x in OBS])
        assert [i.name for i in s.io.inputs] == ["obs"]  # what a stateless caller feeds
        assert [o.name for o in s.io.outputs] == ["action"]
        assert [(st.input, st.output, st.shape) for st in s.io.state] == [
            ("h_in", "h_out", (2, 16)),
            ("c_in", "c_out", (2, 16)),
        ]
    np.testing.assert_allclose(got, want, atol=1e-6)
    assert np.abs(want[-1] - _by_hand(lstm, OBS[-1:])[0]).max() > 1e-4  # the memory matters for this policy


def test_reset_zeroes_the_state(lstm):
    with Session.open(lstm) as s:
        first = s.run(OBS[0])
        for x in OBS[1:20]:
            s.run(x)
        assert np.abs(s.state["h_in"]).max() > 0
        s.reset()
        assert s.state is None
        np.testing.assert_array_equal(s.run(OBS[0]), first)


def test_a_batch_carries_one_state_per_row_and_another_batch_size_needs_a_reset(lstm):
    with Session.open(lstm) as s:
        batch = np.stack([OBS[:10], OBS[10:20]], axis=1)  # two sequences side by side
        got = np.asarray([s.run(b) for b in batch])
        with pytest.raises(BadInput, match="reset"):
            s.run(OBS[:3])
        s.reset()
        assert s.run(OBS[:3]).shape == (3, 2)
    np.testing.assert_allclose(got[:, 1], _by_hand(lstm, OBS[10:20]), atol=1e-6)


def test_openvino_carries_the_state_the_same_way(tmp_path):
    pytest.importorskip("openvino")
    from edgeperf.exporter.onnx import export

    nets = write_nets(tmp_path)
    export(None, tmp_path / "l.onnx", factory=f"{nets}:lstm", check=False)
    export(None, tmp_path / "l.xml", factory=f"{nets}:lstm", check=False)
    with Session.open(tmp_path / "l.xml") as s:
        assert s.backend == "openvino" and s.io.state
        got = np.asarray([s.run(x) for x in OBS])
        s.reset()
        again = s.run(OBS[0])
    np.testing.assert_allclose(got, _by_hand(tmp_path / "l.onnx", OBS), atol=1e-5)
    np.testing.assert_allclose(again, got[0], atol=1e-6)


def test_torch_backend_runs_an_rsl_rl_torchscript_file_and_reset_zeroes_its_buffers(tmp_path):
    import torch

    pt = rsl_torchscript(tmp_path)
    module = torch.jit.load(str(pt))
    with torch.no_grad():
        want = np.asarray([module(torch.from_numpy(x[None]))[0].numpy() for x in OBS[:20]])
    with Session.open(pt, threads=1) as s:
        assert s.backend == "torch"
        assert [st.input for st in s.io.state] == ["hidden_state", "cell_state"]
        got = np.asarray([s.run(x) for x in OBS[:20]])
        s.reset()
        np.testing.assert_allclose(s.run(OBS[0]), want[0], atol=1e-6)
    np.testing.assert_allclose(got, want, atol=1e-6)


def test_an_onnx_without_state_metadata_is_refused_naming_the_inputs_or_opened_with_them_named(lstm, tmp_path):
    import onnx

    model = onnx.load(str(lstm))
    del model.metadata_props[:]
    bare = tmp_path / "bare.onnx"
    onnx.save(model, str(bare))
    with pytest.raises(
        BadInput, match=r"\['h_in', 'c_in'\] that look like recurrent state.*--state h_in:h_out,c_in:c_out"
    ):
        Session.open(bare)
    with Session.open(bare, state="h_in:h_out,c_in:c_out") as s:
        np.testing.assert_allclose(np.asarray([s.run(x) for x in OBS]), _by_hand(lstm, OBS), atol=1e-6)
    with pytest.raises(BadInput, match="names input 'hx'"):
        Session.open(bare, state="hx:h_out")


def _io(inputs, outputs):
    return IOSpec(
        tuple(TensorSpec(n, s, "float32") for n, s in inputs),
        tuple(TensorSpec(n, s, "float32") for n, s in outputs),
        {},
    )


def test_what_looks_like_state():
    # rsl_rl's ONNX names, fixed shapes
    assert guess(
        _io(
            [("obs", (1, 48)), ("h_in", (1, 1, 256)), ("c_in", (1, 1, 256))],
            [("actions", (1, 12)), ("h_out", (1, 1, 256)), ("c_out", (1, 1, 256))],
        )
    ) == ["h_in", "c_in"]
    # an unusual name, found by its shape matching an output's
    assert guess(_io([("obs", (None, 8)), ("z", (None, 3, 5))], [("action", (None, 2)), ("z2", (None, 3, 5))])) == ["z"]
    # several observation inputs (image + vector; LeRobot's names) are not state, with one output or more
    assert guess(_io([("image", (None, 3, 64, 64)), ("proprio", (None, 12))], [("action", (None, 2))])) == []
    lerobot = [("observation.image", (None, 3, 96, 96)), ("observation.state", (None, 14))]
    assert guess(_io(lerobot, [("action", (None, 14))])) == []
    assert guess(_io(lerobot, [("action", (None, 14)), ("value", (None, 1))])) == []
    assert guess(_io([("obs", (None, 8)), ("state_in", (None, 4))], [("a", (None, 2)), ("state_out", (None, 4))])) == [
        "state_in"
    ]
    assert guess(_io([("obs", (None, 8))], [("action", (None, 2))])) == []


def test_state_option_parsing():
    assert parse_pairs("h_in:h_out, c_in:c_out") == {"h_in": "h_out", "c_in": "c_out"}
    assert parse_pairs(None) is None
    for bad in ("h_in", "h_in:", ":h_out", "h_in:h_out,c_in"):
        with pytest.raises(BadInput, match="IN:OUT"):
            parse_pairs(bad)


def test_tensorrt_carries_the_state_by_the_same_code_path(monkeypatch, tmp_path):
    """An engine built from a recurrent export (state inputs profiled over the batch too), run on the recording
    stand-in of TensorRT and CUDA (tests/exporter/fake_tensorrt.py: the engine runs the parsed ONNX)."""
    from edgeperf.exporter.onnx import export
    from tests.exporter import fake_tensorrt

    fake_tensorrt.install(monkeypatch)
    nets = write_nets(tmp_path)
    export(None, tmp_path / "l.onnx", factory=f"{nets}:lstm", check=False)
    report = export(None, tmp_path / "l.engine", factory=f"{nets}:lstm", check=False, max_batch=4)
    profiles = report.results["tensorrt"]["settings"]["state_profiles"]
    assert [(p["input"], p["max"]) for p in profiles] == [("h_in", [4, 2, 16]), ("c_in", [4, 2, 16])]
    cuda = fake_tensorrt.FakeCuda()
    with Session.open(tmp_path / "l.engine", cuda=cuda) as s:
        assert s.backend == "tensorrt" and [st.input for st in s.io.state] == ["h_in", "c_in"]
        got = np.asarray([s.run(x) for x in OBS])
        s.reset()
        again = s.run(OBS[0])
    np.testing.assert_allclose(got, _by_hand(tmp_path / "l.onnx", OBS), atol=1e-6)
    np.testing.assert_allclose(again, got[0], atol=1e-6)
    assert cuda.live == {}


def test_profile_times_steps_that_feed_the_state_back(lstm):
    from edgeperf.profilers.run import run_profile

    with Session.open(lstm) as s:
        report = run_profile(s, iterations=50, duration=0, warmup=5, power="off").report
        carried = s.state  # what the timed steps left: the state the last one returned
    assert report.results["recurrent_state"]["state"][0]["input"] == "h_in"
    assert carried is not None and np.abs(carried["h_in"]).max() > 0
    assert [i["name"] for i in report.model.inputs] == ["obs"]


def test_a_served_recurrent_artifact_carries_its_state_on_the_server_and_resets_over_the_wire(lstm):
    """`edgeperf serve` as a real process: the server's Session carries the state, RESET zeroes it."""
    pytest.importorskip("zmq")
    from edgeperf.runtime.remote import RemoteSession
    from tests.runtime.test_server import serve

    srv = serve(lstm)
    try:
        with RemoteSession.connect(srv.host_port) as r:
            got = np.asarray([r.run(x) for x in OBS[:30]])
            r.reset()
            again = r.run(OBS[0])
    finally:
        srv.stop()
    np.testing.assert_allclose(got, _by_hand(lstm, OBS[:30]), atol=1e-6)
    np.testing.assert_allclose(again, got[0], atol=1e-6)
