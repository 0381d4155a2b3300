"""openpi's policy protocol (Physical Intelligence's openpi, `openpi-client` on PyPI), both sides: `edgeperf serve
--protocol openpi` answers openpi clients, and `edgeperf hil --connect ws://HOST:PORT` drives any openpi server.

The protocol, as openpi's WebsocketPolicyServer and WebsocketClientPolicy speak it: a websocket (no compression);
the server's first message is its metadata; then each client message is one observation and each server message
its answer, both msgpack maps in which numpy arrays are maps {"__ndarray__": true, "data": raw bytes, "dtype":
numpy's dtype.str, "shape": [...]} and numpy scalars {"__npgeneric__": true, "data", "dtype"}. The answer holds
"actions" and "server_timing" {"infer_ms", "prev_total_ms"}; a server that fails answers a text message instead.
An api key travels as the header `Authorization: Api-Key KEY`; `GET /healthz` answers OK.

What edgeperf adds, in the same encoding: its metadata carries the model's io ("io": {"inputs", "outputs"}, as
`edgeperf serve`'s WELCOME does), its sha256 and backend, so a client can check what it is driving. An observation
names the model's inputs by their names; a model of one input also takes an observation with exactly one array
(openpi clients call theirs "observation/state", "state", ...); other values (a "prompt") are ignored. Arrays come
without the batch axis (as openpi sends them; one with it is taken as a batch); float arrays are cast to the
model's float type. "actions" is the model's first output for that observation; a model of several outputs has
them all under "outputs".

Safety, as for the ZeroMQ server: loopback unless a token is given, messages over --max-frame are refused by the
websocket layer before they are read, and decoding admits only numeric and bool arrays whose byte count matches
their shape: nothing is unpickled, no object array is built.
"""

from __future__ import annotations

import collections
import contextlib
import functools
import hmac
import http
import math
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from edgeperf import __version__
from edgeperf.errors import BadInput, EdgeperfError, HardwareMissing, require
from edgeperf.runtime import wire
from edgeperf.runtime.remote import (
    MAX_LATE,
    MAX_PENDING,
    LinkError,
    LinkTimeout,
    ModelChanged,
    RemoteError,
    Reply,
    Timing,
    _spec,
)
from edgeperf.runtime.server import Inputs, Stats, check_bind, open_served
from edgeperf.runtime.session import IOSpec, Session, TensorSpec

KINDS = "biuf"  # bool, signed and unsigned integers, floats: what a policy's arrays are
MAX_DIMS = 8
MAX_KEYS = 256  # entries of one map
DEFAULT_OBS_KEY = "observation/state"  # what a foreign openpi server is sent, unless its metadata names inputs


def websockets():
    return require("websockets", "hil", "for the openpi protocol")


_MSGPACK = []  # the module, looked up once: require() on every message costs microseconds of each round trip


def msgpack():
    if not _MSGPACK:
        _MSGPACK.append(require("msgpack", "hil", "for the openpi protocol"))
    return _MSGPACK[0]


# -- msgpack-numpy, openpi's encoding --------------------------------------------------------------------------


def _pack_default(obj):
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind not in KINDS:
            raise TypeError(f"arrays of dtype {obj.dtype} are not sent")
        a = np.ascontiguousarray(obj)
        return {b"__ndarray__": True, b"data": a.tobytes(), b"dtype": a.dtype.str, b"shape": list(a.shape)}
    if isinstance(obj, np.generic):
        return {b"__npgeneric__": True, b"data": obj.item(), b"dtype": obj.dtype.str}
    raise TypeError(f"cannot send a {type(obj).__name__}")


def pack(obj) -> bytes:
    return msgpack().packb(obj, default=_pack_default, use_bin_type=True)


@functools.lru_cache(maxsize=64)
def _dtype(text) -> np.dtype:
    """A numeric dtype from its dtype.str; cached: parsing one costs a microsecond of every message."""
    if isinstance(text, bytes):
        text = text.decode("ascii", "replace")
    if not isinstance(text, str) or len(text) > 8:
        raise ValueError(f"dtype {wire.printable(text, 20)!r}")
    dtype = np.dtype(text)  # a dtype.str: "<f4", "|u1", "|b1"; never an object or record type (checked next)
    if dtype.kind not in KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"dtype {dtype}: not a numeric array")
    return dtype


