"""The wire frame: what goes in comes out, anything else is a FrameError of the right kind (never another
exception, which would crash the server), and the token file is checked before it is trusted."""

import contextlib
import random

import numpy as np
import pytest

from edgeperf.errors import BadInput
from edgeperf.runtime import wire

TOKEN = b"0123456789abcdef0123456789abcdef"


def _infer(token=None, **arrays):
    body = wire.encode_arrays(arrays or {"obs": np.arange(6, dtype=np.float32).reshape(1, 6)})
    return wire.encode(wire.Frame(wire.INFER, seq=7, session=99, t_client_send=123, body=body), token)


def test_arrays_of_every_dtype_round_trip_by_name():
    arrays = {f"x{code}": np.arange(6).reshape(2, 3).astype(name) for code, name in wire.DTYPES.items()}
    arrays["scalar"] = np.float64(2.5)
    arrays["empty"] = np.zeros((0, 4), np.float32)
    f = wire.decode(wire.encode(wire.Frame(wire.ACTION, 3, 4, body=wire.encode_arrays(arrays))))
    assert (f.type, f.seq, f.session) == (wire.ACTION, 3, 4)
    assert list(f.arrays) == list(arrays)  # order kept: outputs travel in the model's order
    for name, a in arrays.items():
        assert f.arrays[name].dtype == np.asarray(a).dtype
        np.testing.assert_array_equal(f.arrays[name], a)


def test_header_fields_round_trip():
    frame = wire.Frame(wire.WELCOME, 2**64 - 1, 5, 0, -1, 2**62, 3, 4, b'{"a":1}')
    f = wire.decode(wire.encode(frame))
    assert (f.seq, f.session, f.t_client_send, f.t_server_recv, f.t_server_send, f.infer_ns) == (
        2**64 - 1,
        5,
        -1,
        2**62,
        3,
        4,
    )
    assert f.json() == {"a": 1}
    assert wire.HEADER.size == 60  # the documented layout


