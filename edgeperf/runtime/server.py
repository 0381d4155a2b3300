"""The policy server behind `edgeperf serve`: one artifact, opened with Session.open (nothing is unpickled on
the device), answered over the wire protocol of edgeperf.runtime.wire on a ZeroMQ ROUTER socket.

ROUTER rather than REP: REP's strict recv/send lockstep gets stuck when a client times out or reconnects
mid-request, and it serves one peer at a time; a ROUTER answers each request to the peer that sent it, whenever,
so a client that gave up on a reply and reconnected is served at once. Requests are answered one at a time (the
model is the bottleneck; a queue would only hide latency).

Frames that are malformed, oversized, unauthenticated or replayed are dropped without an answer and counted
(`Server.stats`); the server keeps serving. Frames over the cap are refused by ZeroMQ itself (MAXMSGSIZE: the
peer's connection is closed before the frame is allocated), counted as disconnects.
"""

from __future__ import annotations

import collections
import contextlib
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeperf import __version__
from edgeperf.errors import BadInput, EdgeperfError, require
from edgeperf.results.report import sha256_file
from edgeperf.runtime import wire
from edgeperf.runtime.session import Session

# Client sessions remembered for replay checks: one per connected peer (a new handshake replaces the peer's
# last one, so a flood of handshakes cannot push other clients out), at most MAX_SESSIONS (least recently used go).
MAX_SESSIONS = 1024


def zmq():
    return require("zmq", "hil", "for edgeperf serve and the remote session", package="pyzmq")


@dataclass
class Stats:
    frames: int = 0  # messages received, whatever they were
    requests: int = 0  # answered INFERs
    sessions: int = 0  # handshakes
    errors: int = 0  # ERROR replies (shape, dtype, protocol, unknown session)
    dropped: dict = field(
        default_factory=lambda: dict.fromkeys(("malformed", "oversized", "unauthenticated", "replayed"), 0)
    )
    disconnects: int = 0  # connections closed by ZeroMQ (frames over the cap) or by the peer

    def to_dict(self) -> dict:
        return {
            "frames": self.frames,
            "requests": self.requests,
            "sessions": self.sessions,
            "errors": self.errors,
            "dropped": dict(self.dropped),
            "disconnects": self.disconnects,
        }


def check_bind(bind: str, token: bytes | None) -> tuple[str, int]:
    """(host, port) of --bind; BadInput beyond loopback without a token (every server edgeperf runs)."""
    host, port = wire.parse_address(bind)
    if not wire.is_loopback(host) and not token:
        raise BadInput(
            f"--bind {bind}: serving beyond loopback needs a shared token: pass --token-file F "
            "(anyone who can reach the port could otherwise query the policy)"
        )
    return host, port


def open_served(model, backend: str, device: str, threads: int | None, session: Session | None):
    """(path, Session, sha256) of the artifact a server answers with (every server edgeperf runs)."""

    path = Path(model)
    extra = {"threads": threads} if threads else {}  # else the backend's own default
    return path, session or Session.open(path, backend=backend, device=device, **extra), sha256_file(path)


class Inputs:
    """A model's inputs as a server checks a request against them (names, dtypes, shapes, batch)."""

    def __init__(self, session: Session):
        self.session = session
        self.specs = {s.name: s for s in session.io.inputs}
        # Per input, what problem() compares, prepared once: str(dtype) costs microseconds per request.
        self.expect = {
            t.name: (
                np.dtype(t.dtype),
                len(t.shape),
                [(i, d) for i, d in enumerate(t.shape) if isinstance(d, int) and d >= 0],
            )
            for t in session.io.inputs
        }

    def problem(self, arrays: dict) -> str | None:
        """Why these arrays are not the model's inputs, or None."""
        if arrays.keys() != self.expect.keys():
            return f"the model's inputs are {sorted(self.specs)}, the request has {sorted(arrays)}"
        max_batch = self.session.max_batch
        for name, a in arrays.items():
            dtype, ndim, fixed = self.expect[name]
            spec = self.specs[name]
            if a.dtype != dtype:
                return f"input '{name}' has dtype {a.dtype}, the model expects {spec.dtype}"
            if a.ndim != ndim or any(a.shape[i] != d for i, d in fixed):
                return f"input '{name}' has shape {list(a.shape)}, the model expects {list(spec.shape)}"
            if max_batch and a.shape[0] > max_batch:
                return f"input '{name}' has a batch of {a.shape[0]}, the model takes at most {max_batch}"
        return None


