"""The edgeperf wire protocol, version 1: how `edgeperf serve` (on the robot) and a client (the host, or your
own robot code) talk over ZeroMQ. Never pickle: fixed binary headers, raw array bytes, JSON only for the
handshake. Everything below is enough to write a client without edgeperf.

Transport: ZeroMQ over TCP. The server binds a ROUTER socket; a client connects a DEALER (each message is
one frame) or a REQ (one empty delimiter frame, then the frame; the server answers the same way). One
ZeroMQ message carries exactly one edgeperf frame:

    header (60 bytes, little-endian, struct "<4sBBHQQqqqqI")
      magic        4s   b"EPW1"
      version      u8   1 (the protocol version; stays at this offset in every version)
      type         u8   HELLO=1 WELCOME=2 INFER=3 ACTION=4 RESET=5 RESET_OK=6 ERROR=7 BYE=8 STATS=9 STATS_OK=10
      flags        u16  bit 0: a 32-byte HMAC-SHA256 trailer follows the body; bit 1 (INFER): return only the
                        first output (the action)
      session      u64  0 in HELLO; the server's random id for this connection (WELCOME) in every later frame
      seq          u64  the client's sequence number, strictly increasing within a session (a reply echoes it)
      t_client_send i64 ns, the client's clock when it sent the request (echoed in the reply)
      t_server_recv i64 ns, the server's monotonic clock when the request arrived (replies only, else 0)
      t_server_send i64 ns, the server's monotonic clock just before the reply left (replies only, else 0)
      infer_ns     i64  ns the model took (ACTION only, else 0)
      body_len     u32  bytes of body that follow
    body
      INFER / ACTION: u16 count, then per array:
        u8 name_len, name (UTF-8), u8 dtype code, u8 ndim, u32 x ndim shape, u32 nbytes, raw C-order bytes
        (little-endian). INFER: one array per model input; ACTION: every output, in the model's order.
      HELLO, WELCOME, RESET, RESET_OK, ERROR, BYE, STATS, STATS_OK: UTF-8 JSON (may be empty)
        HELLO   {"protocol": 1, "edgeperf": "0.x"}
        WELCOME {"protocol", "edgeperf", "model", "sha256", "backend", "device", "on_gpu", "max_batch",
                 "io": {"inputs": [{"name", "shape", "dtype"}], "outputs": [...]}, "metadata": {...},
                 "control_hz"}
        ERROR   {"error": "one line", "code": "protocol|shape|session|model|bad"}
    trailer (flags bit 0): HMAC-SHA256(token, everything before it), 32 bytes; always the frame's last 32 bytes

dtype codes: 1 float32, 2 float64, 3 float16, 4 int8, 5 uint8, 6 int16, 7 int32, 8 int64, 9 bool, 10 uint16,
11 uint32, 12 uint64.

Rules: a frame over the size cap (16 MiB by default), with a bad magic, a truncated body or a bad HMAC is
dropped without an answer (and counted by the server). With a token every frame in both directions carries the
HMAC; the server answers nothing unauthenticated. A request whose seq is not above the session's last one is a
replay and is dropped. A HELLO of another protocol version is answered with an ERROR (code "protocol") that
names both versions. Timestamps are each side's own monotonic clock: the client splits a round trip into
network and server time, and estimates the clock offset with the NTP formula ((t2 - t1) + (t3 - t4)) / 2.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeperf.errors import BadInput
from edgeperf.results.io import open_input

MAGIC = b"EPW1"
PROTOCOL = 1
HEADER = struct.Struct("<4sBBHQQqqqqI")
MAC_LEN = 32
MAX_FRAME = 16 << 20
MIN_TOKEN = 16

HELLO, WELCOME, INFER, ACTION, RESET, RESET_OK, ERROR, BYE, STATS, STATS_OK = range(1, 11)
TYPES = {
    HELLO: "HELLO",
    WELCOME: "WELCOME",
    INFER: "INFER",
    ACTION: "ACTION",
    RESET: "RESET",
    RESET_OK: "RESET_OK",
    ERROR: "ERROR",
    BYE: "BYE",
    STATS: "STATS",
    STATS_OK: "STATS_OK",
}
FLAG_MAC = 1
FLAG_ACTION_ONLY = 2

DTYPES = {
    1: "float32",
    2: "float64",
    3: "float16",
    4: "int8",
    5: "uint8",
    6: "int16",
    7: "int32",
    8: "int64",
    9: "bool",
    10: "uint16",
    11: "uint32",
    12: "uint64",
}
CODES = {np.dtype(v): k for k, v in DTYPES.items()}
_ARRAY = struct.Struct("<BB")  # dtype code, ndim
_U32 = struct.Struct("<I")
_U16 = struct.Struct("<H")


class FrameError(ValueError):
    """A frame that does not parse (bad magic, truncated, over the cap, bad HMAC): dropped, never answered."""

    def __init__(self, reason: str, kind: str = "malformed"):
        super().__init__(reason)
        self.kind = kind  # malformed | oversized | unauthenticated


@dataclass(slots=True)
class Frame:
    type: int
    seq: int = 0
    session: int = 0
    flags: int = 0
    t_client_send: int = 0
    t_server_recv: int = 0
    t_server_send: int = 0
    infer_ns: int = 0
    body: bytes = b""
    version: int = PROTOCOL
    arrays: dict = field(default_factory=dict)  # decoded INFER/ACTION arrays (decode fills it)
    t4: int = 0  # the receiver's own clock when it arrived (the client sets it)

    def json(self) -> dict:
        """The body as a JSON object ({} when empty); FrameError when it is not one."""
        if not self.body:
            return {}
        try:
            doc = json.loads(bytes(self.body).decode())
        # ValueError: not UTF-8, not JSON, an int of 5,000 digits; RecursionError: "[[[[..." nests past the stack
        except (ValueError, RecursionError) as exc:
            raise FrameError(f"{TYPES.get(self.type, self.type)} body is not JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise FrameError(f"{TYPES.get(self.type, self.type)} body is not a JSON object")
        return doc


def encode(frame: Frame, token: bytes | None = None) -> bytes:
    """The bytes of a frame; with a token, flags bit 0 and the HMAC trailer."""
    flags = frame.flags | FLAG_MAC if token else frame.flags & ~FLAG_MAC
    head = HEADER.pack(
        MAGIC,
        frame.version,
        frame.type,
        flags,
        frame.session,
        frame.seq,
        frame.t_client_send,
        frame.t_server_recv,
        frame.t_server_send,
        frame.infer_ns,
        len(frame.body),
    )
    data = head + frame.body
    if token:
        data += hmac.new(token, data, hashlib.sha256).digest()
    return data


def decode(data: bytes, token: bytes | None = None, max_frame: int = MAX_FRAME) -> Frame:
    """Parse and authenticate a frame; FrameError (with .kind) for anything that is not a valid one. INFER and
    ACTION bodies are decoded into .arrays (read-only views on `data`)."""
    if len(data) > max_frame:
        raise FrameError(f"frame of {len(data)} bytes is over the cap of {max_frame}", "oversized")
    if len(data) < HEADER.size:
        raise FrameError(f"frame of {len(data)} bytes is shorter than the {HEADER.size}-byte header")
    magic, version, mtype, flags, session, seq, t1, t2, t3, infer_ns, body_len = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise FrameError("bad magic")
    end = HEADER.size + body_len
    if token:
        if not flags & FLAG_MAC or len(data) < HEADER.size + MAC_LEN:
            raise FrameError("frame carries no HMAC", "unauthenticated")
        mac = hmac.new(token, memoryview(data)[:-MAC_LEN], hashlib.sha256).digest()
        if not hmac.compare_digest(mac, bytes(memoryview(data)[-MAC_LEN:])):
            raise FrameError("bad HMAC", "unauthenticated")
    elif flags & FLAG_MAC:
        raise FrameError("frame carries an HMAC but this side has no token", "unauthenticated")
    if end + (MAC_LEN if flags & FLAG_MAC else 0) != len(data):
        raise FrameError(f"body length {body_len} does not fit a frame of {len(data)} bytes")
    frame = Frame(mtype, seq, session, flags, t1, t2, t3, infer_ns, memoryview(data)[HEADER.size : end], version)
    if version == PROTOCOL and mtype in (INFER, ACTION):
        frame.arrays = decode_arrays(frame.body)
    elif mtype not in TYPES:
        raise FrameError(f"unknown message type {mtype}")
    return frame


# The bytes around each payload depend on the arrays' names, dtypes and shapes only, which a control loop sends
# the same every step: they are built once and kept (about half the cost of encoding and decoding a small body).
_HEADS: dict[tuple, bytes] = {}
_LAYOUTS: dict[bytes, tuple] = {}  # the first array's head -> (body length, the rest's heads, the arrays' places)
_CACHED = 256  # of each: far more layouts than a server ever meets; the oldest goes first when full
# Only layouts of a few small arrays are kept, so a peer that sends many odd layouts (the server parses a frame
# before it checks it against the model) holds at most _CACHED x a few KiB, and cannot crowd out the client's
# own for good: a flood only evicts it until its next frame.
_CACHED_ARRAYS = 16
_CACHED_HEAD_BYTES = 4096


def _head(name: str, a: np.ndarray) -> bytes:
    key = (name, a.dtype, a.shape)
    head = _HEADS.get(key)
    if head is None:
        code = CODES.get(a.dtype)
        if code is None:
            raise BadInput(f"array '{name}' has dtype {a.dtype}, which the wire does not carry")
        raw = name.encode()
        if len(raw) > 255 or a.ndim > 255:
            raise BadInput(f"array '{name[:40]}' has a name over 255 bytes or over 255 dimensions")
        head = b"".join(
            (bytes((len(raw),)), raw, _ARRAY.pack(code, a.ndim), struct.pack(f"<{a.ndim}I", *a.shape),
             _U32.pack(a.nbytes))
        )  # fmt: skip
        if len(_HEADS) < _CACHED:
            _HEADS[key] = head
    return head


def encode_arrays(arrays: dict[str, np.ndarray] | Iterable[tuple[str, np.ndarray]]) -> bytes:
    items = arrays.items() if isinstance(arrays, dict) else arrays
    parts = [b""]
    for name, arr in items:
        a = np.ascontiguousarray(arr)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        parts += [_head(name, a), a.tobytes()]
    parts[0] = _U16.pack(len(parts) // 2)
    return b"".join(parts)


def decode_arrays(body) -> dict[str, np.ndarray]:
    body = memoryview(body)
    fast = _known(body)
    if fast is not None:
        return fast
    try:
        (count,) = _U16.unpack_from(body)
        pos, out, heads, places = 2, {}, [], []
        for _ in range(count):
            start = pos
            n = body[pos]
            name = bytes(body[pos + 1 : pos + 1 + n]).decode()
            pos += 1 + n
            code, ndim = _ARRAY.unpack_from(body, pos)
            pos += 2
            shape = struct.unpack_from(f"<{ndim}I", body, pos)
            pos += 4 * ndim
            (nbytes,) = _U32.unpack_from(body, pos)
            pos += 4
            if code not in DTYPES:
                raise FrameError(f"array '{name}' has unknown dtype code {code}")
            dtype = np.dtype(DTYPES[code])
            # math.prod: exact in Python ints (np.prod in int64 wraps, so (65536,)*4 would "fit" 0 bytes)
            if nbytes != dtype.itemsize * math.prod(shape) or pos + nbytes > len(body):
                raise FrameError(f"array '{name}' of shape {list(shape)} does not fit its {nbytes} bytes")
            if name in out:
                raise FrameError(f"array '{name}' appears twice")
            out[name] = np.ndarray(shape, dtype, body, pos)  # a read-only view on the frame
            heads.append((start, bytes(body[start:pos])))
            places.append((name, dtype, pos, shape))
            pos += nbytes
    except (struct.error, IndexError, UnicodeDecodeError, ValueError) as exc:
        raise FrameError(f"array block is truncated or malformed ({exc})") from None
    if pos != len(body):
        raise FrameError(f"{len(body) - pos} stray bytes after the arrays")
    if heads and len(heads) <= _CACHED_ARRAYS and sum(len(h) for _, h in heads) <= _CACHED_HEAD_BYTES:
        if len(_LAYOUTS) >= _CACHED:
            with contextlib.suppress(RuntimeError, KeyError):  # another thread's decode evicted it first
                del _LAYOUTS[next(iter(_LAYOUTS))]  # the oldest
        _LAYOUTS[bytes(body[:2]) + heads[0][1]] = (len(body), heads[1:], places)
    return out


def _known(body: memoryview) -> dict[str, np.ndarray] | None:
    """The arrays of a body laid out like one decoded before (every byte around the payloads equal, and the
    length), without parsing it again; None otherwise."""
    n = len(body)
    if n < 5 or n < 5 + body[2]:
        return None
    # count (2), name length (1), name, dtype code (1), ndim (1), shape (4 x ndim), byte count (4)
    layout = _LAYOUTS.get(bytes(body[: 9 + body[2] + 4 * body[4 + body[2]]]))
    if layout is None or layout[0] != n:
        return None
    for start, head in layout[1]:
        if body[start : start + len(head)] != head:
            return None
    return {name: np.ndarray(shape, dtype, body, pos) for name, dtype, pos, shape in layout[2]}


def json_body(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":")).encode()


MAX_TOKEN_FILE = 1 << 16


def printable(text, limit: int = 200) -> str:
    """What a peer or a file says, safe for a terminal: control characters (ANSI escapes, BEL, carriage return)
    dropped, and at most `limit` characters."""
    import unicodedata

    out = "".join(c for c in str(text) if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co"))
    return out if len(out) <= limit else out[: limit - 3] + "..."


def read_token_file(path: str | os.PathLike) -> bytes:
    """The shared token in a file only its owner can read; BadInput says what is wrong and how to fix it."""

    p = Path(path)
    fix = f'create it with: python -c "import secrets; print(secrets.token_hex(32))" > {p} && chmod 600 {p}'
    # results.io opens it: a regular file, its size checked before a byte is read (a token is a short secret)
    hint = f"a token file holds one short secret; {fix}"
    with open_input(p, "token file", max_bytes=MAX_TOKEN_FILE, hint=hint) as (f, st):
        if st.st_mode & 0o077:
            raise BadInput(f"token file {p} is readable by others (mode {st.st_mode & 0o777:04o}); run: chmod 600 {p}")
        token = f.read(MAX_TOKEN_FILE + 1)[:MAX_TOKEN_FILE].strip()
    if not token:
        raise BadInput(f"token file {p} is empty; {fix}")
    if len(token) < MIN_TOKEN:
        raise BadInput(f"the token in {p} has {len(token)} bytes, fewer than {MIN_TOKEN}; {fix}")
    return token


def as_token(token: str | bytes | None) -> bytes | None:
    if token is None:
        return None
    token = token.encode() if isinstance(token, str) else bytes(token)
    token = token.strip()
    if len(token) < MIN_TOKEN:
        raise BadInput(f"the token has {len(token)} bytes, fewer than {MIN_TOKEN}; use e.g. secrets.token_hex(32)")
    return token


def parse_address(
    text: str, option: str = "--bind", default_host: str = "127.0.0.1", *, listen: bool = True
) -> tuple[str, int]:
    """'HOST:PORT', 'tcp://HOST:PORT', '[::1]:PORT' or 'PORT' -> (host, port); port 0 (a free one) only to listen."""
    raw = text.strip()
    if raw.startswith("tcp://"):
        raw = raw[len("tcp://") :]
    host, sep, port = raw.rpartition(":")
    if not sep:
        host, port = default_host, raw
    host = host.strip("[]") or default_host
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not (0 if listen else 1) <= number <= 65535 or any(c in host for c in "/ \t*,;"):
        raise BadInput(f"{option} {text!r} is not an address; write HOST:PORT, e.g. 127.0.0.1:7007")
    return host, number


def is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(host: str, port: int | str) -> str:
    return f"tcp://[{host}]:{port}" if ":" in host else f"tcp://{host}:{port}"
