"""`edgeperf serve` as a real process on 127.0.0.1 and RemoteSession against it: the same outputs as a local
session, refusals named, hostile frames dropped and counted while the right client keeps being served, timeouts
that leave the session usable, and a server killed with SIGKILL survived."""

import os
import random
import re
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import psutil
import pytest

from edgeperf.runtime import wire
from edgeperf.runtime.link import Link
from edgeperf.runtime.remote import LinkTimeout, ModelChanged, ProtocolMismatch, RemoteError, RemoteSession, SessionLost
from edgeperf.runtime.session import Session

zmq = pytest.importorskip("zmq")
TOKEN = "a-shared-token-of-some-length-0123456789"


class Served:
    def __init__(self, proc, address, banner):
        self.proc, self.address, self.banner = proc, address, banner
        self.host_port = address.removeprefix("tcp://")
        self.port = int(address.rsplit(":", 1)[1])

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, out, err


def serve(model, *args, bind="127.0.0.1:0"):
    """Start `edgeperf serve` and wait for its banner (the address it actually listens on)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "serve", str(model), "--bind", bind, *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stdout.readline()
    m = re.search(r" at ((?:tcp|ws)://\S+),", line)  # ZeroMQ, or --protocol openpi's websocket
    if not m:
        proc.kill()
        raise AssertionError(f"no banner: {line!r} {proc.communicate(timeout=10)}")
    return Served(proc, m.group(1), line)


@pytest.fixture
def no_strays():
    """No server process outlives a test."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.status() != "zombie"]
        if not left:
            return
        time.sleep(0.1)
    for p in left:
        p.kill()
    raise AssertionError(f"stray processes: {[p.cmdline() for p in left]}")


@pytest.fixture
def server(example_onnx, no_strays):
    s = serve(example_onnx)
    yield s
    s.stop()


@pytest.fixture
def token_file(tmp_path):
    p = tmp_path / "token"
    p.write_text(TOKEN)
    p.chmod(0o600)
    return p


def raw(address):
    """A bare DEALER, for frames no edgeperf client would send."""
    ctx = zmq.Context.instance()
    s = ctx.socket(zmq.DEALER)
    s.linger = 0
    s.connect(address)
    return s


def recv(sock, timeout_ms=2000, token=None):
    return wire.decode(sock.recv(), token) if sock.poll(timeout_ms) else None


def obs_of(session, n=None, seed=0):
    width = session.io.inputs[0].shape[-1]
    shape = (width,) if n is None else (n, width)
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_handshake_and_outputs_equal_a_local_session(server, example_onnx):
    local = Session.open(example_onnx)
    with RemoteSession.connect(server.host_port) as r:
        assert r.io.inputs == local.io.inputs and r.io.outputs == local.io.outputs
        assert r.io.metadata == local.io.metadata
        assert r.server["backend"] == "onnxruntime" and r.server["protocol"] == wire.PROTOCOL
        from edgeperf.results.report import sha256_file

        assert r.sha256 == sha256_file(example_onnx)
        for seed in range(20):
            o = obs_of(r, seed=seed)
            np.testing.assert_array_equal(r.run(o), local.run(o))
            batch = obs_of(r, 5, seed)
            assert r.run_all(batch).keys() == local.run_all(batch).keys()
            np.testing.assert_array_equal(r.run_all(batch)["action"], local.run_all(batch)["action"])
        r.reset()
        t = r.last
        assert t.rtt_ns > t.server_ns > t.infer_ns > 0 and t.network_ns > 0
        # Same machine, same monotonic clock: the NTP estimate is within its own error bound, rtt / 2.
        assert abs(t.offset_ns) <= t.rtt_ns / 2
        assert r.server_stats()["requests"] == 60


def test_async_send_and_poll_keep_sequence_numbers(server):
    with RemoteSession.connect(server.host_port) as r:
        seqs = [r.send(obs_of(r, seed=i)) for i in range(5)]
        got = [r.poll(2.0) for _ in seqs]
        assert [g.seq for g in got] == seqs
        np.testing.assert_array_equal(got[3].outputs["action"], r.run(obs_of(r, seed=3)))
        assert r.poll(0.05) is None
        r.cancel(r.send(obs_of(r)))  # given up on: its reply is dropped, counted as late
        assert r.poll(0.3) is None and r.stats["late"] == 1


