"""unitree_sdk2's low-level messages, as unitree_sdk2_python's IDL declares them, and the CRC the robot checks.

Two families: `unitree_hg` (G1, H1-2: 35 motor slots) and `unitree_go` (Go2, B2, H1: 20 motor slots). Field order,
types and type names are those of unitree_sdk2py/idl/<family>/msg/dds_/ (typename "unitree_hg.msg.dds_.LowCmd_",
...), so a controller written with unitree_sdk2py matches these topics as they are.

The CRC is unitree_sdk2py's utils/crc.py: the message packed little-endian into the C struct's layout (the struct
formats below, padding included), read as 32-bit little-endian words, the last word (the crc field itself) left
out, and CRC-32/MPEG-2 (polynomial 0x04C11DB7, initial 0xFFFFFFFF, no reflection, no final xor) taken over the
words most significant bit first. It is computed here through zlib's reflected CRC-32 on bit-reversed bytes (the
same CRC, in C) and checked against the bitwise loop of the older crc.py in the tests.

cyclonedds (the `dds` extra) is imported when this module is.
"""

# no `from __future__ import annotations`: cyclonedds reads the field types from the live annotations

import struct
import sys
import zlib
from array import array
from dataclasses import dataclass, field

from edgeperf.errors import require

_cdds_idl = require("cyclonedds.idl", "dds", "for the DDS robot bus (edgeperf hil --bus)", package="cyclonedds")
_annotate = require("cyclonedds.idl.annotations", "dds", package="cyclonedds")
_t = require("cyclonedds.idl.types", "dds", package="cyclonedds")
IdlStruct = _cdds_idl.IdlStruct
u8, u16, u32, i16, i32, f32 = _t.uint8, _t.uint16, _t.uint32, _t.int16, _t.int32, _t.float32
arr = _t.array

TOPIC_STATE = "rt/lowstate"
TOPIC_CMD = "rt/lowcmd"


def _final(cls):
    return _annotate.final(_annotate.autoid("sequential")(cls))


class _Wire:
    """Fast (de)serialization for the four low-level messages: struct instead of cyclonedds' generic machinery
    (500 Hz of hg LowState_ would take most of a core there), bytes equal to it (tested). A sample may carry
    its encoded bytes already (`_wire`, set by the robot loop)."""

    def serialize(self, buffer=None, endianness=None, use_version_2=None) -> bytes:
        wire = self.__dict__.get("_wire")
        if wire is not None:
            return wire
        layout = LAYOUTS[type(self)]
        return layout.encode(layout.values(self))

    @classmethod
    def deserialize(cls, data, has_header: bool = True, use_version_2=None):
        layout = LAYOUTS[cls]
        try:
            values = layout.decode(bytes(data))
        except ValueError:  # big-endian or otherwise unusual: cyclonedds' own decoder
            return cls.__idl__.deserialize(data, has_header=has_header, use_version_2=use_version_2)
        return layout.build(values)


# --- unitree_hg (G1, H1-2) -------------------------------------------------------------------------------------
@_final
@dataclass
class HgMotorCmd(IdlStruct, typename="unitree_hg.msg.dds_.MotorCmd_"):
    mode: u8 = 0
    q: f32 = 0.0
    dq: f32 = 0.0
    tau: f32 = 0.0
    kp: f32 = 0.0
    kd: f32 = 0.0
    reserve: u32 = 0


@_final
@dataclass
class HgMotorState(IdlStruct, typename="unitree_hg.msg.dds_.MotorState_"):
    mode: u8 = 0
    q: f32 = 0.0
    dq: f32 = 0.0
    ddq: f32 = 0.0
    tau_est: f32 = 0.0
    temperature: arr[i16, 2] = field(default_factory=lambda: [0, 0])
    vol: f32 = 0.0
    sensor: arr[u32, 2] = field(default_factory=lambda: [0, 0])
    motorstate: u32 = 0
    reserve: arr[u32, 4] = field(default_factory=lambda: [0] * 4)


@_final
@dataclass
class HgIMUState(IdlStruct, typename="unitree_hg.msg.dds_.IMUState_"):
    quaternion: arr[f32, 4] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])
    gyroscope: arr[f32, 3] = field(default_factory=lambda: [0.0] * 3)
    accelerometer: arr[f32, 3] = field(default_factory=lambda: [0.0] * 3)
    rpy: arr[f32, 3] = field(default_factory=lambda: [0.0] * 3)
    temperature: i16 = 0


