"""The messages and the CRC, against unitree_sdk2py's own definitions (no network)."""

from __future__ import annotations

import re
import struct

import numpy as np
import pytest

unitree = pytest.importorskip("edgeperf.bus.unitree", exc_type=ImportError)


def _expand(fmt: str) -> str:
    """A struct format, one letter per value or pad byte, signedness folded (crc.py packs some unsigned fields
    signed: the bytes are the same)."""
    return "".join(c * int(n or 1) for n, c in re.findall(r"(\d*)([a-zA-Z])", fmt)).lower()


@pytest.mark.parametrize("cls", list(unitree.LAYOUTS), ids=lambda c: c.__idl_typename__)
def test_c_layout_is_crc_py_s_struct(cls):
    """The C layout derived from the IDL fields is crc.py's struct format byte for byte (field order, types and
    padding): a field out of order, of the wrong width, or a missing one fails here."""
    layout = unitree.LAYOUTS[cls]
    want = unitree.CRC_PY_FORMATS[cls.__idl_typename__]
    assert layout.c.size == struct.calcsize(want) == {"unitree_go.msg.dds_.LowCmd_": 812,
        "unitree_go.msg.dds_.LowState_": 1180, "unitree_hg.msg.dds_.LowCmd_": 1004,
        "unitree_hg.msg.dds_.LowState_": 2092}[cls.__idl_typename__]  # fmt: skip
    assert _expand(layout.c.format) == _expand(want)


def _random(cls, rng):
    """A message of `cls` with every value random (within its type)."""
    layout = unitree.LAYOUTS[cls]
    bounds = {"B": (0, 255), "b": (-128, 127), "H": (0, 65535), "h": (-32768, 32767), "I": (0, 2**32 - 1),
              "i": (-(2**31), 2**31 - 1)}  # fmt: skip
    values = [
        float(np.float32(rng.normal(0, 3))) if c == "f" else int(rng.integers(bounds[c][0], bounds[c][1] + 1))
        for c in layout.codes
    ]
    return layout.build(values), values


@pytest.mark.parametrize("cls", list(unitree.LAYOUTS), ids=lambda c: c.__idl_typename__)
def test_fast_codec_is_cyclonedds_cdr_and_crc_is_crc_py_s(cls):
    """The struct codec writes exactly what cyclonedds' own serializer writes and reads it back; the CRC is the
    bit-by-bit loop of crc.py over the packed struct's words, the crc word left out."""
    rng = np.random.default_rng(0)
    for _ in range(5):
        msg, values = _random(cls, rng)
        ours = msg.serialize()
        assert ours == msg.__idl__.serialize(msg)
        assert unitree.LAYOUTS[cls].values(cls.deserialize(ours)) == values
        packed = unitree.LAYOUTS[cls].c.pack(*values)[:-4]
        words = struct.unpack(f"<{len(packed) // 4}I", packed)
        assert unitree.crc(msg) == unitree.crc32_bitwise(words)
    msg, _ = _random(cls, rng)
    before = unitree.crc(msg)
    target = msg.motor_cmd[3] if hasattr(msg, "motor_cmd") else msg.motor_state[3]
    target.q = float(np.float32(target.q + 0.5))
    assert unitree.crc(msg) != before  # a changed value changes the CRC


@pytest.mark.parametrize("cls", list(unitree.LAYOUTS), ids=lambda c: c.__idl_typename__)
def test_crc_from_the_serialized_bytes_is_the_packed_struct_s(cls):
    """The robot checks a command's CRC straight from its CDR bytes (a byte gather into the C struct's order):
    the same CRC as packing the values into the C struct, for random messages; a flipped bit changes it."""
    layout = unitree.LAYOUTS[cls]
    rng = np.random.default_rng(1)
    for _ in range(5):
        msg, values = _random(cls, rng)
        data = msg.serialize()
        assert layout.crc_of_cdr(data) == layout.crc_of(values)
    data = bytearray(data)
    data[40] ^= 0x10
    assert layout.crc_of_cdr(bytes(data)) != layout.crc_of(values)


