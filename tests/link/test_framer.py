"""The framer on its own: whole, split, byte by byte, garbage around, bad CRC, truncated, fuzz."""

from __future__ import annotations

import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodian_app.link import framer
from custodian_app.link.errors import FramingError
from custodian_app.link.framer import ACK, DATA, FLAG_FINAL, Deframer, Frame, decode, encode

FRAMES = [
    Frame(DATA, FLAG_FINAL, 0, b'{"header":{"name":"Common.Status"}}'),
    Frame(DATA, 0, 65535, bytes(range(256)) * 4),
    Frame(ACK, 0, 17, b""),
    Frame(DATA, FLAG_FINAL, 3, framer.SOF * 20),  # start markers inside the payload
]


def decode_all(data: bytes) -> list[Frame]:
    d = Deframer()
    return d.feed(data)


@pytest.mark.parametrize("frame", FRAMES, ids=repr)
def test_whole_frame_round_trips(frame: Frame) -> None:
    wire = encode(frame)
    assert len(wire) == framer.OVERHEAD + len(frame.payload)
    assert decode(wire) == (len(wire), frame)


@pytest.mark.parametrize("frame", FRAMES, ids=repr)
def test_split_in_halves(frame: Frame) -> None:
    wire = encode(frame)
    d = Deframer()
    assert d.feed(wire[: len(wire) // 2]) == []
    assert d.feed(wire[len(wire) // 2 :]) == [frame]
    assert d.pending == 0


@pytest.mark.parametrize("frame", FRAMES, ids=repr)
def test_byte_by_byte(frame: Frame) -> None:
    d = Deframer()
    got = []
    for b in encode(frame):
        got += d.feed(bytes([b]))
    assert got == [frame]
    assert d.garbage_bytes == 0


def test_garbage_before_between_and_after() -> None:
    garbage = b"\x00\xffnoise\x7e\x7e\xa5\x01" + bytes(range(40))
    stream = garbage + encode(FRAMES[0]) + garbage + encode(FRAMES[1]) + garbage
    d = Deframer()
    assert d.feed(stream) == [FRAMES[0], FRAMES[1]]
    assert d.garbage_bytes >= 2 * len(garbage)


def test_bad_crc_is_dropped_and_the_next_frame_found() -> None:
    bad = bytearray(encode(FRAMES[0]))
    bad[15] ^= 0x40  # a payload byte
    d = Deframer()
    assert d.feed(bytes(bad) + encode(FRAMES[2])) == [FRAMES[2]]
    assert d.damaged_frames == 1


def test_bad_header_check_is_rejected_at_once() -> None:
    bad = bytearray(encode(FRAMES[1]))
    bad[6] ^= 0x01  # the length field: without a header check we would wait for bytes
    consumed, frame = decode(bytes(bad[:12]))
    assert frame is None and consumed == 1


def test_truncated_frame_waits_then_is_dropped_when_the_next_arrives() -> None:
    wire = encode(FRAMES[1])
    d = Deframer()
    assert d.feed(wire[:-10]) == []
    assert d.pending == len(wire) - 10
    # the tail never comes; the next frames fill the gap, fail the CRC, and are then found
    got = d.feed(encode(FRAMES[0]) * 3 + encode(FRAMES[2]) * 200)
    assert FRAMES[2] in got and all(f in (FRAMES[0], FRAMES[2]) for f in got)


def test_frame_cut_off_by_a_restart_gives_way_to_the_next_whole_frame() -> None:
    # The sender restarted in the middle of a frame: its header announced 1024 bytes that
    # never come. The next frames (a NOSESSION) must not be swallowed as its payload.
    nosession = Frame(framer.NOSESSION)
    cut = encode(FRAMES[1])[:300]
    d = Deframer()
    assert d.feed(cut) == []
    assert d.feed(encode(nosession)) == [nosession]
    assert d.cut_frames == 1 and d.pending == 0


def test_a_header_announcing_65000_bytes_does_not_swallow_what_follows() -> None:
    fields = bytes([framer.ACCEPT, 0, 0, 0]) + (65000).to_bytes(2, "big")
    fragment = framer.SOF + fields + (zlib.crc32(fields) & 0xFFFF).to_bytes(2, "big") + b"x" * 40
    accept = Frame(framer.ACCEPT, 0, 0, b'{"version": 1}')
    d = Deframer()
    assert d.feed(fragment) == []
    assert d.feed(encode(accept)) == [accept]


def test_a_frame_still_arriving_is_not_taken_for_cut_off() -> None:
    # markers and broken frames inside a payload are no reason to give the frame up
    inner = encode(FRAMES[0])
    frame = Frame(DATA, FLAG_FINAL, 9, framer.SOF * 5 + inner[:-1] + b"\x00" + inner[:20])
    wire = encode(frame)
    d = Deframer()
    got = []
    for i in range(0, len(wire), 7):
        got += d.feed(wire[i : i + 7])
    assert got == [frame] and d.cut_frames == 0


def test_wait_for_more_and_split_start_marker() -> None:
    assert decode(b"") == (0, None)
    assert decode(b"\x7e") == (0, None)
    assert decode(b"abc\x7e") == (3, None)
    assert decode(b"\x7e\xa5\x01") == (0, None)


def test_oversized_declared_length_is_hunted_past() -> None:
    wire = encode(FRAMES[1])
    assert decode(wire, max_payload=100) == (1, None)


def test_decode_refuses_non_bytes_with_the_framing_error() -> None:
    with pytest.raises(FramingError):
        decode("text")  # type: ignore[arg-type]
    with pytest.raises(FramingError):
        encode(Frame(DATA, 0, 0, b"x" * 70000))


frames_st = st.builds(
    Frame,
    st.sampled_from([DATA, ACK, framer.NAK, framer.PING]),
    st.integers(0, 3),
    st.integers(0, 65535),
    st.binary(max_size=300),
)


@settings(max_examples=300, deadline=None)
@given(frames=st.lists(frames_st, min_size=1, max_size=4), data=st.data())
def test_fuzz_flipped_bytes_never_accepted(frames: list[Frame], data) -> None:
    wires = [encode(f) for f in frames]
    wire = bytearray(b"".join(wires))
    flips = data.draw(
        st.lists(st.tuples(st.integers(0, len(wire) - 1), st.integers(1, 255)), min_size=1, max_size=6)
    )
    for pos, mask in flips:
        wire[pos] ^= mask
    starts = [sum(len(w) for w in wires[:i]) for i in range(len(wires))]
    untouched = [
        f for f, s, w in zip(frames, starts, wires, strict=False) if bytes(wire[s : s + len(w)]) == w
    ]
    cut = data.draw(st.integers(0, len(wire)))
    d = Deframer()
    got = d.feed(bytes(wire[:cut])) + d.feed(bytes(wire[cut:]))
    # the damaged frames are never accepted; every intact one is still found
    assert got == untouched


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_fuzz_random_bytes_only_framing_error_or_nothing(blob: bytes) -> None:
    buf = bytearray(blob)
    guard = 0
    while buf and guard < 10_000:
        guard += 1
        consumed, frame = decode(buf)
        if consumed == 0:
            break
        if frame is not None:
            # only possible if random bytes happen to be a valid frame: re-encode must match
            assert encode(frame) == bytes(buf[:consumed])
        del buf[:consumed]