def test_a_layout_seen_before_decodes_from_its_cache_only_when_every_byte_around_the_payloads_matches():
    """The second body of a layout is decoded from the cache (no parse); a body of the same length whose shape,
    name or second array differs must not be: each decodes as what it says (a cache keyed loosely would hand
    back the first body's shape or names)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 48)).astype(np.float32)
    y = rng.standard_normal((1, 48)).astype(np.float32)
    wire._LAYOUTS.clear()
    assert wire._known(memoryview(wire.encode_arrays({"obs": y}))) is None
    first = wire.decode_arrays(wire.encode_arrays({"obs": x}))
    np.testing.assert_array_equal(first["obs"], x)
    assert wire._known(memoryview(wire.encode_arrays({"obs": y}))) is not None  # the second is not parsed
    again = wire.decode_arrays(wire.encode_arrays({"obs": y}))
    np.testing.assert_array_equal(again["obs"], y)
    assert not again["obs"].flags.writeable  # a view on the frame, as the parsed path gives
    assert wire.decode_arrays(wire.encode_arrays({"obs": x.reshape(2, 24)}))["obs"].shape == (2, 24)
    assert set(wire.decode_arrays(wire.encode_arrays({"abc": x}))) == {"abc"}
    two = wire.encode_arrays([("a", x), ("b", np.zeros((1, 4), np.float32))])
    wire.decode_arrays(two)
    other = wire.encode_arrays([("a", x), ("c", np.ones((1, 4), np.float32))])
    assert len(other) == len(two)
    got = wire.decode_arrays(other)
    assert set(got) == {"a", "c"} and got["c"].sum() == 4
    with pytest.raises(wire.FrameError):  # a cached layout with a byte too many is parsed, and refused
        wire.decode_arrays(wire.encode_arrays({"obs": y}) + b"\0")


def test_the_layout_cache_is_bounded_and_a_flood_of_odd_layouts_cannot_crowd_out_the_clients():
    """A peer can send any layout that parses (the server checks arrays against the model after decoding): layouts
    of many arrays are never kept, the cache never outgrows its count, and a layout decoded after a flood is
    cached again (a cache that only stopped growing would leave the real client parsing every frame)."""
    wire._LAYOUTS.clear()
    many = wire.encode_arrays([(f"a{i}", np.zeros(1, np.uint8)) for i in range(wire._CACHED_ARRAYS + 1)])
    wire.decode_arrays(many)
    assert not wire._LAYOUTS
    for i in range(wire._CACHED + 50):
        wire.decode_arrays(wire.encode_arrays({f"junk{i}": np.zeros(1, np.uint8)}))
    assert len(wire._LAYOUTS) == wire._CACHED
    obs = wire.encode_arrays({"obs": np.zeros((1, 48), np.float32)})
    wire.decode_arrays(obs)
    assert wire._known(memoryview(obs)) is not None


def test_big_endian_arrays_arrive_little_endian():
    a = np.arange(4, dtype=">f4")
    f = wire.decode(wire.encode(wire.Frame(wire.INFER, body=wire.encode_arrays({"obs": a}))))
    np.testing.assert_array_equal(f.arrays["obs"], a)


def test_hmac_authenticates_and_any_flipped_bit_is_refused():
    data = _infer(TOKEN)
    assert wire.decode(data, TOKEN).seq == 7
    for kind, bad in [
        ("unauthenticated", data),  # with no token on this side
        ("unauthenticated", _infer()),  # no MAC at all
        ("unauthenticated", _infer(b"another-token-of-32-bytes-length")),
    ]:
        with pytest.raises(wire.FrameError) as e:
            wire.decode(bad, TOKEN if bad is not data else None)
        assert e.value.kind == kind
    for i in range(len(data)):
        flipped = bytearray(data)
        flipped[i] ^= 0x10
        with pytest.raises(wire.FrameError):
            wire.decode(bytes(flipped), TOKEN)


def test_every_truncation_is_a_frame_error():
    data = _infer()
    for n in range(len(data)):
        with pytest.raises(wire.FrameError):
            wire.decode(data[:n])


def test_oversized_frames_are_refused_before_parsing():
    with pytest.raises(wire.FrameError) as e:
        wire.decode(b"x" * 1001, max_frame=1000)
    assert e.value.kind == "oversized"


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: b"XXXX" + d[4:],  # bad magic
        lambda d: d + b"\0",  # a stray byte
        lambda d: d[:60] + b"\xff\xff" + d[62:],  # 65535 arrays declared
        lambda d: d[:63] + b"\xee" + d[64:],  # dtype code 238
    ],
)
def test_malformed_frames(mutate):
    with pytest.raises(wire.FrameError):
        wire.decode(mutate(_infer()))


def test_random_and_mutated_frames_only_ever_raise_frame_error():
    rng = random.Random(0)
    good = _infer(obs=np.ones((1, 48), np.float32))
    for i in range(3000):
        if i % 2:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300)))
        else:
            data = bytearray(good)
            for _ in range(rng.randrange(1, 6)):
                data[rng.randrange(len(data))] = rng.getrandbits(8)
            data = bytes(data)
        with contextlib.suppress(wire.FrameError):
            wire.decode(data)


def test_token_file_checks(tmp_path):
    p = tmp_path / "token"
    p.write_text("s3cret-s3cret-s3cret\n")
    p.chmod(0o600)
    assert wire.read_token_file(p) == b"s3cret-s3cret-s3cret"
    p.chmod(0o640)
    with pytest.raises(BadInput, match=r"readable by others \(mode 0640\); run: chmod 600"):
        wire.read_token_file(p)
    p.chmod(0o600)
    p.write_text("short")
    with pytest.raises(BadInput, match="fewer than 16"):
        wire.read_token_file(p)
    with pytest.raises(BadInput, match="does not exist"):
        wire.read_token_file(tmp_path / "none")
    big = tmp_path / "sparse"  # 6 GB of holes: refused by its size, never read (a MemoryError before)
    with big.open("wb") as f:
        f.truncate(6 * 2**30)
    big.chmod(0o600)
    with pytest.raises(BadInput, match="holds one short secret"):
        wire.read_token_file(big)


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("127.0.0.1:7007", ("127.0.0.1", 7007)),
        ("tcp://10.0.0.2:1", ("10.0.0.2", 1)),
        ("[::1]:80", ("::1", 80)),
        ("7007", ("127.0.0.1", 7007)),
    ],
)
def test_addresses(text, want):
    assert wire.parse_address(text) == want


def test_loopback():
    assert wire.is_loopback("127.0.0.1") and wire.is_loopback("::1") and wire.is_loopback("localhost")
    assert not wire.is_loopback("0.0.0.0") and not wire.is_loopback("robot.local")
