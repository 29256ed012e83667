"""The sliding window on its own: two endpoints joined by an in-memory null modem that can
corrupt, drop and split the byte stream (pymodbus style), no ptys, no threads."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodian_app.link import framer
from custodian_app.link.endpoint import OFFSET, Endpoint, off_diff
from custodian_app.link.errors import LinkTimeout, ProtocolError
from custodian_app.link.framer import Deframer, Frame


class NullModem:
    """A and B, a simulated clock, and a line that may damage bytes in either direction."""

    def __init__(
        self, *, corrupt: float = 0.0, drop: float = 0.0, seed: int = 1, chunk: int = 37, **kw
    ) -> None:
        self.a = Endpoint(**kw)
        self.b = Endpoint(**kw)
        self.da, self.db = Deframer(), Deframer()
        self.rng = random.Random(seed)
        self.corrupt, self.drop, self.chunk = corrupt, drop, chunk
        self.now = 0.0
        self.last_rx = {id(self.a): 0.0, id(self.b): 0.0}
        self.got_a: list[bytes] = []
        self.got_b: list[bytes] = []
        self.wire_bytes = 0

    def _damage(self, data: bytes) -> bytes:
        out = bytearray()
        for byte in data:
            if self.rng.random() < self.drop:
                continue
            if self.rng.random() < self.corrupt:
                byte ^= self.rng.randrange(1, 256)
            out.append(byte)
        return bytes(out)

    def _carry(self, src: Endpoint, dst: Endpoint, deframer: Deframer, got: list[bytes]) -> None:
        data = src.pull(self.now, self.chunk)  # split into odd-sized pieces
        self.wire_bytes += len(data)
        if data:
            data = self._damage(data)
            self.last_rx[id(dst)] = self.now
            before = deframer.damaged_frames + deframer.garbage_bytes
            for frame in deframer.feed(data):
                dst.handle_frame(frame, self.now)
            if deframer.damaged_frames + deframer.garbage_bytes != before:
                dst.damaged_frame_seen(self.now)
        got.extend(dst.take_received())

    def run(self, until, limit: float = 600.0) -> None:
        while not until():
            assert self.now < limit, "the transfer did not finish"
            self._carry(self.a, self.b, self.db, self.got_b)
            self._carry(self.b, self.a, self.da, self.got_a)
            self.now += 0.001
            self.a.tick(self.now, rx_pending=self.da.pending, last_rx=self.last_rx[id(self.a)])
            self.b.tick(self.now, rx_pending=self.db.pending, last_rx=self.last_rx[id(self.b)])


def payloads(n: int, seed: int = 0) -> list[bytes]:
    rng = random.Random(seed)
    return [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))) for _ in range(n)]


def offsets(frames) -> list[int]:
    return [OFFSET.unpack_from(f.payload)[0] for f in frames]


@pytest.mark.parametrize("compression", ["none", "zlib"])
def test_messages_arrive_whole_and_in_order(compression) -> None:
    m = NullModem(max_payload=512, window=4, compression=compression)
    msgs = payloads(30)
    for p in msgs:
        m.a.send_message(p)
    m.b.send_message(b"reply")
    m.run(lambda: len(m.got_b) == len(msgs) and m.got_a and m.a.idle and m.b.idle)
    assert m.got_b == msgs and m.got_a == [b"reply"]
    assert m.a.stats.frames_resent == 0


@pytest.mark.parametrize("corrupt,drop,seed", [(0.003, 0, 1), (0, 0.003, 2), (0.002, 0.002, 3), (0.01, 0, 4)])
def test_noisy_line_delivers_exactly(corrupt, drop, seed) -> None:
    m = NullModem(corrupt=corrupt, drop=drop, seed=seed, max_payload=4096, window=8, compression="zlib")
    msgs = payloads(25, seed)
    for p in msgs:
        m.a.send_message(p)
    m.run(lambda: len(m.got_b) == len(msgs) and m.a.idle)
    assert m.got_b == msgs
    assert m.a.stats.frames_resent > 0  # the noise really cost something


def test_window_limits_unacknowledged_bytes() -> None:
    a = Endpoint(max_payload=128, window=3)
    a.send_message(b"x" * 2000)
    assert offsets(Deframer().feed(a.pull(0.0))) == [0, 128, 256]  # three frames' worth, then wait
    assert a.pull(0.0) == b""
    a.handle_frame(Frame(framer.ACK, 0, 0, OFFSET.pack(128)), 0.1)
    assert offsets(Deframer().feed(a.pull(0.1))) == [384]


def test_duplicate_frame_is_dropped_and_acknowledged_again() -> None:
    a, b = Endpoint(max_payload=128), Endpoint(max_payload=128)
    a.send_message(b"hello")
    (frame,) = Deframer().feed(a.pull(0.0))
    b.handle_frame(frame, 0.0)
    b.handle_frame(frame, 0.0)
    assert b.take_received() == [b"hello"]
    assert b.stats.duplicates == 1
    acks = Deframer().feed(b.pull(0.0))
    assert acks and all(f.type == framer.ACK and f.payload == OFFSET.pack(5) for f in acks)


def test_a_lost_frame_is_resent_in_smaller_pieces_and_old_copies_do_no_harm() -> None:
    """The receiver takes whatever part of a frame is new to it, so cutting anew is safe even
    when an old copy still turns up after the new pieces."""
    a, b = Endpoint(max_payload=1024), Endpoint(max_payload=1024)
    message = bytes(range(256)) * 8
    a.send_message(message)
    old = Deframer().feed(a.pull(0.0))
    assert offsets(old) == [0, 1024] and not old[0].final and old[1].final
    a.handle_frame(Frame(framer.NAK, 0, 0, OFFSET.pack(0)), 0.1)  # "send again from byte 0"
    small = Deframer().feed(a.pull(0.1))
    assert offsets(small) == [0, 512, 1024, 1536]  # cut anew, half the size
    for f in (small[0], old[0], small[1], small[2], old[1], small[3]):
        b.handle_frame(f, 0.2)
    assert b.take_received() == [message]
    assert b.stats.duplicates == 2


def test_silent_peer_times_out() -> None:
    a = Endpoint(max_payload=128, max_retries=3, rto_base=0.1)
    a.send_message(b"anyone?")
    now = 0.0
    with pytest.raises(LinkTimeout):
        while now < 100:
            a.pull(now)
            now += 0.05
            a.tick(now)


def test_compressed_garbage_is_a_protocol_error() -> None:
    a, b = Endpoint(compression="none"), Endpoint(compression="zlib")
    bad = Frame(
        framer.DATA, framer.FLAG_FINAL | framer.FLAG_COMPRESSED, 0, OFFSET.pack(0) + b"\xff\xfe not deflate"
    )
    with pytest.raises(ProtocolError):
        b.handle_frame(bad, 0.0)
    with pytest.raises(ProtocolError):
        a.handle_frame(bad, 0.0)  # compressed data on an uncompressed session


def test_stream_offsets_wrap() -> None:
    assert off_diff(0, 2**32 - 1) == 1 and off_diff(2**32 - 1, 0) == -1 and off_diff(5, 5) == 0
    m = NullModem(max_payload=128, window=8)
    start = 2**32 - 700  # just before the wrap
    m.a._tx_base = m.a._tx_next = m.a._tx_high = start
    m.b._rx_off = start
    msgs = payloads(5, 9)
    for p in msgs:
        m.a.send_message(p)
    m.run(lambda: len(m.got_b) == len(msgs) and m.a.idle)
    assert m.got_b == msgs


def test_frame_size_halves_after_a_loss_and_grows_back() -> None:
    a = Endpoint(max_payload=1024, window=4)
    assert a.cur_payload == 1024  # slow start begins at 1024 at most
    a.send_message(b"y" * 40000)
    Deframer().feed(a.pull(0.0))  # bytes 0..4095 out
    a.handle_frame(Frame(framer.NAK, 0, 0, OFFSET.pack(1024)), 0.1)  # the second frame was lost
    assert a.cur_payload == 512
    assert offsets(Deframer().feed(a.pull(0.2))) == [1024, 1536, 2048, 2560]  # again, smaller
    for _ in range(40):
        a.handle_frame(Frame(framer.ACK, 0, 0, OFFSET.pack(a._tx_next)), 0.3)
        Deframer().feed(a.pull(0.3))
    assert a.cur_payload == 1024


@settings(max_examples=150, deadline=None)
@given(
    frames=st.lists(
        st.builds(
            Frame,
            st.sampled_from([framer.DATA, framer.ACK, framer.NAK, framer.PING, framer.PONG, 0x7F]),
            st.integers(0, 255),
            st.integers(0, 65535),
            st.one_of(
                st.binary(max_size=40),
                st.builds(lambda o, b: OFFSET.pack(o) + b, st.integers(0, 2**32 - 1), st.binary(max_size=40)),
            ),
        ),
        max_size=20,
    ),
    compression=st.sampled_from(["none", "zlib"]),
)
def test_hostile_frames_only_ever_raise_the_protocol_error(frames, compression) -> None:
    """Frames with a good CRC but nonsense inside (a buggy or hostile peer)."""
    ep = Endpoint(max_payload=256, compression=compression)
    ep.send_message(b"a command")
    now = 0.0
    for f in frames:
        now += 0.01
        try:
            ep.handle_frame(f, now)
        except ProtocolError:
            return
        ep.tick(now)
        ep.pull(now)
    for message in ep.take_received():
        assert isinstance(message, bytes)