@_final
@dataclass
class HgLowCmd(IdlStruct, typename="unitree_hg.msg.dds_.LowCmd_"):
    mode_pr: u8 = 0
    mode_machine: u8 = 0
    motor_cmd: arr[HgMotorCmd, 35] = field(default_factory=lambda: [HgMotorCmd() for _ in range(35)])
    reserve: arr[u32, 4] = field(default_factory=lambda: [0] * 4)
    crc: u32 = 0


@_final
@dataclass
class HgLowState(IdlStruct, typename="unitree_hg.msg.dds_.LowState_"):
    version: arr[u32, 2] = field(default_factory=lambda: [0, 0])
    mode_pr: u8 = 0
    mode_machine: u8 = 0
    tick: u32 = 0
    imu_state: HgIMUState = field(default_factory=HgIMUState)
    motor_state: arr[HgMotorState, 35] = field(default_factory=lambda: [HgMotorState() for _ in range(35)])
    wireless_remote: arr[u8, 40] = field(default_factory=lambda: [0] * 40)
    reserve: arr[u32, 4] = field(default_factory=lambda: [0] * 4)
    crc: u32 = 0


# --- unitree_go (Go2, B2, H1) ----------------------------------------------------------------------------------
@_final
@dataclass
class GoMotorCmd(IdlStruct, typename="unitree_go.msg.dds_.MotorCmd_"):
    mode: u8 = 0
    q: f32 = 0.0
    dq: f32 = 0.0
    tau: f32 = 0.0
    kp: f32 = 0.0
    kd: f32 = 0.0
    reserve: arr[u32, 3] = field(default_factory=lambda: [0] * 3)


@_final
@dataclass
class GoMotorState(IdlStruct, typename="unitree_go.msg.dds_.MotorState_"):
    mode: u8 = 0
    q: f32 = 0.0
    dq: f32 = 0.0
    ddq: f32 = 0.0
    tau_est: f32 = 0.0
    q_raw: f32 = 0.0
    dq_raw: f32 = 0.0
    ddq_raw: f32 = 0.0
    temperature: u8 = 0
    lost: u32 = 0
    reserve: arr[u32, 2] = field(default_factory=lambda: [0, 0])


@_final
@dataclass
class GoIMUState(IdlStruct, typename="unitree_go.msg.dds_.IMUState_"):
    quaternion: arr[f32, 4] = field(default_factory=lambda: [1.0, 0.0, 0.0, 0.0])
    gyroscope: arr[f32, 3] = field(default_factory=lambda: [0.0] * 3)
    accelerometer: arr[f32, 3] = field(default_factory=lambda: [0.0] * 3)
    rpy: arr[f32, 3] = field(default_factory=lambda: [0.0] * 3)
    temperature: u8 = 0


@_final
@dataclass
class GoBmsCmd(IdlStruct, typename="unitree_go.msg.dds_.BmsCmd_"):
    off: u8 = 0
    reserve: arr[u8, 3] = field(default_factory=lambda: [0] * 3)


@_final
@dataclass
class GoBmsState(IdlStruct, typename="unitree_go.msg.dds_.BmsState_"):
    version_high: u8 = 0
    version_low: u8 = 0
    status: u8 = 0
    soc: u8 = 0
    current: i32 = 0
    cycle: u16 = 0
    bq_ntc: arr[u8, 2] = field(default_factory=lambda: [0, 0])
    mcu_ntc: arr[u8, 2] = field(default_factory=lambda: [0, 0])
    cell_vol: arr[u16, 15] = field(default_factory=lambda: [0] * 15)