def _object_hook(obj: dict):
    if b"__ndarray__" in obj or "__ndarray__" in obj:
        get = lambda k: obj.get(k.encode(), obj.get(k))  # noqa: E731 - keys arrive as bytes or str
        data, shape, dtype = get("data"), get("shape"), _dtype(get("dtype"))
        if not isinstance(data, bytes) or not isinstance(shape, (list, tuple)) or len(shape) > MAX_DIMS:
            raise ValueError("a malformed array")
        if not all(isinstance(d, int) and d >= 0 for d in shape):
            raise ValueError(f"array shape {wire.printable(shape, 60)}")
        if math.prod(shape) * dtype.itemsize != len(data):
            raise ValueError(f"an array of shape {list(shape)} and {dtype} needs {math.prod(shape) * dtype.itemsize} "
                             f"bytes, it has {len(data)}")  # fmt: skip
        return np.frombuffer(data, dtype=dtype).reshape(shape)
    if b"__npgeneric__" in obj or "__npgeneric__" in obj:
        get = lambda k: obj.get(k.encode(), obj.get(k))  # noqa: E731
        value = get("data")
        if not isinstance(value, (bool, int, float)):
            raise ValueError("a malformed scalar")
        return _dtype(get("dtype")).type(value)
    return obj


def unpack(data: bytes, max_bytes: int = wire.MAX_FRAME) -> Any:
    """A message of openpi's encoding, checked: its size, the number of entries (msgpack's own limits, before
    anything is allocated for them) and every array; ValueError otherwise."""
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError("a text message where a binary one belongs")
    if len(data) > max_bytes:
        raise ValueError(f"{len(data)} bytes, over the {max_bytes} cap")
    mp = msgpack()
    try:
        return mp.unpackb(
            data,
            object_hook=_object_hook,
            raw=False,
            strict_map_key=False,
            max_bin_len=max_bytes,
            max_str_len=1 << 20,
            max_array_len=MAX_KEYS,
            max_map_len=MAX_KEYS,
            max_ext_len=0,
        )
    except (mp.UnpackException, mp.ExtraData, ValueError, TypeError, RecursionError, UnicodeDecodeError) as exc:
        raise ValueError(str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__) from None


def _str_keys(d: dict) -> dict:
    return {(k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)): v for k, v in d.items()}


# -- the server ---------------------------------------------------------------------------------------------------


