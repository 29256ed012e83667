"""The sliding window on its own: two endpoints joined by an in-memory null modem that can
corrupt, drop and split the byte stream (pymodbus style), no ptys, no threads."""

from __future__ import annotations

import random

import pytest

from custodian_app.link.endpoint import Endpoint, seq_diff
from custodian_app.link.errors import LinkTimeout, ProtocolError
from custodian_app.link.framer import Deframer


class NullModem:
    """A and B, a simulated clock, and a line that may damage bytes in either direction."""

    def __init__(self, *, corrupt: float = 0.0, drop: float = 0.0, seed: int = 1, chunk: int = 37, **kw) -> None:
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


@pytest.mark.parametrize("corrupt,drop,seed", [(0.003, 0, 1), (0, 0.003, 2), (0.002, 0.002, 3)])
def test_noisy_line_delivers_exactly(corrupt, drop, seed) -> None:
    m = NullModem(corrupt=corrupt, drop=drop, seed=seed, max_payload=1024, window=8, compression="zlib")
    msgs = payloads(25, seed)
    for p in msgs:
        m.a.send_message(p)
    m.run(lambda: len(m.got_b) == len(msgs) and m.a.idle)
    assert m.got_b == msgs
    assert m.a.stats.frames_resent > 0  # the noise really cost something


def test_window_limits_unacknowledged_frames() -> None:
    a = Endpoint(max_payload=128, window=3)
    a.send_message(b"x" * 2000)
    deframer = Deframer()
    frames = deframer.feed(a.pull(0.0))
    assert [f.seq for f in frames] == [0, 1, 2]  # no more until acknowledged
    assert a.pull(0.0) == b""


def test_duplicate_frame_is_dropped_and_acknowledged_again() -> None:
    a, b = Endpoint(max_payload=128), Endpoint(max_payload=128)
    a.send_message(b"hello")
    (frame,) = Deframer().feed(a.pull(0.0))
    b.handle_frame(frame, 0.0)
    b.handle_frame(frame, 0.0)
    assert b.take_received() == [b"hello"]
    assert b.stats.duplicates == 1
    acks = Deframer().feed(b.pull(0.0))
    assert acks and all(f.seq == 1 for f in acks)


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
    from custodian_app.link import framer

    bad = framer.Frame(framer.DATA, framer.FLAG_FINAL | framer.FLAG_COMPRESSED, 0, b"\xff\xfe not deflate")
    with pytest.raises(ProtocolError):
        b.handle_frame(bad, 0.0)
    with pytest.raises(ProtocolError):
        a.handle_frame(bad, 0.0)  # compressed data on an uncompressed session


def test_sequence_numbers_wrap() -> None:
    assert seq_diff(0, 65535) == 1 and seq_diff(65535, 0) == -1 and seq_diff(5, 5) == 0
    m = NullModem(max_payload=128, window=8)
    m.a._tx_next = m.b._rx_expected = 65530  # just before the wrap
    msgs = payloads(5, 9)
    for p in msgs:
        m.a.send_message(p)
    m.run(lambda: len(m.got_b) == len(msgs) and m.a.idle)
    assert m.got_b == msgs


def test_frame_size_halves_after_a_loss_and_grows_back() -> None:
    from custodian_app.link import framer

    a = Endpoint(max_payload=1024, window=4)
    a.send_message(b"y" * 20000)
    Deframer().feed(a.pull(0.0))  # frames 0..3 out
    a.handle_frame(framer.Frame(framer.NAK, 0, 1), 0.1)  # frame 1 was lost
    assert a.cur_payload == 512
    assert [f.seq for f in Deframer().feed(a.pull(0.2))] == [1, 2, 3, 4]  # go back, then one new
    next_expected = 5
    for _ in range(12):
        a.handle_frame(framer.Frame(framer.ACK, 0, next_expected), 0.3)
        next_expected += len(Deframer().feed(a.pull(0.3)))
    assert a.cur_payload == 1024