@_final
@dataclass
class GoLowCmd(IdlStruct, typename="unitree_go.msg.dds_.LowCmd_"):
    head: arr[u8, 2] = field(default_factory=lambda: [0xFE, 0xEF])
    level_flag: u8 = 0xFF
    frame_reserve: u8 = 0
    sn: arr[u32, 2] = field(default_factory=lambda: [0, 0])
    version: arr[u32, 2] = field(default_factory=lambda: [0, 0])
    bandwidth: u16 = 0
    motor_cmd: arr[GoMotorCmd, 20] = field(default_factory=lambda: [GoMotorCmd() for _ in range(20)])
    bms_cmd: GoBmsCmd = field(default_factory=GoBmsCmd)
    wireless_remote: arr[u8, 40] = field(default_factory=lambda: [0] * 40)
    led: arr[u8, 12] = field(default_factory=lambda: [0] * 12)
    fan: arr[u8, 2] = field(default_factory=lambda: [0, 0])
    gpio: u8 = 0
    reserve: u32 = 0
    crc: u32 = 0


@_final
@dataclass
class GoLowState(IdlStruct, typename="unitree_go.msg.dds_.LowState_"):
    head: arr[u8, 2] = field(default_factory=lambda: [0xFE, 0xEF])
    level_flag: u8 = 0
    frame_reserve: u8 = 0
    sn: arr[u32, 2] = field(default_factory=lambda: [0, 0])
    version: arr[u32, 2] = field(default_factory=lambda: [0, 0])
    bandwidth: u16 = 0
    imu_state: GoIMUState = field(default_factory=GoIMUState)
    motor_state: arr[GoMotorState, 20] = field(default_factory=lambda: [GoMotorState() for _ in range(20)])
    bms_state: GoBmsState = field(default_factory=GoBmsState)
    foot_force: arr[i16, 4] = field(default_factory=lambda: [0] * 4)
    foot_force_est: arr[i16, 4] = field(default_factory=lambda: [0] * 4)
    tick: u32 = 0
    wireless_remote: arr[u8, 40] = field(default_factory=lambda: [0] * 40)
    bit_flag: u8 = 0
    adc_reel: f32 = 0.0
    temperature_ntc1: u8 = 0
    temperature_ntc2: u8 = 0
    power_v: f32 = 0.0
    power_a: f32 = 0.0
    fan_frequency: arr[u16, 4] = field(default_factory=lambda: [0] * 4)
    reserve: u32 = 0
    crc: u32 = 0


# --- the layouts: CDR on the wire, the C struct for the CRC ----------------------------------------------------
# Both hold the same values in the same order; only the padding differs: CDR aligns each value to its own size
# from the start of the payload, C aligns a nested struct to its widest member (the 2 bytes after the hg IMU's
# int16 temperature, before a MotorState_). Every member here is at most 4 bytes wide, so XCDR1 and XCDR2 lay the
# payload out alike.
_CODES = {"uint8": "B", "int8": "b", "uint16": "H", "int16": "h", "uint32": "I", "int32": "i", "float32": "f"}
_SIZE = {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4, "f": 4}


def _members(cls) -> list:
    """(name, code or nested class, count or None) per field of an IDL struct, in order."""
    import typing

    out = []
    for name, hint in typing.get_type_hints(cls, include_extras=True).items():
        if name.startswith("__") or name == "sample_info":
            continue
        if isinstance(hint, type):  # a nested struct
            out.append((name, hint, None))
            continue
        meta = typing.get_args(hint)[1]
        if isinstance(meta, str):
            out.append((name, _CODES[meta], None))
            continue
        sub, count = meta.subtype, meta.length  # an array
        if isinstance(sub, str):
            out.append((name, _CODES[sub], count))
        else:
            sub = typing.get_args(sub)[1] if typing.get_origin(sub) is typing.Annotated else sub
            out.append((name, _CODES[sub] if isinstance(sub, str) else sub, count))
    return out


def _codes(cls) -> list[str]:
    out = []
    for _, kind, count in _members(cls):
        for _ in range(count or 1):
            out += _codes(kind) if isinstance(kind, type) else [kind]
    return out


def _align(cls) -> int:
    return max(_align(k) if isinstance(k, type) else _SIZE[k] for _, k, _ in _members(cls))


def _c_format(cls, offset: int = 0) -> tuple[str, int]:
    """The C struct's format (explicit padding) of `cls` placed at `offset`, and the offset after it."""
    fmt = ""
    for _, kind, count in _members(cls):
        for _ in range(count or 1):
            width = _align(kind) if isinstance(kind, type) else _SIZE[kind]
            pad = -offset % width
            fmt += "x" * pad
            offset += pad
            if isinstance(kind, type):
                sub, offset = _c_format(kind, offset)
                fmt += sub
            else:
                fmt += kind
                offset += _SIZE[kind]
    return fmt, offset