class OpenpiServer:
    """Serve `model` to openpi clients at `bind`, on one asyncio event loop as openpi's own server does (no thread
    per connection to hand each message over); inferences run one at a time on that loop (the model is the
    bottleneck). `serve_forever()` runs until `stop()` (a signal handler, or another thread)."""

    def __init__(
        self,
        model: str,
        bind: str = "127.0.0.1:8000",
        backend: str = "auto",
        device: str = "auto",
        token: bytes | None = None,
        max_frame: int = wire.MAX_FRAME,
        session: Session | None = None,
        threads: int | None = None,
    ):
        import socket

        self._ws = websockets()
        host, port = check_bind(bind, token)
        if max_frame < 64:
            raise BadInput(f"--max-frame {max_frame} is smaller than any message; give e.g. {wire.MAX_FRAME}")
        self.token, self.max_frame = token, max_frame
        self.path, self.session, self.sha256 = open_served(model, backend, device, threads, session)
        self.inputs = Inputs(self.session)
        self.stats = Stats()
        self._outputs = [o.name for o in self.session.io.outputs]
        self._inputs = list(self.inputs.expect)
        s = self.session
        self.metadata = {
            "edgeperf": __version__,
            "protocol": "openpi",
            "model": self.path.name,
            "sha256": self.sha256,
            "backend": s.backend,
            "on_gpu": bool(s.on_gpu),
            "io": {"inputs": [t.to_dict() for t in s.io.inputs], "outputs": [t.to_dict() for t in s.io.outputs]},
            "control_hz": s.io.metadata.get("control_hz"),
        }
        self._hello = pack(self.metadata)
        # The socket is bound here, so that a bad --bind is said before the banner, not inside the loop.
        try:
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._sock = socket.create_server((host, port), family=family)
        except OSError as exc:
            raise BadInput(f"--bind {bind}: cannot listen there ({exc.strerror or exc})") from None
        sock = self._sock.getsockname()
        self.address = f"ws://{sock[0] if ':' not in sock[0] else '[' + sock[0] + ']'}:{sock[1]}"
        self._loop = None
        self._stopped = threading.Event()

    def banner(self) -> list[str]:
        auth = "api key (Authorization: Api-Key)" if self.token else "none (loopback only)"
        lines = [
            f"serving {self.path.name} (sha256 {self.sha256[:12]}, {self.session.backend}) at {self.address}, "
            f"openpi protocol (websocket, msgpack-numpy), auth: {auth}"
        ]
        for kind, specs in (("input", self.session.io.inputs), ("output", self.session.io.outputs)):
            lines += [f"  {kind} {t.name}: {t.dtype} {list(t.shape)}" for t in specs]
        return lines

    def serve_forever(self) -> None:
        import asyncio

        asyncio.run(self._main())

    async def _main(self) -> None:
        import asyncio

        from websockets.asyncio.server import serve

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self._stopped.is_set():
            return
        async with serve(
            self._handle,
            sock=self._sock,
            compression=None,
            max_size=self.max_frame,
            process_request=self._process_request,
            ping_interval=None,  # a policy client may be busy for seconds; TCP tells a dead peer
        ):
            await self._stop.wait()

    def stop(self) -> None:
        """From a signal handler or any thread: the loop ends at its next turn."""
        self._stopped.set()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._sock.close()
        self.session.close()

    def __enter__(self) -> OpenpiServer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- one connection ----------------------------------------------------------------------------------
    def _process_request(self, conn, request):
        if request.path == "/healthz":
            return conn.respond(http.HTTPStatus.OK, "OK\n")
        if self.token is not None:
            said = request.headers.get("Authorization", "")
            if not hmac.compare_digest(said.encode(), b"Api-Key " + self.token):
                self.stats.dropped["unauthenticated"] += 1
                return conn.respond(http.HTTPStatus.UNAUTHORIZED, "an api key is needed (Authorization: Api-Key)\n")
        return None

    async def _handle(self, conn) -> None:
        self.stats.sessions += 1
        self.session.reset()  # a new client is a new episode: a recurrent model's state starts from zero
        prev_total = None
        try:
            await conn.send(self._hello)
            async for data in conn:
                t0 = time.monotonic()
                self.stats.frames += 1
                try:
                    obs = unpack(data, self.max_frame)
                except ValueError as exc:
                    self.stats.dropped["malformed"] += 1
                    await conn.send(f"edgeperf: the observation is not openpi's msgpack-numpy: {exc}")
                    await conn.close(1003, "malformed observation")
                    return
                try:
                    reply = self._answer(obs)  # on the loop: one inference at a time, as the model allows anyway
                except Exception as exc:  # whatever a hostile observation does, the server serves on
                    reply = f"edgeperf: the observation could not be used: {type(exc).__name__}"
                if isinstance(reply, str):
                    self.stats.errors += 1
                    await conn.send(reply)  # openpi's convention for a failed inference: a text message
                    continue
                reply["server_timing"] = {"infer_ms": (time.monotonic() - t0) * 1e3}
                if prev_total is not None:
                    reply["server_timing"]["prev_total_ms"] = prev_total * 1e3
                await conn.send(pack(reply))
                self.stats.requests += 1
                prev_total = time.monotonic() - t0
        except self._ws.exceptions.ConnectionClosed:
            pass
        finally:
            sent = getattr(conn.protocol, "close_sent", None)
            if sent is not None and sent.code == 1009:  # over max_size: refused before it was read
                self.stats.dropped["oversized"] += 1
            self.stats.disconnects += 1

    def _answer(self, obs) -> dict | str:
        if not isinstance(obs, dict):
            return f"edgeperf: an observation is a map of arrays, not a {type(obs).__name__}"
        arrays, single = self._arrays(_str_keys(obs))
        if isinstance(arrays, str):
            return arrays
        problem = self.inputs.problem(arrays)
        if problem:
            return f"edgeperf: {problem}"
        s = self.session
        t0 = time.perf_counter_ns()
        try:
            outs = s.checked(s.infer_all, arrays)
        except EdgeperfError as exc:
            return f"edgeperf: the model failed: {exc}"
        infer_ns = time.perf_counter_ns() - t0
        outs = [o[0] if single else o for o in outs]
        reply = {"actions": outs[0], "policy_timing": {"infer_ms": infer_ns / 1e6}}
        if len(outs) > 1:  # the logits of a discrete policy, ...: every output by name
            reply["outputs"] = dict(zip(self._outputs, outs, strict=False))
        return reply

    def _arrays(self, obs: dict) -> tuple[dict | str, bool]:
        """The model's inputs from an observation (see the module docstring), a batch axis added where it had
        none; (message, False) when it cannot be mapped."""
        names = self._inputs
        if all(n in obs for n in names):
            picked = {n: obs[n] for n in names}
        else:
            arrays = {k: v for k, v in obs.items() if isinstance(v, np.ndarray)}
            if len(names) != 1 or len(arrays) != 1:
                return (
                    f"edgeperf: the model's inputs are {names}; the observation has arrays {sorted(arrays)[:8]} "
                    "(name them after the inputs)"
                ), False
            picked = {names[0]: next(iter(arrays.values()))}
        out, single = {}, False
        for name, (want, ndim, _) in self.inputs.expect.items():
            a = picked[name]
            if not isinstance(a, np.ndarray):
                return f"edgeperf: input '{name}' is a {type(a).__name__}, not an array", False
            if a.dtype != want and a.dtype.kind == "f" and want.kind == "f":
                a = a.astype(want)
            if a.ndim == ndim - 1:
                a, single = a[None], True
            out[name] = a
        return out, single


