"""edgeperf link: the delay it adds is the delay asked for, jitter never reorders a stream, a loss costs one
retransmission timeout, a remote session works through it, and a slow reader or many connections cannot grow its
memory without bound."""

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest

from edgeperf.runtime import link as link_mod
from edgeperf.runtime.link import Link
from edgeperf.runtime.remote import RemoteSession
from edgeperf.runtime.session import Session
from tests.runtime.test_server import no_strays  # noqa: F401 - the fixture, used by name


@pytest.fixture
def echo():
    """A TCP echo server on a free loopback port."""
    srv = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            threading.Thread(target=_echo, args=(conn,), daemon=True).start()

    def _echo(conn):
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield f"127.0.0.1:{srv.getsockname()[1]}"
    stop.set()
    t.join(5)
    srv.close()


def _rtts(address, n=10, size=64):
    host, port = address.rsplit(":", 1)
    out = []
    with socket.create_connection((host, int(port))) as c:
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(n):
            t0 = time.perf_counter()
            c.sendall(b"x" * size)
            got = 0
            while got < size:
                got += len(c.recv(65536))
            out.append(time.perf_counter() - t0)
    return out


def test_added_delay_is_the_delay_asked_for(echo):
    base = np.median(_rtts(echo))
    with Link("127.0.0.1:0", echo, delay_ms=40) as link:
        rtts = _rtts(link.address)
    added = np.median(rtts) - base
    # 40 ms each way; the event loop's timer adds ~1 ms. Generous: a shared machine.
    assert 0.075 <= added <= 0.2, added
    assert min(rtts) >= 0.079


def test_jitter_never_reorders_a_stream(echo):
    with Link("127.0.0.1:0", echo, delay_ms=5, jitter_ms=5, seed=1) as link:
        host, port = link.address.rsplit(":", 1)
        with socket.create_connection((host, int(port))) as c:
            sent = b"".join(i.to_bytes(4, "big") for i in range(2000))
            for i in range(0, len(sent), 40):  # many small chunks, each with its own delay
                c.sendall(sent[i : i + 40])
                time.sleep(0.0005)
            got = b""
            c.settimeout(10)
            while len(got) < len(sent):
                got += c.recv(65536)
        assert got == sent
        # it really was several chunks (a starved proxy reads many of the 200 sends at once)
        assert link.stats.chunks["up"] >= 5


def test_a_loss_is_a_retransmission_delay(echo):
    with Link("127.0.0.1:0", echo, loss_pct=100, rto_ms=150) as link:
        rtts = _rtts(link.address, n=3)
        assert link.stats.losses >= 6  # every chunk, both ways
    assert min(rtts) >= 0.29  # 150 ms each way


@pytest.mark.usefixtures("no_strays")
def test_a_remote_session_through_the_link(example_onnx):
    from tests.runtime.test_server import obs_of, serve

    srv = serve(example_onnx)
    try:
        link = Link("127.0.0.1:0", srv.host_port, delay_ms=10, jitter_ms=5).start()
        with link, RemoteSession.connect(link.address, timeout_s=2) as r:
            o = obs_of(r)
            np.testing.assert_array_equal(r.run(o), Session.open(example_onnx).run(o))
            # The network share of the round trip carries the link's two delays.
            assert r.last.network_ns >= 10e6 and r.last.server_ns < r.last.rtt_ns / 2
    finally:
        srv.stop()


def test_a_slow_reader_slows_the_sender_and_the_link_holds_at_most_its_cap():
    """A peer that reads nothing, then slowly: the link stops reading the sender (TCP pushes back) once it holds
    MAX_BUFFERED, instead of queueing 256 chunks (16 MiB) per direction; every byte still arrives, in order."""
    payload = os.urandom(64 << 20)  # more than the link and every kernel buffer on the way can hold
    sink = socket.socket()
    sink.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 16)
    sink.bind(("127.0.0.1", 0))
    sink.listen()
    tracemalloc.start()  # the link's thread allocates every chunk it holds: the peak is what it held
    try:
        base = tracemalloc.get_traced_memory()[0]
        with sink, Link("127.0.0.1:0", f"127.0.0.1:{sink.getsockname()[1]}") as link:
            host, port = link.address.rsplit(":", 1)
            client = socket.socket()
            client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 16)
            client.connect((host, int(port)))
            conn, _ = sink.accept()
            sender = threading.Thread(target=client.sendall, args=(payload,), daemon=True)
            sender.start()
            last, still = -1, 0
            while still < 5:  # until the link has read nothing for 0.5 s: it is full and waits
                time.sleep(0.1)
                now = link.stats.bytes["up"]
                still, last = (still + 1 if now == last else 0), now
            peak = tracemalloc.get_traced_memory()[1] - base
            assert sender.is_alive() and last < len(payload) // 2  # the sender is held back, not buffered
            assert link.stats.peak_held <= link_mod.MAX_BUFFERED
            # What it held plus the asyncio stream buffers (~4 chunks): 16.6 MiB before the cap.
            assert peak < link_mod.MAX_BUFFERED + (1 << 20), peak
            digest, got, conn_reads = hashlib.sha256(), 0, 0
            conn.settimeout(30)
            with conn, client:
                while got < len(payload) and (data := conn.recv(1 << 16)):
                    digest.update(data)
                    got += len(data)
                    conn_reads += 1
                    if conn_reads < 100:  # slowly at first, then as fast as it comes
                        time.sleep(0.005)
                sender.join(30)
        assert got == len(payload) and digest.digest() == hashlib.sha256(payload).digest()
        assert tracemalloc.get_traced_memory()[1] - base < link_mod.MAX_BUFFERED + (1 << 20)
    finally:
        tracemalloc.stop()


def test_connections_past_the_cap_are_refused_and_the_others_served(echo):
    n = link_mod.MAX_CONNECTIONS
    with Link("127.0.0.1:0", echo) as link:
        host, port = link.address.rsplit(":", 1)
        held = [socket.create_connection((host, int(port)), timeout=10) for _ in range(n)]
        try:
            for c in held:  # each of them is served (and so counted open) before the next test
                c.sendall(b"ping")
                assert c.recv(16) == b"ping"
            with socket.create_connection((host, int(port)), timeout=5) as extra:
                assert extra.recv(16) == b""  # closed by the link at once (served, it would wait for data)
            assert link.stats.refused == 1 and link.stats.connections == n
            held.pop().close()
            deadline = time.monotonic() + 10
            while link._open >= n and time.monotonic() < deadline:  # the link sees the close
                time.sleep(0.01)
            with socket.create_connection((host, int(port)), timeout=10) as again:  # room again: served
                again.sendall(b"pong")
                assert again.recv(16) == b"pong"
        finally:
            for c in held:
                c.close()


def test_stop_closes_the_port(echo):
    link = Link("127.0.0.1:0", echo).start()
    host, port = link.address.rsplit(":", 1)
    link.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((host, int(port)), timeout=1).close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.usefixtures("no_strays")
def test_the_cli_stops_cleanly_on_a_signal(sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "edgeperf", "link", "--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert "edgeperf: link 127.0.0.1:" in proc.stdout.readline()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err and "link stopped after 0 connections" in err


@pytest.mark.usefixtures("no_strays")
def test_the_cli_stops_after_its_duration():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "edgeperf",
            "link",
            "--listen",
            "127.0.0.1:0",
            "--forward",
            "127.0.0.1:9",
            "--duration",
            "0.5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0 and "link stopped" in r.stderr, r.stderr
