"""The client of `edgeperf serve`: a Session whose model runs on another computer, so profilers, domains and
the HIL loop treat a remote policy like any other backend.

    from edgeperf.runtime.remote import RemoteSession, LinkTimeout, SessionLost

    with RemoteSession.connect("robot.local:7007", token=TOKEN, timeout_s=0.1) as s:
        s.io, s.server                  # the model's io and metadata; what serves it (sha256, backend, device)
        action = s.run(obs)             # the Session contract: prepare/infer/infer_all/run/run_all/reset/close
        s.last                          # Timing of that call: rtt_ns, server_ns, infer_ns, network_ns, offset_ns

        # the real-time loop: send at the release time, collect until the deadline, drop what is stale
        seq = s.send(obs)               # -> the request's sequence number (the observation validated first)
        reply = s.poll(timeout_s)       # -> Reply(seq, outputs {name: array}, timing), or None by the timeout
        s.cancel(seq)                   # give up on a request: its reply, if it comes, is dropped and counted

Every call has a deadline (`timeout_s`, ZeroMQ polling): a synchronous call that passes it raises LinkTimeout
and the next call works; the late reply is recognised by its sequence number, dropped and counted
(`stats["late"]`). A DEALER socket is used because a REQ socket is unusable after a missed reply.

SessionLost: the server forgot this session (it restarted). `reconnect()` repeats the handshake on a fresh
socket and raises ModelChanged when the server now serves a model with another sha256 (never a silent swap).
A server that does not answer the handshake in time raises HardwareMissing (exit 3); one that refuses it (another
protocol version) raises ProtocolMismatch (exit 2).

Timing (ns): rtt = t4 - t1 on this side's monotonic clock; server = t3 - t2 (receive to send on the server's);
network = rtt - server; offset = ((t2 - t1) + (t3 - t4)) / 2, the server clock minus this one (NTP; its error
is at most rtt / 2). Only differences of one clock are ever taken, never two machines' wall clocks.
"""

from __future__ import annotations

import collections
import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from edgeperf import __version__
from edgeperf.errors import BadInput, EdgeperfError, HardwareMissing
from edgeperf.runtime import wire
from edgeperf.runtime.server import zmq
from edgeperf.runtime.session import IOSpec, Session, TensorSpec

MAX_TIMEOUT_S = 3600.0
MAX_PENDING = 4096  # requests awaited at once; older ones are forgotten (their replies count as late)
MAX_LATE = 100_000  # late replies whose round trip is kept


class LinkError(EdgeperfError):
    """The link to the server failed mid-run (the HIL loop catches these and recovers)."""

    exit_code = 3


class LinkTimeout(LinkError):
    """No reply within the call's timeout. The session stays usable."""


class SessionLost(LinkError):
    """The server does not know this session (it restarted): call reconnect()."""


class ModelChanged(BadInput):
    """On reconnect the server serves a model with another sha256."""


class ProtocolMismatch(BadInput):
    """The server speaks another protocol version (both are named)."""


class RemoteError(BadInput):
    """The server refused a request (a shape or dtype that does not fit, a model failure): its message."""


@dataclass(frozen=True)
class Timing:
    t1: int  # client send (client clock, ns)
    t2: int  # server receive (server clock)
    t3: int  # server send (server clock)
    t4: int  # client receive (client clock)
    infer_ns: int

    @property
    def rtt_ns(self) -> int:
        return self.t4 - self.t1

    @property
    def server_ns(self) -> int:
        return self.t3 - self.t2

    @property
    def network_ns(self) -> int:
        return self.rtt_ns - self.server_ns

    @property
    def offset_ns(self) -> float:
        return ((self.t2 - self.t1) + (self.t3 - self.t4)) / 2

    def to_dict(self) -> dict:
        return {
            "rtt_ns": self.rtt_ns,
            "server_ns": self.server_ns,
            "infer_ns": self.infer_ns,
            "network_ns": self.network_ns,
            "offset_ns": self.offset_ns,
        }


class Reply(NamedTuple):
    seq: int
    outputs: dict[str, np.ndarray]
    timing: Timing