class Server:
    """Serve `model` at `bind` (HOST:PORT; port 0 picks a free one: see .address). Any address that is not
    loopback needs a token (HMAC-SHA256 over every frame). `serve_forever()` runs until `stop()` (any thread,
    or a signal handler)."""

    def __init__(
        self,
        model: str | os.PathLike,
        bind: str = "127.0.0.1:7007",
        backend: str = "auto",
        device: str = "auto",
        token: bytes | None = None,
        max_frame: int = wire.MAX_FRAME,
        session: Session | None = None,
        threads: int | None = None,
    ):
        z = zmq()
        host, port = check_bind(bind, token)
        if max_frame < wire.HEADER.size + wire.MAC_LEN:
            raise BadInput(f"--max-frame {max_frame} is smaller than one frame header; give e.g. {wire.MAX_FRAME}")
        self.token, self.max_frame = token, max_frame
        self.path, self.session, self.sha256 = open_served(model, backend, device, threads, session)
        self.stats = Stats()
        self._sessions: collections.OrderedDict[int, int] = collections.OrderedDict()  # session -> last seq
        self._peers: dict[bytes, int] = {}  # ZeroMQ peer identity -> its session
        self._stop = threading.Event()
        self._ctx = z.Context()
        self._sock = self._ctx.socket(z.ROUTER)
        self._sock.linger = 0
        self._sock.setsockopt(z.MAXMSGSIZE, max_frame)
        if ":" in host:
            self._sock.ipv6 = True
        try:
            self._sock.bind(wire.endpoint(host, port or "*"))
        except z.ZMQError as exc:
            self.close()
            if exc.errno == z.EADDRINUSE:
                raise BadInput(
                    f"--bind {bind}: port {port} is in use (another edgeperf serve?); stop it or pick another port"
                ) from None
            raise BadInput(
                f"--bind {bind}: cannot listen there ({exc}); give a local address, e.g. 0.0.0.0:7007"
            ) from None
        self.address = self._sock.last_endpoint.decode()
        self._monitor = self._sock.get_monitor_socket(z.EVENT_DISCONNECTED)
        self._check = Inputs(self.session).problem
        self._outputs = [o.name for o in self.session.io.outputs]
        self._welcome = self._welcome_doc()

    # -- what the server says about itself -------------------------------------------------------------
    def _welcome_doc(self) -> dict:
        s = self.session
        meta = s.io.metadata
        return {
            "protocol": wire.PROTOCOL,
            "edgeperf": __version__,
            "model": self.path.name,
            "sha256": self.sha256,
            "backend": s.backend,
            "device": (getattr(s, "options", None) or {}).get("device", "gpu" if s.on_gpu else "cpu"),
            "on_gpu": bool(s.on_gpu),
            "max_batch": s.max_batch,
            "io": {"inputs": [t.to_dict() for t in s.io.inputs], "outputs": [t.to_dict() for t in s.io.outputs]},
            "metadata": meta,
            "control_hz": meta.get("control_hz"),
        }

    def banner(self) -> list[str]:
        auth = "HMAC-SHA256 token" if self.token else "none (loopback only)"
        w = self._welcome
        lines = [
            f"serving {w['model']} (sha256 {self.sha256[:12]}, {w['backend']} on {w['device']}) at {self.address}, "
            f"wire protocol {wire.PROTOCOL}, auth: {auth}"
        ]
        for kind, specs in (("input", self.session.io.inputs), ("output", self.session.io.outputs)):
            lines += [f"  {kind} {t.name}: {t.dtype} {list(t.shape)}" for t in specs]
        return lines

    # -- the loop --------------------------------------------------------------------------------------
    def serve_forever(self, poll_ms: int = 100) -> None:
        # A blocking recv under RCVTIMEO on the one socket of the hot path: polling first (or a Poller over
        # two sockets) costs a second call into ZeroMQ per request. The monitor's disconnect events are read
        # when idle and every 256 requests.
        # The parts are read and sent one call each, not by recv_multipart/send_multipart: their Python loops cost
        # a few us per round trip (timed on a bare ROUTER/DEALER echo beside this loop's way).
        z = zmq()
        sock, handled, more, nowait = self._sock, 0, z.SNDMORE | z.NOBLOCK, z.NOBLOCK
        sock.rcvtimeo = poll_ms
        while not self._stop.is_set():
            try:
                peer = sock.recv()
            except z.Again:
                self._read_monitor()
                continue
            data = sock.recv()  # a ROUTER message is the peer's identity and at least one part, delivered whole
            if not sock.rcvmore:  # a DEALER client's one frame
                reply = self.handle(data, 2, peer)
                if reply is not None:
                    sock.send(peer, more)
                    sock.send(reply, nowait)
            else:  # a REQ client's empty delimiter, or a message of more parts (dropped)
                parts = [peer, data]
                while sock.rcvmore:
                    parts.append(sock.recv())
                reply = self.handle(parts[-1], len(parts), peer)
                if reply is not None:
                    parts[-1] = reply  # the delimiter goes back with the reply
                    sock.send_multipart(parts, nowait)
            handled += 1
            if handled % 256 == 0:
                self._read_monitor()

    def _read_monitor(self) -> None:
        while self._monitor.poll(0):
            self._monitor.recv_multipart()
            self.stats.disconnects += 1

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        for name in ("_monitor", "_sock"):
            sock = getattr(self, name, None)
            if sock is not None:
                if name == "_sock":
                    with contextlib.suppress(Exception):  # never monitored (bind failed)
                        sock.disable_monitor()
                sock.close(0)
        if getattr(self, "_ctx", None) is not None:
            self._ctx.term()
            self._ctx = None
        if getattr(self, "session", None) is not None:
            self.session.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one request -----------------------------------------------------------------------------------
    def handle(self, data: bytes, nparts: int = 1, peer: bytes = b"") -> bytes | None:
        """The reply to one ZeroMQ message's last frame, or None (dropped and counted)."""
        t_recv = time.perf_counter_ns()
        self.stats.frames += 1
        if nparts > 3:  # identity [+ delimiter] + one frame
            self.stats.dropped["malformed"] += 1
            return None
        try:
            frame = wire.decode(data, self.token, self.max_frame)
        except wire.FrameError as exc:
            self.stats.dropped[exc.kind] += 1
            return None
        try:
            return self._answer(frame, t_recv, peer)
        except wire.FrameError as exc:
            self.stats.dropped[exc.kind] += 1
            return None
        except Exception:  # a frame no check foresaw must cost the frame, never the server
            self.stats.dropped["malformed"] += 1
            return None

    def _answer(self, f: wire.Frame, t_recv: int, peer: bytes = b"") -> bytes | None:
        if f.version != wire.PROTOCOL:
            return self._error(
                f,
                t_recv,
                "protocol",
                f"the client speaks edgeperf wire protocol {f.version}, this server speaks {wire.PROTOCOL} "
                f"(edgeperf {__version__}); run the same edgeperf version on both sides",
            )
        if f.type == wire.HELLO:
            doc = f.json()
            theirs = doc.get("protocol", f.version)
            if theirs != wire.PROTOCOL:
                return self._error(
                    f,
                    t_recv,
                    "protocol",
                    f"the client speaks edgeperf wire protocol {theirs}, this server speaks {wire.PROTOCOL}",
                )
            sid = secrets.randbits(64) or 1
            self._sessions.pop(self._peers.pop(peer, 0), None)
            self._peers[peer] = sid
            self._remember(sid, f.seq)
            self.stats.sessions += 1
            reply = wire.Frame(wire.WELCOME, f.seq, sid, body=wire.json_body(self._welcome))
            return self._send(reply, f, t_recv)
        last = self._sessions.get(f.session)
        if last is None:
            if f.type == wire.BYE:
                return None
            return self._error(f, t_recv, "session", "unknown session (the server restarted?); reconnect")
        if f.seq <= last:
            raise wire.FrameError("replayed", "replayed")
        self._remember(f.session, f.seq)
        if f.type == wire.INFER:
            return self._infer(f, t_recv)
        if f.type == wire.RESET:
            self.session.reset()
            return self._send(wire.Frame(wire.RESET_OK, f.seq, f.session), f, t_recv)
        if f.type == wire.STATS:
            doc = {**self.stats.to_dict(), "sha256": self.sha256}
            return self._send(wire.Frame(wire.STATS_OK, f.seq, f.session, body=wire.json_body(doc)), f, t_recv)
        if f.type == wire.BYE:
            self._sessions.pop(f.session, None)
            return None
        return self._error(f, t_recv, "bad", f"a client does not send {wire.TYPES.get(f.type, f.type)}")

    def _infer(self, f: wire.Frame, t_recv: int) -> bytes:
        problem = self._check(f.arrays)
        if problem:
            return self._error(f, t_recv, "shape", problem)
        s = self.session
        t0 = time.perf_counter_ns()
        try:
            if f.flags & wire.FLAG_ACTION_ONLY:
                outs = [s.checked(s.infer, f.arrays)]
            else:
                outs = s.checked(s.infer_all, f.arrays)
        except EdgeperfError as exc:
            return self._error(f, t_recv, "model", str(exc))
        infer_ns = time.perf_counter_ns() - t0
        body = wire.encode_arrays(zip(self._outputs, outs, strict=False))
        self.stats.requests += 1
        return self._send(wire.Frame(wire.ACTION, f.seq, f.session, infer_ns=infer_ns, body=body), f, t_recv)

    def _remember(self, sid: int, seq: int) -> None:
        self._sessions[sid] = seq
        self._sessions.move_to_end(sid)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        if len(self._peers) > MAX_SESSIONS:  # peers long gone
            self._peers = {p: s for p, s in self._peers.items() if s in self._sessions}

    def _error(self, f: wire.Frame, t_recv: int, code: str, message: str) -> bytes:
        self.stats.errors += 1
        body = wire.json_body({"error": message, "code": code})
        return self._send(wire.Frame(wire.ERROR, f.seq, f.session, body=body), f, t_recv)

    def _send(self, reply: wire.Frame, request: wire.Frame, t_recv: int) -> bytes:
        reply.t_client_send, reply.t_server_recv = request.t_client_send, t_recv
        reply.t_server_send = time.perf_counter_ns()
        return wire.encode(reply, self.token)