def _cdr_format(codes: list[str]) -> str:
    fmt, offset = "<", 0
    for code in codes:
        pad = -offset % _SIZE[code]
        fmt += "x" * pad + code
        offset += pad + _SIZE[code]
    return fmt


class Layout:
    """One message type's flat value order, its CDR and C-struct codecs, and where each named value sits."""

    def __init__(self, cls):
        self.cls = cls
        self.codes = _codes(cls)
        c_fmt, size = _c_format(cls)
        self.c = struct.Struct("<" + c_fmt + "x" * (-size % _align(cls)))  # a C struct ends on its alignment
        self.cdr = struct.Struct(_cdr_format(self.codes))
        self.index = _index(cls)
        self.n = len(self.codes)
        self._gather = None  # crc_of_cdr's byte map, made on first use

    def values(self, msg) -> list:
        out: list = []
        _flatten(msg, out)
        return out

    def build(self, values):
        """The message object of a flat value sequence."""
        return _build(self.cls, iter(values))

    def crc_of(self, values) -> int:
        return crc32_words(self.c.pack(*values)[:-4])

    def encode(self, values) -> bytes:
        """The CDR of a flat value list: the encapsulation header (CDR, little-endian), the payload padded to 4."""
        body = self.cdr.pack(*values)
        return CDR_LE + body + b"\0" * (-len(body) % 4)

    def decode(self, data: bytes) -> tuple:
        """The flat values of a serialized sample (CDR or XCDR2, little-endian)."""
        if not self.is_le_cdr(data):
            raise ValueError(f"not a little-endian CDR {self.cls.__idl_typename__} ({len(data)} bytes)")
        return self.cdr.unpack_from(data, 4)

    def is_le_cdr(self, data: bytes) -> bool:
        return data[:2] in (b"\x00\x01", b"\x00\x07") and len(data) >= 4 + self.cdr.size

    def cdr_offsets(self) -> list[int]:
        """The byte offset of each value in a serialized sample (the 4-byte encapsulation header included)."""
        return [4 + o for o in _offsets(self.cdr.format)]

    def crc_of_cdr(self, data: bytes) -> int:
        """crc_of(decode(data)) straight from a little-endian CDR sample's bytes: one gather puts them into the
        C struct's order (padding zero), each word's bytes most significant first (no per-value packing)."""
        import numpy as np

        if self._gather is None:
            self._gather = self._crc_gather()
        raw = np.frombuffer(data + b"\0", np.uint8)  # the appended zero is what padding bytes gather
        return _crc_msb_first(raw[self._gather].tobytes())

    def _crc_gather(self):
        """Per byte of the C struct but its last word, each word's bytes most significant first: the index of the
        serialized sample's byte it holds, -1 (the appended zero) for padding."""
        import numpy as np

        at = np.full(self.c.size, -1)
        for c_off, d_off, code in zip(_offsets(self.c.format), self.cdr_offsets(), self.codes, strict=True):
            at[c_off : c_off + _SIZE[code]] = np.arange(d_off, d_off + _SIZE[code])
        return at[:-4].reshape(-1, 4)[:, ::-1].reshape(-1)


def _offsets(fmt: str) -> list[int]:
    """The byte offset of each value of a struct format written as this module writes them (one code per value,
    padding as x)."""
    out, k = [], 0
    for code in fmt.lstrip("<"):
        if code != "x":
            out.append(k)
        k += _SIZE.get(code, 1)
    return out


def _crc_msb_first(data: bytes) -> int:
    """CRC-32/MPEG-2 of bytes already in the order it reads them (crc32_words after its byteswap)."""
    c = zlib.crc32(data.translate(_REVERSE)) ^ 0xFFFFFFFF
    return int.from_bytes(c.to_bytes(4, "little").translate(_REVERSE), "big")  # the 32 bits reversed


CDR_LE = b"\x00\x01\x00\x00"


def _index(cls, prefix: tuple = (), start: int = 0) -> dict:
    """{path: position} for every value: ("tick",), ("motor_state", 3, "q"), ("imu_state", "quaternion", 0)."""
    out, k = {}, start
    for name, kind, count in _members(cls):
        for i in range(count or 1):
            path = (*prefix, name, i) if count else (*prefix, name)
            if isinstance(kind, type):
                sub = _index(kind, path, k)
                out.update(sub)
                k += len(_codes(kind))
            else:
                out[path] = k
                k += 1
    return out