# -- the client ---------------------------------------------------------------------------------------------------


class OpenpiSession(Session):
    """A Session whose model is behind an openpi server (edgeperf's or another): the contract RemoteSession
    offers the HIL loop (send / poll / cancel, timing of each reply, reconnect), over openpi's websocket.

    openpi has no sequence numbers: replies come in the order of the requests, so a reply is matched to the oldest
    request still awaited, and the replies of requests given up on are dropped (counted late) in turn. The
    server's own time is its `server_timing.infer_ms` (openpi's servers time from receipt to reply); the clock
    offset is unknown (0). A foreign server whose metadata does not announce `io` is sent the observation as
    {obs_key: array} and must answer "actions" of the given shape."""

    backend = "openpi"
    clock_offset_measured = False  # openpi's replies carry the server's inference time, never its clock

    def __init__(
        self,
        uri: str,
        token: str | bytes | None = None,
        timeout_s: float = 1.0,
        connect_s: float = 5.0,
        obs_shape: tuple | None = None,
        action_shape: tuple | None = None,
        obs_key: str = DEFAULT_OBS_KEY,
    ):
        if not (0 < timeout_s <= 3600 and 0 < connect_s <= 3600):
            raise BadInput(f"timeouts must be above 0 and at most 3600 s (got {timeout_s}, {connect_s})")
        self.address = check_uri(uri)
        self.token = wire.as_token(token)
        self.timeout_s, self.connect_s = timeout_s, connect_s
        self._shapes, self.obs_key = (obs_shape, action_shape), obs_key
        self._ws_mod = websockets()
        self._conn = None
        self.server: dict = {}
        self.sha256: str | None = None
        self.last: Timing | None = None
        self.stats = dict.fromkeys(("sent", "received", "timeouts", "late", "rejected", "reconnects"), 0)
        self._seq = 0
        self._pending: collections.OrderedDict[int, int] = collections.OrderedDict()  # seq -> t1, oldest first
        self._single: set[int] = set()  # sent by send() without a batch axis: the reply keeps none
        self._unbatched: set[int] = set()  # went on the wire without a batch axis
        self._given_up: set[int] = set()
        self.late_rtt_ns: list[int] = []
        self._handshake()

    @classmethod
    def connect(cls, uri: str, token=None, timeout_s: float = 1.0, connect_s: float = 5.0, **kw) -> OpenpiSession:
        return cls(uri, token=token, timeout_s=timeout_s, connect_s=connect_s, **kw)

    def _handshake(self) -> None:
        from websockets.sync import client

        headers = {"Authorization": f"Api-Key {self.token.decode()}"} if self.token else None
        try:
            self._conn = client.connect(
                self.address,
                compression=None,
                max_size=wire.MAX_FRAME,
                open_timeout=self.connect_s,
                additional_headers=headers,
                ping_interval=None,
            )
            self._conn = getattr(self._conn, "__enter__", lambda: self._conn)()  # websockets 17: a context manager
            data = self._conn.recv(timeout=self.connect_s)
        except (OSError, TimeoutError, self._ws_mod.exceptions.WebSocketException) as exc:
            self.close()
            why = getattr(exc, "strerror", None) or (str(exc).splitlines() or [type(exc).__name__])[0][:200]
            if "401" in str(exc):
                why = "it asks for an api key: give the server's token with --token-file"
            raise HardwareMissing(
                f"no openpi server answered at {self.address} within {self.connect_s:g} s: {why}"
            ) from None
        try:
            meta = unpack(data)
            if not isinstance(meta, dict):
                raise ValueError(f"metadata is a {type(meta).__name__}")
            meta = _str_keys(meta)
            io = meta.get("io")
            if io is not None:
                io = _str_keys(io)
                inputs = tuple(_spec(_str_keys(t)) for t in io["inputs"])
                outputs = tuple(_spec(_str_keys(t)) for t in io["outputs"])
        except (ValueError, KeyError, TypeError) as exc:
            self.close()
            raise BadInput(f"{self.address} sent metadata edgeperf cannot read ({exc})") from None
        if io is None:  # a foreign openpi server: the observation under obs_key, "actions" back
            obs_shape, action_shape = self._shapes
            if obs_shape is None or action_shape is None:
                self.close()
                raise BadInput(f"{self.address} does not announce its inputs (its metadata has no 'io')")
            inputs = (TensorSpec(self.obs_key, ("batch", *obs_shape), "float32"),)
            outputs = (TensorSpec("actions", ("batch", *action_shape), "float32"),)
        sha = wire.printable(meta.get("sha256"), 64) or None
        if self.sha256 is not None and sha != self.sha256:
            self.close()
            raise ModelChanged(f"{self.address} now serves a model with sha256 {str(sha)[:12]}, not this session's")
        self.sha256, self.server = sha, {k: meta.get(k) for k in ("backend", "model", "sha256", "edgeperf")}
        self.server["protocol"] = "openpi"
        self.io = IOSpec(inputs=inputs, outputs=outputs, metadata={"control_hz": meta.get("control_hz")})
        self.path = Path(wire.printable(meta.get("model") or "openpi-server"))
        self.on_gpu = bool(meta.get("on_gpu"))
        self.max_batch = None
        self._pending.clear()
        self._single.clear()
        self._unbatched.clear()
        self._given_up.clear()

    def reconnect(self) -> None:
        self.close()
        self._handshake()
        self.stats["reconnects"] += 1

    # -- the async API, as RemoteSession's ---------------------------------------------------------------
    def send(self, obs: Any, action_only: bool = False) -> int:
        """Like RemoteSession.send: the reply has a batch axis when obs had one."""
        seq = self._send(self.prepare(obs))
        if self._is_single(obs):
            self._single.add(seq)
        return seq

    def _send(self, prepared: dict) -> int:
        """One observation goes without its batch axis, as openpi clients send it (a foreign server expects that);
        its reply gets the axis back (_reply)."""
        one = all(len(v) == 1 for v in prepared.values())
        if one:
            prepared = {k: v[0] for k, v in prepared.items()}
        if self._conn is None:
            raise LinkError(f"the session with {self.address} is closed")
        self._seq += 1
        t1 = time.perf_counter_ns()
        try:
            self._conn.send(pack(prepared))
        except (OSError, self._ws_mod.exceptions.ConnectionClosed) as exc:
            raise LinkError(f"{self.address}: the connection closed ({exc})") from None
        self._pending[self._seq] = t1
        if one:
            self._unbatched.add(self._seq)
        while len(self._pending) > MAX_PENDING:
            self._given_up.add(self._pending.popitem(last=False)[0])
        self.stats["sent"] += 1
        return self._seq

    def poll(self, timeout_s: float = 0.0, busy: bool = False) -> Reply | None:
        deadline = time.perf_counter() + timeout_s
        while True:
            remaining = max(0.0, deadline - time.perf_counter())
            try:
                data = self._conn.recv(timeout=remaining)
            except TimeoutError:
                return None
            except self._ws_mod.exceptions.ConnectionClosed as exc:
                raise LinkError(f"{self.address}: the connection closed ({exc})") from None
            t4 = time.perf_counter_ns()
            if not self._pending:
                self.stats["rejected"] += 1  # an answer to nothing
                continue
            seq, t1 = self._pending.popitem(last=False)
            if seq in self._given_up:
                self._given_up.discard(seq)
                self._unbatched.discard(seq)
                self.stats["late"] += 1
                if len(self.late_rtt_ns) < MAX_LATE:
                    self.late_rtt_ns.append(t4 - t1)
                continue
            return self._reply(seq, t1, t4, data)

    def cancel(self, seq: int) -> None:
        if seq in self._pending:
            self._given_up.add(seq)
        self._single.discard(seq)

    def _reply(self, seq: int, t1: int, t4: int, data) -> Reply:
        if isinstance(data, str):
            self._single.discard(seq)
            raise RemoteError(f"the server at {self.address} refused the request: {wire.printable(data, 300)}")
        try:
            doc = unpack(data)
            doc = _str_keys(doc) if isinstance(doc, dict) else None
            if doc is None or not isinstance(doc.get("actions"), np.ndarray):
                raise ValueError("no 'actions' array in the answer")
        except ValueError as exc:
            self.stats["rejected"] += 1
            raise RemoteError(f"{self.address} answered something that is not an openpi action ({exc})") from None
        self.stats["received"] += 1
        outs = doc.get("outputs")
        outs = _str_keys(outs) if isinstance(outs, dict) else {}
        first = self.io.outputs[0].name
        outputs = {o.name: outs.get(o.name) for o in self.io.outputs if isinstance(outs.get(o.name), np.ndarray)}
        outputs[first] = doc["actions"]
        if seq in self._unbatched and seq not in self._single:  # the caller's batch of one: its axis back
            outputs = {k: v[None] for k, v in outputs.items()}
        self._unbatched.discard(seq)
        self._single.discard(seq)
        timing = doc.get("server_timing")
        infer_ms = _str_keys(timing).get("infer_ms") if isinstance(timing, dict) else None
        server_ns = int(infer_ms * 1e6) if isinstance(infer_ms, (int, float)) and math.isfinite(infer_ms) else 0
        server_ns = max(0, min(server_ns, t4 - t1))
        t = Timing(t1, t1, t1 + server_ns, t4, server_ns)  # the offset is unknown: the server's times on ours
        self.last = t
        return Reply(seq, outputs, t)

    # -- the Session contract ------------------------------------------------------------------------------
    def _call(self, prepared: dict) -> Reply:
        seq = self._send(prepared)
        r = self.poll(self.timeout_s)
        if r is None:
            self.cancel(seq)
            self.stats["timeouts"] += 1
            raise LinkTimeout(f"no reply from {self.address} within {self.timeout_s * 1e3:g} ms")
        return r

    def infer_all(self, prepared: dict) -> list[np.ndarray]:
        r = self._call(prepared)
        return [r.outputs[s.name] for s in self.io.outputs if s.name in r.outputs]

    def infer(self, prepared: dict) -> np.ndarray:
        return self._call(prepared).outputs[self.io.outputs[0].name]

    def reset(self) -> None:
        """openpi's client resets nothing on the server (its reset() is local): neither does this."""

    def server_stats(self) -> dict:
        return {}

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
            self._conn = None


def check_uri(uri: str) -> str:
    """ws://HOST:PORT[/path] (wss:// too); one line for anything else."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"--connect {wire.printable(uri, 80)}: {exc}") from None
    if parts.scheme not in ("ws", "wss") or not parts.hostname or port is None:
        raise BadInput(f"--connect {wire.printable(uri, 80)}: give ws://HOST:PORT of an openpi server")
    return uri
