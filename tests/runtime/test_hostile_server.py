"""A hostile server's WELCOME, answered by a stand-in on loopback: what it says of itself is bounded and escaped
before anything is allocated or printed (found by the hardening pass: a dtype `V1000000000` made hil allocate
~3 GB before refusing; a model name with ANSI escapes reached the host's terminal raw)."""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("zmq")

import zmq

from edgeperf.errors import BadInput
from edgeperf.runtime import wire
from edgeperf.runtime.remote import RemoteSession


def _stand_in(doc: dict | bytes):
    """A ROUTER that answers one HELLO with `doc` as its WELCOME; returns (address, thread)."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.ROUTER)
    port = sock.bind_to_random_port("tcp://127.0.0.1")

    def run():
        try:
            if not sock.poll(5000):
                return
            parts = sock.recv_multipart()
            hello = wire.decode(parts[-1])
            body = doc if isinstance(doc, bytes) else wire.json_body(doc)
            reply = wire.Frame(wire.WELCOME, hello.seq, 7, body=body)
            sock.send_multipart([*parts[:-1], wire.encode(reply)])
            sock.poll(1000)
        finally:
            sock.close(linger=0)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return f"127.0.0.1:{port}", t


def _welcome(**over) -> dict:
    doc = {
        "io": {
            "inputs": [{"name": "obs", "shape": ["batch", 3], "dtype": "float32"}],
            "outputs": [{"name": "action", "shape": ["batch", 1], "dtype": "float32"}],
        },
        "sha256": "ab" * 32,
        "model": "policy.onnx",
    }
    doc.update(over)
    return doc


@pytest.mark.parametrize(
    ("io", "says"),
    [
        ({"inputs": [{"name": "obs", "shape": [1, 3], "dtype": "V1000000000"}]}, "not one the wire carries"),
        ({"inputs": [{"name": "obs", "shape": [100000, 100000], "dtype": "float32"}]}, "larger than a frame"),
        ({"inputs": [{"name": "obs", "shape": [1] * 20, "dtype": "float32"}]}, "shape"),
    ],
)
def test_an_announced_tensor_past_the_caps_is_refused_before_allocation(io, says):
    doc = _welcome()
    doc["io"].update(io)
    address, t = _stand_in(doc)
    with pytest.raises(BadInput, match="malformed WELCOME") as err:
        RemoteSession(address, connect_s=5.0)
    assert says in str(err.value)
    t.join(5)


def test_a_model_name_with_terminal_escapes_is_printed_inert():
    address, t = _stand_in(_welcome(model="\x1b[2J\x1b[31mpwned\x07.onnx", backend="onnx\x1b]0;title\x07runtime"))
    s = RemoteSession(address, connect_s=5.0)
    try:
        assert str(s.path) == "[2J[31mpwned.onnx" and "\x1b" not in str(s.path)
    finally:
        s.close()
    t.join(5)


def test_printable_keeps_text_and_drops_controls():
    assert wire.printable("höhe_joint 1") == "höhe_joint 1"
    assert wire.printable("a\x1b[0mb\rc\x00d\u202e") == "a[0mbcd"
    assert len(wire.printable("x" * 1000)) == 200


def test_a_welcome_that_is_not_json_is_one_line():
    address, t = _stand_in(b"\xff\xfe not json")
    with pytest.raises(BadInput, match="malformed WELCOME"):
        RemoteSession(address, connect_s=5.0)
    t.join(5)