@pytest.mark.parametrize("busy", [False, True])
def test_poll_waits_until_its_deadline_and_no_longer(server, busy):
    # busy (hil's realtime loop) spins instead of sleeping in ZeroMQ: the same replies, the same deadline.
    with RemoteSession.connect(server.host_port) as r:
        seq = r.send(obs_of(r, seed=1))
        assert r.poll(2.0, busy=busy).seq == seq
        t0 = time.perf_counter()
        assert r.poll(0.05, busy=busy) is None
        assert 0.045 <= time.perf_counter() - t0 < 0.5  # ZeroMQ counts whole milliseconds


def test_shape_and_dtype_mismatches_are_refused_naming_them(server):
    with RemoteSession.connect(server.host_port) as r:
        for arrays, words in [
            ({"obs": np.zeros((1, 47), np.float32)}, "shape [1, 47], the model expects ['batch', 48]"),
            ({"obs": np.zeros((1, 48), np.float64)}, "dtype float64, the model expects float32"),
            ({"x": np.zeros((1, 48), np.float32)}, "inputs are ['obs'], the request has ['x']"),
        ]:
            seq = r.send_prepared(arrays)  # past the client's own checks, as foreign robot code would send
            with pytest.raises(RemoteError, match=re.escape(words)):
                r.poll(2.0)
            assert seq
        assert r.run(obs_of(r)).shape == (12,)  # still served


def test_a_client_of_another_protocol_version_is_refused_naming_both(server):
    s = raw(server.address)
    s.send(wire.encode(wire.Frame(wire.HELLO, 1, version=2, body=b'{"protocol": 2}')))
    f = recv(s)
    assert f.type == wire.ERROR and f.version == wire.PROTOCOL
    assert "protocol 2, this server speaks 1" in f.json()["error"] and f.json()["code"] == "protocol"
    s.send(wire.encode(wire.Frame(wire.HELLO, 1, body=b'{"protocol": 9}')))
    assert "protocol 9, this server speaks 1" in recv(s).json()["error"]
    s.close()


def test_protocol_mismatch_raised_by_the_client(server, monkeypatch):
    monkeypatch.setattr(wire, "PROTOCOL", 7)
    with pytest.raises(ProtocolMismatch, match="protocol 7, this server speaks 1"):
        RemoteSession.connect(server.host_port)


def test_a_req_socket_is_served_too(server):
    # Robot code in any language with a plain REQ socket speaks the protocol.
    s = zmq.Context.instance().socket(zmq.REQ)
    s.linger = 0
    s.connect(server.address)
    s.send(wire.encode(wire.Frame(wire.HELLO, 1, body=wire.json_body({"protocol": 1}))))
    assert s.poll(2000)
    welcome = wire.decode(s.recv())
    body = wire.encode_arrays({"obs": np.zeros((1, 48), np.float32)})
    s.send(wire.encode(wire.Frame(wire.INFER, 2, welcome.session, body=body)))
    assert s.poll(2000)
    assert wire.decode(s.recv()).arrays["action"].shape == (1, 12)
    s.close()


def test_wrong_token_gets_nothing_and_the_right_one_is_served(example_onnx, token_file, no_strays):
    srv = serve(example_onnx, "--token-file", token_file)
    try:
        with pytest.raises(Exception, match="no edgeperf server answered"):
            RemoteSession.connect(srv.host_port, token="the-wrong-token-0123456789", connect_s=0.5)
        with pytest.raises(Exception, match="no edgeperf server answered"):
            RemoteSession.connect(srv.host_port, connect_s=0.5)  # no token at all
        with RemoteSession.connect(srv.host_port, token=TOKEN) as r:
            assert r.run(obs_of(r)).shape == (12,)
            st = r.server_stats()
            assert st["dropped"]["unauthenticated"] == 2 and st["sessions"] == 1
            # A captured request sent again is a replay: dropped without an answer.
            s = raw(srv.address)
            body = wire.encode_arrays({"obs": np.zeros((1, 48), np.float32)})
            frame = wire.encode(wire.Frame(wire.INFER, r._seq + 100, r._session, body=body), r.token)
            r._seq += 100  # the session's sequence has moved past the injected request
            s.send(frame)
            assert recv(s, token=r.token).type == wire.ACTION
            s.send(frame)
            assert recv(s, 300, r.token) is None
            assert r.server_stats()["dropped"]["replayed"] == 1
            s.close()
    finally:
        code, _, err = srv.stop()
    assert code == 0 and "stopped by SIGTERM" in err