def test_serialized_reading_hands_on_little_endian_cdr():
    """The robot's reading thread (cyclonedds' C take on a real participant, no message objects) hands its handler
    each command's bytes as little-endian CDR: equal to our encoding of its values."""
    import time

    from edgeperf.bus import dds
    from tests.bus.helpers import dds_domain

    fam = unitree.FAMILIES["unitree_go"]
    msg, values = _random(fam.cmd, np.random.default_rng(2))
    participant = dds.Participant(dds_domain(), "lo")
    got = []
    try:
        inbox = dds.Inbox(serialized=True)
        inbox.handler = lambda t, data: got.append(data)
        participant.reader(unitree.TOPIC_CMD, fam.cmd, inbox)
        writer = participant.writer(unitree.TOPIC_CMD, fam.cmd)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            writer.write(msg)
            time.sleep(0.05)
    finally:
        participant.close()
    assert got and got[0] == unitree.LAYOUTS[fam.cmd].encode(values)


def test_a_big_endian_sample_is_read_as_little_endian_cdr():
    """CycloneDDS hands samples on in this machine's byte order; should one come big-endian (cyclonedds' own
    serializer writes it so), it is decoded by cyclonedds and encoded again, not dropped; garbage is None."""
    from cyclonedds.idl._support import Endianness

    from edgeperf.bus import dds

    cls = unitree.FAMILIES["unitree_hg"].cmd
    msg, values = _random(cls, np.random.default_rng(3))
    big = msg.__idl__.serialize(msg, endianness=Endianness.Big)
    assert big[:2] == b"\x00\x00"
    assert dds._little_endian(unitree.LAYOUTS[cls], big) == unitree.LAYOUTS[cls].encode(values)
    assert dds._little_endian(unitree.LAYOUTS[cls], b"\x00\x00\x00\x00junk") is None


def test_crc_is_textbook_crc32_mpeg2_over_the_words():
    """CRC-32/MPEG-2's check value: '123456789' gives 0x0376E6E7 (bytes taken in words, most significant first)."""
    data = b"12345678"  # two words; the standard check string is 9 bytes, not whole words: check the definition
    words = struct.unpack("<2I", data)
    assert unitree.crc32_words(data) == unitree.crc32_bitwise(words)
    msb = b"".join(w.to_bytes(4, "big") for w in words)
    # the same CRC over the words' big-endian bytes, by the textbook bytewise algorithm
    c = 0xFFFFFFFF
    for byte in msb:
        c ^= byte << 24
        for _ in range(8):
            c = ((c << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if c & 0x80000000 else (c << 1) & 0xFFFFFFFF
    assert unitree.crc32_words(data) == c


def test_sticks_carry_the_command_as_deploy_real_reads_it():
    from edgeperf.bus.robot import command_from_sticks, stick_bytes

    raw = stick_bytes([0.5, -0.2, 0.3])
    lx, rx, ly = (struct.unpack_from("<f", bytes(raw), k)[0] for k in (4, 8, 20))
    assert (ly, -lx, -rx) == pytest.approx((0.5, -0.2, 0.3))
    assert command_from_sticks(raw) == pytest.approx([0.5, -0.2, 0.3])


def test_a_handler_that_raises_does_not_end_the_reading_thread():
    """A bug in the command handler ended the DDS reading thread, and every later command was silently lost: the
    error is counted and the next sample is still handled."""
    from edgeperf.bus import dds

    inbox = dds.Inbox()
    seen = []

    def handler(t, s):
        if s == "bad":
            raise AttributeError("a bug")
        seen.append(s)

    class Waitset:
        calls = 0

        def wait(self, _ns):
            self.calls += 1
            if self.calls > 1:
                inbox._stop.set()
                return 0
            return 1

    class Reader:
        def take(self, N):  # cyclonedds' own keyword
            return ["bad", "good"]

    inbox.handler = handler
    inbox._read(Waitset(), Reader())
    assert inbox.errors == 1 and seen == ["good"]