_PLANS: dict = {}


def _plan(cls) -> list:
    if cls not in _PLANS:
        _PLANS[cls] = _members(cls)
    return _PLANS[cls]


def _flatten(msg, out: list) -> None:
    for name, kind, count in _plan(type(msg)):
        value = getattr(msg, name)
        if count is None:
            if isinstance(kind, type):
                _flatten(value, out)
            else:
                out.append(value)
        elif isinstance(kind, type):
            for item in value:
                _flatten(item, out)
        else:
            out.extend(value)


def _build(cls, it):
    obj = object.__new__(cls)
    d = obj.__dict__
    for name, kind, count in _plan(cls):
        if count is None:
            d[name] = _build(kind, it) if isinstance(kind, type) else next(it)
        elif isinstance(kind, type):
            d[name] = [_build(kind, it) for _ in range(count)]
        else:
            d[name] = [next(it) for _ in range(count)]
    return obj


@dataclass(frozen=True)
class Family:
    """A message family: its name on the command line, its types and its motor slots."""

    name: str
    state: type
    cmd: type
    motors: int


LAYOUTS = {cls: Layout(cls) for cls in (HgLowCmd, HgLowState, GoLowCmd, GoLowState)}
for _cls in LAYOUTS:  # set on the classes, not inherited: cyclonedds' type builder reads every base as IDL
    _cls.serialize = _Wire.serialize
    _cls.deserialize = _Wire.__dict__["deserialize"]


def crc(msg) -> int:
    """The crc field `msg` must carry: CRC-32/MPEG-2 of every word of its packed C struct but the last (the crc)."""
    layout = LAYOUTS[type(msg)]
    return layout.crc_of(layout.values(msg))


# unitree_sdk2py's crc.py struct formats, as it writes them (it packs some unsigned fields signed): the layouts
# derived above from the IDL are checked against them in the tests
CRC_PY_FORMATS = {
    "unitree_go.msg.dds_.LowCmd_": "<4B4IH2x" + "B3x5f3I" * 20 + "4B" + "55Bx2I",  # 812 bytes
    "unitree_go.msg.dds_.LowState_": "<4B4IH2x" + "13fb3x" + "B3x7fb3x3I" * 20 + "4BiH4b15H" + "8hI41B3xf2b2x2f4h2I",
    "unitree_hg.msg.dds_.LowCmd_": "<2B2x" + "B3x5fI" * 35 + "5I",  # 1004 bytes
    "unitree_hg.msg.dds_.LowState_": "<2I2B2xI" + "13fh2x" + "B3x4f2hf7I" * 35 + "40B5I",  # 2092 bytes
}

_REVERSE = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def crc32_words(data: bytes) -> int:
    """CRC-32/MPEG-2 of `data` read as little-endian 32-bit words, each taken most significant bit first (crc.py's
    __Crc32 over __Trans's words); len(data) a multiple of 4."""
    words = array("I", data)
    if sys.byteorder == "little":
        words.byteswap()  # each word's bytes most significant first
    return _crc_msb_first(words.tobytes())  # bit-reversed bytes: zlib's reflected CRC computes MPEG-2


def crc32_bitwise(words) -> int:
    """The older crc.py's loop, bit by bit (slow): the reference the fast form is tested against."""
    value, poly = 0xFFFFFFFF, 0x04C11DB7
    for word in words:
        bit = 1 << 31
        for _ in range(32):
            value = ((value << 1) & 0xFFFFFFFF) ^ (poly if value & 0x80000000 else 0)
            if word & bit:
                value ^= poly
            bit >>= 1
    return value


def set_reserve(cmd, value: int) -> None:
    """Write `value` into the command's first reserve word (hg: reserve[0]; go: reserve)."""
    if isinstance(cmd.reserve, list):
        cmd.reserve[0] = value
    else:
        cmd.reserve = value


FAMILIES = {
    "unitree_hg": Family("unitree_hg", HgLowState, HgLowCmd, 35),
    "unitree_go": Family("unitree_go", GoLowState, GoLowCmd, 20),
}