def _hostile_frames(n, seed):
    rng = random.Random(seed)
    body = wire.encode_arrays({"obs": np.zeros((1, 48), np.float32)})
    good = [
        wire.encode(wire.Frame(wire.INFER, 5, 1, body=body)),
        wire.encode(wire.Frame(wire.HELLO, 1, body=b'{"protocol":1}')),
    ]
    for i in range(n):
        kind = i % 4
        if kind == 0:  # random bytes
            yield bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 200)))
        elif kind == 1:  # truncated
            g = rng.choice(good)
            yield g[: rng.randrange(len(g))]
        elif kind == 2:  # mutated
            g = bytearray(rng.choice(good))
            for _ in range(rng.randrange(1, 4)):
                g[rng.randrange(len(g))] = rng.getrandbits(8)
            yield bytes(g)
        else:  # a valid header that lies about its body
            g = bytearray(good[0])
            g[56:60] = rng.getrandbits(32).to_bytes(4, "little")
            yield bytes(g)


def _fuzz(server, n):
    s = raw(server.address)
    for i, frame in enumerate(_hostile_frames(n, seed=n)):
        s.send(frame)
        if i % 500 == 0:  # keep the queue short; answers to lucky frames are read and ignored
            while s.poll(0):
                s.recv()
    s.send(b"")  # an empty message
    s.send_multipart([b"a", b"b", b"c"])  # several frames in one message
    return s


def test_hostile_frames_are_dropped_and_counted_and_the_server_keeps_serving(server, example_onnx):
    s = _fuzz(server, 3000)
    local = Session.open(example_onnx)
    with RemoteSession.connect(server.host_port, timeout_s=30) as r:
        deadline = time.monotonic() + 60
        while (st := r.server_stats())["frames"] < 3002 and time.monotonic() < deadline:
            time.sleep(0.1)
        o = obs_of(r)
        np.testing.assert_array_equal(r.run(o), local.run(o))
    assert st["frames"] >= 3002, st  # every frame was read, none crashed the server
    # About 3/4 of them cannot parse (random, truncated, lying about their length); mutated ones may.
    assert st["dropped"]["malformed"] >= 1500, st
    assert server.proc.poll() is None
    s.close()


def test_bodies_mutated_under_a_valid_session_never_crash_the_server(server, example_onnx):
    """Frames that pass the header and session checks and carry lying bodies: a shape whose element count wraps
    in int64 ((65536,) * 4 "fits" 0 bytes), JSON nested past the interpreter's stack, random body bytes."""
    s = raw(server.address)
    s.send(wire.encode(wire.Frame(wire.HELLO, 1, body=b'{"protocol":1}')))
    session = recv(s).session
    good = bytearray(wire.encode_arrays({"obs": np.zeros((1, 48), np.float32)}))
    wrap = (1).to_bytes(2, "little") + b"\x03obs" + bytes([1, 4]) + (65536).to_bytes(4, "little") * 4 + bytes(4)
    bodies = [wrap, b"[" * 200_000 + b"]" * 200_000]
    rng = random.Random(0)
    for _ in range(2000):
        b = bytearray(good)
        for _ in range(rng.randrange(1, 5)):
            b[rng.randrange(len(b))] = rng.getrandbits(8)
        bodies.append(bytes(b))
    for seq, body in enumerate(bodies, start=2):
        kind = wire.HELLO if body.startswith(b"[") else wire.INFER
        s.send(wire.encode(wire.Frame(kind, seq, session, body=body)))
        if seq % 200 == 0:
            while s.poll(0):
                s.recv()
    s.send(wire.encode(wire.Frame(wire.STATS, len(bodies) + 2, session)))  # answered after every frame above
    assert recv(s, timeout_ms=60_000) is not None and server.proc.poll() is None, server.stop()
    local = Session.open(example_onnx)
    with RemoteSession.connect(server.host_port, timeout_s=30) as r:
        deadline = time.monotonic() + 60
        while r.server_stats()["frames"] < len(bodies) + 1 and time.monotonic() < deadline:
            time.sleep(0.1)
        o = obs_of(r)
        np.testing.assert_array_equal(r.run(o), local.run(o))
    assert server.proc.poll() is None, server.stop()
    s.close()


@pytest.mark.slow
def test_100k_hostile_frames_no_crash_no_growth(server, example_onnx):
    proc = psutil.Process(server.proc.pid)

    def flood(n, r):
        goal = r.server_stats()["frames"] + n
        s = _fuzz(server, n)
        deadline = time.monotonic() + 240
        while r.server_stats()["frames"] < goal and time.monotonic() < deadline:
            time.sleep(0.2)
        s.close()  # only once all was read (linger 0 would drop what is queued)

    with RemoteSession.connect(server.host_port, timeout_s=30) as r:
        flood(2000, r)  # allocator warm-up
        r.run(obs_of(r))
        rss0 = proc.memory_info().rss
        flood(100_000, r)
        o = obs_of(r)
        np.testing.assert_array_equal(r.run(o), Session.open(example_onnx).run(o))
        st = r.server_stats()
        growth = proc.memory_info().rss - rss0
    assert st["frames"] > 102_000 and st["dropped"]["malformed"] > 70_000, st
    assert growth < 10 << 20, f"RSS grew by {growth / 2**20:.1f} MiB"


