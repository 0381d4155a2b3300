"""edgeperf link: the delay it adds is the delay asked for, jitter never reorders a stream, a loss costs one
retransmission timeout, and a remote session works through it."""

import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

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