class RemoteSession(Session):
    backend = "remote"

    def __init__(self, address: str, token: str | bytes | None = None, timeout_s: float = 1.0, connect_s: float = 5.0):
        host, port = wire.parse_address(address, "--connect", listen=False)
        self.address = wire.endpoint(host, port)
        self.token = wire.as_token(token)
        if not (0 < timeout_s <= MAX_TIMEOUT_S and 0 < connect_s <= MAX_TIMEOUT_S):
            raise BadInput(
                f"timeouts must be above 0 and at most {MAX_TIMEOUT_S:g} s (got timeout_s={timeout_s}, "
                f"--connect-timeout {connect_s})"
            )
        self.timeout_s, self.connect_s = timeout_s, connect_s
        self._ipv6 = ":" in host
        self._z = zmq()  # the module, looked up once: require() per call costs a microsecond of each round trip
        self._ctx = self._z.Context()
        self._sock = None
        self.server: dict = {}
        self.sha256: str | None = None
        self.last: Timing | None = None
        self.stats = dict.fromkeys(("sent", "received", "timeouts", "late", "rejected", "reconnects"), 0)
        self._seq = 0
        self._session = 0
        self._pending: collections.OrderedDict[int, int] = collections.OrderedDict()  # seq -> t1
        # Requests given up on (seq -> t1), so that a reply that comes after all still tells how late it was.
        self._given_up: collections.OrderedDict[int, int] = collections.OrderedDict()
        self.late_rtt_ns: list[int] = []  # round trips of the late replies of given-up requests (first MAX_LATE)
        self._handshake()

    @classmethod
    def connect(
        cls, address: str, token: str | bytes | None = None, timeout_s: float = 1.0, connect_s: float = 5.0
    ) -> RemoteSession:
        """Connect to `edgeperf serve` at HOST:PORT and do the handshake (within connect_s). timeout_s is the
        deadline of every later call."""
        return cls(address, token=token, timeout_s=timeout_s, connect_s=connect_s)

    # -- connection ------------------------------------------------------------------------------------
    def _open_socket(self) -> None:
        z = zmq()
        if self._sock is not None:
            self._sock.close(0)
        self._sock = self._ctx.socket(z.DEALER)
        self._sock.linger = 0
        self._sock.setsockopt(z.MAXMSGSIZE, wire.MAX_FRAME)
        # Queue only to a live connection: with the server gone a send fails at once (a miss), instead of
        # piling up requests until the high-water mark blocks the caller, and stale requests never reach a
        # restarted server.
        self._sock.setsockopt(z.IMMEDIATE, 1)
        self._rcvtimeo = -1  # the socket's RCVTIMEO (ms), set only when it changes: see _recv
        if self._ipv6:
            self._sock.ipv6 = True
        try:
            self._sock.connect(self.address)
        except z.ZMQError as exc:
            self._sock.close(0)
            self._sock = None
            raise BadInput(f"--connect {self.address.removeprefix('tcp://')}: {exc}") from None
        self._pending.clear()
        self._given_up.clear()
        self._single: set[int] = set()  # pending requests sent without a batch axis
        self._session = 0

    def _handshake(self) -> None:
        self._open_socket()
        hello = wire.json_body({"protocol": wire.PROTOCOL, "edgeperf": __version__})
        try:
            seq = self._send_frame(wire.HELLO, hello, wait_s=self.connect_s)  # the connection may still be opening
        except LinkTimeout:
            seq = None
        try:
            if seq is None:
                raise LinkTimeout("not connected")
            f = self._await(seq, self.connect_s)
        except LinkTimeout:
            self.close()
            if seq is None:  # no connection at all: nothing listens there, or it is out of reach
                why = "is `edgeperf serve` running there, and reachable?"
            elif self.token:
                why = (
                    "it took the connection but answered nothing: was it started with this same token "
                    "(--token-file)? A server without one drops a client's token too"
                )
            else:
                # A server with a token drops every unauthenticated frame without a word, by design: from here
                # that is the only silence a live connection gives, so say it.
                why = (
                    "it took the connection but answered nothing: a server started with --token-file answers only "
                    "a client with its token; give the same file with --token-file"
                )
            raise HardwareMissing(
                f"no edgeperf server answered at {self.address} within {self.connect_s:g} s: {why}"
            ) from None
        except RemoteError as exc:
            self.close()
            if getattr(exc, "code", "") == "protocol":
                raise ProtocolMismatch(f"{self.address} refused the handshake: {exc}") from None
            raise
        if f.type != wire.WELCOME or f.version != wire.PROTOCOL:
            self.close()
            raise ProtocolMismatch(
                f"{self.address} answered the handshake with protocol {f.version}; this client speaks {wire.PROTOCOL}"
            )
        try:
            doc = f.json()
            io = IOSpec(
                inputs=tuple(_spec(t) for t in doc["io"]["inputs"]),
                outputs=tuple(_spec(t) for t in doc["io"]["outputs"]),
                metadata=dict(doc.get("metadata") or {}),
            )
            sha = wire.printable(doc["sha256"], 64)
        except (KeyError, TypeError, ValueError) as exc:  # wire.FrameError is a ValueError: a body not JSON
            self.close()
            raise BadInput(f"{self.address} sent a malformed WELCOME ({exc!r}); is it an edgeperf server?") from None
        if not io.inputs or not io.outputs:
            self.close()
            raise BadInput(f"{self.address} serves a model without inputs or outputs")
        if self.sha256 is not None and sha != self.sha256:
            self.close()
            raise ModelChanged(
                f"{self.address} now serves {wire.printable(doc.get('model'))} with sha256 {wire.printable(sha[:12])}, "
                "not the model of this "
                f"session ({self.sha256[:12]}); restart the run against the new model deliberately"
            )
        self._session = f.session
        self.sha256, self.io, self.server = sha, io, doc
        self.path = Path(wire.printable(doc.get("model", "remote")) or "remote")  # shown on the host's terminal
        self.on_gpu = bool(doc.get("on_gpu"))
        mb = doc.get("max_batch")
        self.max_batch = mb if isinstance(mb, int) and mb > 0 else None

    def reconnect(self) -> None:
        """A fresh socket and handshake (after SessionLost or a run of timeouts). ModelChanged when the server's
        model is not the one this session started with; HardwareMissing when nobody answers in connect_s."""
        self._ctx = self._ctx or self._z.Context()
        self._handshake()
        self.stats["reconnects"] += 1

    # -- the async API ---------------------------------------------------------------------------------
    def send(self, obs: Any, action_only: bool = False) -> int:
        """Validate `obs` against the model's inputs and send it; returns its sequence number. The reply's
        outputs have a batch axis when obs had one, like run_all."""
        seq = self.send_prepared(self.prepare(obs), action_only)
        if self._is_single(obs):
            self._single.add(seq)
        return seq

    def send_prepared(self, prepared: dict, action_only: bool = False) -> int:
        body = wire.encode_arrays(prepared)
        return self._send_frame(wire.INFER, body, wire.FLAG_ACTION_ONLY if action_only else 0)

    def poll(self, timeout_s: float = 0.0, busy: bool = False) -> Reply | None:
        """The next reply to a pending request within timeout_s, or None. Replies to requests given up on
        (cancelled, timed out) are dropped and counted as late. busy: spin on the socket until then instead of
        sleeping in ZeroMQ, for a real-time caller with nothing else to do (hil): a thread woken from sleep
        adds its wake-up to the round trip it measures."""
        deadline = time.perf_counter() + timeout_s
        while True:
            f = self._recv(deadline, busy)
            if f is None:
                return None
            if f.type == wire.ACTION:
                r = self._reply(f)
                if f.seq in self._single:
                    self._single.discard(f.seq)
                    r = r._replace(outputs={k: v[0] for k, v in r.outputs.items()})
                return r
            self._raise(f)

    def cancel(self, seq: int) -> None:
        t1 = self._pending.pop(seq, None)
        self._single.discard(seq)
        if t1 is not None:
            self._given_up[seq] = t1
            while len(self._given_up) > MAX_PENDING:
                self._given_up.popitem(last=False)

    # -- the Session contract --------------------------------------------------------------------------
    def infer_all(self, prepared: dict) -> list[np.ndarray]:
        r = self._call(prepared, False)
        return [r.outputs[s.name] for s in self.io.outputs]

    def infer(self, prepared: dict) -> np.ndarray:
        return self._call(prepared, True).outputs[self.io.outputs[0].name]

    def reset(self) -> None:
        seq = self._send_frame(wire.RESET, b"", wait_s=self.timeout_s)
        self._await(seq, self.timeout_s)

    def server_stats(self) -> dict:
        """The server's counters: requests, sessions, errors, dropped {malformed, oversized, unauthenticated,
        replayed}, disconnects."""
        return self._await(self._send_frame(wire.STATS, b"", wait_s=self.timeout_s), self.timeout_s).json()

    def close(self) -> None:
        if self._sock is not None:
            # A BYE is a courtesy: the server forgets idle sessions anyway.
            with contextlib.suppress(Exception):
                if not self._session:
                    raise LookupError  # no handshake: nothing to say goodbye to
                bye = wire.Frame(wire.BYE, self._next(), self._session)
                self._sock.send(wire.encode(bye, self.token), self._z.NOBLOCK)
            self._sock.close(0)
            self._sock = None
        if self._ctx is not None:
            self._ctx.term()
            self._ctx = None

    # -- internals -------------------------------------------------------------------------------------
    def _call(self, prepared: dict, action_only: bool) -> Reply:
        seq = self.send_prepared(prepared, action_only)
        return self._reply(self._await(seq, self.timeout_s))

    def _next(self) -> int:
        self._seq += 1
        return self._seq

    def _send_frame(self, mtype: int, body: bytes, flags: int = 0, wait_s: float = 0.0) -> int:
        """Send at once, or within wait_s for a connection (the socket queues to live connections only); an
        inference never waits: not connected now is a miss now."""
        if self._sock is None:
            raise LinkError(f"the session with {self.address} is closed")
        seq = self._next()
        t1 = time.perf_counter_ns()
        frame = wire.Frame(mtype, seq, self._session, flags, t_client_send=t1, body=body)
        try:
            if wait_s > 0 and not self._sock.poll(max(1, int(wait_s * 1e3)), self._z.POLLOUT):
                raise self._z.Again()
            self._sock.send(wire.encode(frame, self.token), self._z.NOBLOCK, copy=len(body) < 65536)
        except self._z.Again:
            self.stats["timeouts"] += 1
            raise LinkTimeout(f"{self.address} is not connected (nothing can be sent to it now)") from None
        self._pending[seq] = t1
        while len(self._pending) > MAX_PENDING:
            self._single.discard(self._pending.popitem(last=False)[0])
        self.stats["sent"] += 1
        return seq

    def _await(self, seq: int, timeout_s: float) -> wire.Frame:
        """The reply to `seq` (anything else that arrives meanwhile is late: dropped); LinkTimeout."""
        deadline = time.perf_counter() + timeout_s
        while True:
            f = self._recv(deadline)
            if f is None:
                self.cancel(seq)
                self.stats["timeouts"] += 1
                raise LinkTimeout(f"no reply from {self.address} within {timeout_s * 1e3:g} ms (request {seq})")
            if f.seq == seq:
                self._raise(f)
                return f
            self.stats["late"] += 1

    def _recv(self, deadline: float, busy: bool = False) -> wire.Frame | None:
        """The next authentic reply to a pending request of this session, or None at the deadline."""
        z = self._z
        while True:
            if busy:
                while not self._sock.poll(0):
                    if time.perf_counter() >= deadline:
                        return None
                timeout = 0
            else:
                # A blocking recv under RCVTIMEO, not poll then recv: one call into ZeroMQ per reply instead of
                # two (scripts/bench_wire.py: about 10 us of a 60 us loopback round trip).
                timeout = max(0, math.ceil((deadline - time.perf_counter()) * 1e3))
            if timeout != self._rcvtimeo:
                self._sock.rcvtimeo = self._rcvtimeo = timeout
            try:
                data = self._sock.recv(copy=True)
            except z.Again:
                return None
            t4 = time.perf_counter_ns()
            try:
                f = wire.decode(data, self.token)
            except wire.FrameError:
                self.stats["rejected"] += 1
                continue
            if f.seq not in self._pending or (self._session and f.session != self._session):
                self.stats["late"] += 1
                t1 = self._given_up.pop(f.seq, None) if f.session == self._session else None
                if t1 is not None and len(self.late_rtt_ns) < MAX_LATE:
                    self.late_rtt_ns.append(t4 - t1)
                continue
            t1 = self._pending.pop(f.seq)
            f.t_client_send = t1  # our own record, not the echo
            f.t4 = t4
            self.stats["received"] += 1
            return f

    def _reply(self, f: wire.Frame) -> Reply:
        t = Timing(f.t_client_send, f.t_server_recv, f.t_server_send, f.t4, f.infer_ns)
        self.last = t
        return Reply(f.seq, dict(f.arrays), t)

    def _raise(self, f: wire.Frame) -> None:
        if f.type != wire.ERROR:
            return
        try:
            doc = f.json()
        except wire.FrameError:
            doc = {}
        message, code = str(doc.get("error", "no message"))[:500], doc.get("code")
        if code == "session":
            raise SessionLost(f"{self.address}: {message}")
        exc = RemoteError(f"the server at {self.address} refused the request: {message}")
        exc.code = code
        raise exc


MAX_DIM = 1 << 24  # an announced dimension past this is no policy's


def _spec(d: dict) -> TensorSpec:
    """A tensor the server announces, checked before anything is allocated for it: a dtype the wire carries, at
    most 8 dimensions each within MAX_DIM, elements that fit one frame, and a printable name."""
    dims = d["shape"]
    if not isinstance(dims, list) or len(dims) > 8:
        raise ValueError(f"shape {str(dims)[:40]}")
    shape = tuple(v if isinstance(v, int) else (wire.printable(v, 40) if v is not None else None) for v in dims)
    dtype = np.dtype(str(d["dtype"])[:16])
    if dtype not in wire.CODES:
        raise ValueError(f"dtype {wire.printable(dtype, 20)}: not one the wire carries")
    fixed = [v for v in shape if isinstance(v, int)]
    if (
        any(v < 0 or v > MAX_DIM for v in fixed)
        or int(np.prod(fixed, dtype=np.float64)) * dtype.itemsize > wire.MAX_FRAME
    ):
        raise ValueError(f"shape {list(shape)} of {dtype}: larger than a frame ({wire.MAX_FRAME} bytes)")
    return TensorSpec(wire.printable(d["name"], 100), shape, str(dtype))