def test_oversized_frames_are_refused_and_counted(example_onnx, no_strays):
    srv = serve(example_onnx, "--max-frame", 4096)
    try:
        s = raw(srv.address)
        s.send(wire.encode(wire.Frame(wire.INFER, 1, 1, body=b"\0" * 10_000)))
        assert recv(s, 300) is None
        with RemoteSession.connect(srv.host_port) as r:
            assert r.run(obs_of(r)).shape == (12,)
            deadline = time.monotonic() + 5
            while r.server_stats()["disconnects"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert r.server_stats()["disconnects"] >= 1  # ZeroMQ cut the sender off
        s.close()
    finally:
        srv.stop()


def test_timeout_raises_link_timeout_then_the_next_call_works_and_the_late_reply_is_dropped(server):
    # A link that delays every chunk by 60 ms each way: a 50 ms deadline cannot be met.
    host, port = wire.parse_address(server.host_port)
    with Link("127.0.0.1:0", f"{host}:{port}", delay_ms=60) as link:
        r = RemoteSession.connect(link.address, timeout_s=0.05)
        try:
            with pytest.raises(LinkTimeout, match=r"no reply .* within 50 ms"):
                r.run(obs_of(r))
            r.timeout_s = 5.0
            o = obs_of(r, seed=1)
            want = r.run(o)
            assert r.stats["late"] == 1 and r.stats["timeouts"] == 1
            r.timeout_s = 0.01
            with pytest.raises(LinkTimeout):
                r.run(o)
            r.timeout_s = 5.0
            np.testing.assert_array_equal(r.run(o), want)  # not the late reply of the call before
        finally:
            r.close()


def test_unreachable_server_is_hardware_missing():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here
    from edgeperf.errors import HardwareMissing

    t0 = time.monotonic()
    with pytest.raises(HardwareMissing, match=f"no edgeperf server answered at tcp://127.0.0.1:{port} within 0.3 s"):
        RemoteSession.connect(f"127.0.0.1:{port}", connect_s=0.3)
    assert time.monotonic() - t0 < 5


def test_reconnect_after_sigkill_and_restart(example_onnx, tmp_path, no_strays):
    srv = serve(example_onnx)
    bind = srv.host_port
    r = RemoteSession.connect(bind, timeout_s=0.5)
    try:
        o = obs_of(r)
        want = r.run(o)
        srv.proc.kill()
        srv.proc.wait(10)
        with pytest.raises(LinkTimeout):
            r.run(o)
        srv = serve(example_onnx, bind=bind)  # same port
        with pytest.raises((SessionLost, LinkTimeout)):
            r.run(o)  # the new server never heard of this session
        r.reconnect()
        np.testing.assert_array_equal(r.run(o), want)
        assert r.stats["reconnects"] == 1

        # The same port now serving another model: refused, never a silent swap.
        srv.stop()
        other = tmp_path / "other.onnx"
        import onnx

        m = onnx.load(str(example_onnx))
        m.doc_string = "another model"
        onnx.save(m, str(other))
        srv = serve(other, bind=bind)
        with pytest.raises(ModelChanged, match="with sha256"):
            r.reconnect()
    finally:
        r.close()
        srv.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signals_stop_the_server_cleanly(example_onnx, sig, no_strays):
    srv = serve(example_onnx)
    with RemoteSession.connect(srv.host_port) as r:
        r.run(obs_of(r))
    code, out, err = srv.stop(sig)
    assert code == 0, err
    assert "Traceback" not in err
    assert f"stopped by {sig.name} after 1 inferences in 1 sessions" in err
    assert srv.banner.startswith("edgeperf: serving policy.onnx (sha256 ")
    assert "auth: none (loopback only)" in srv.banner and out is not None


def test_beyond_loopback_with_a_token(example_onnx, token_file, no_strays):
    srv = serve(example_onnx, "--token-file", token_file, bind="0.0.0.0:0")
    try:
        port = srv.address.rsplit(":", 1)[1]
        with RemoteSession.connect(f"127.0.0.1:{port}", token=TOKEN) as r:
            assert r.run(obs_of(r)).shape == (12,)
    finally:
        srv.stop()
    assert os.path.exists(token_file)
