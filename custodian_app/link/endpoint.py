"""One side of an open session, without any I/O (sans-I/O, like h11): the sliding window.

Both the application (link.session) and the ATM simulator drive one of these. The owner feeds
it the frames it received (``handle_frame``), lets it run its timers (``tick``), and pulls the
bytes it wants on the wire (``pull``) as fast as its line allows. It never blocks and never
reads a clock of its own: every call is given ``now``.

What it does (docs/protocol.md, "Reliable delivery"):
- cuts messages into DATA frames of at most the negotiated size, numbered mod 65536;
- keeps up to ``window`` DATA frames unacknowledged (go-back-N), so the line never idles
  waiting for a round trip;
- acknowledges what it received in order (cumulative ACK), discards what is out of order or
  repeated, and asks for a resend (NAK) when it sees a gap or a frame stuck half-received;
- resends from the first unacknowledged frame when a NAK arrives or its timer runs out,
  halving the size of new frames after each loss and growing it back after a clean run;
- compresses each direction as one zlib stream (flushed at each message end) when negotiated,
  so later messages profit from what earlier ones said.
"""

from __future__ import annotations

import zlib
from collections import deque
from dataclasses import dataclass, field

from custodian_app.link import framer
from custodian_app.link.errors import LinkTimeout, ProtocolError
from custodian_app.link.framer import ACK, DATA, FLAG_COMPRESSED, FLAG_FINAL, NAK, OVERHEAD, PING, PONG, Frame
from custodian_app.link.messages import MAX_MESSAGE

SEQ_MOD = 0x10000
HALF = SEQ_MOD // 2
MIN_PAYLOAD = 128


def seq_diff(a: int, b: int) -> int:
    """a - b in sequence space, in [-32768, 32767]."""
    d = (a - b) % SEQ_MOD
    return d - SEQ_MOD if d >= HALF else d


@dataclass(slots=True)
class _Sent:
    flags: int
    payload: bytes
    wire: bytes
    sent_at: float | None = None  # when its last byte left; None while queued or being resent


@dataclass(slots=True)
class EndpointStats:
    frames_sent: int = 0
    frames_resent: int = 0
    acks_sent: int = 0
    naks_sent: int = 0
    naks_received: int = 0
    timeouts: int = 0
    duplicates: int = 0
    out_of_order: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    payload_in: int = 0
    payload_out: int = 0
    extra: dict = field(default_factory=dict)


class Endpoint:
    def __init__(self, *, max_payload: int = 4096, window: int = 8, line_rate: float | None = None,
                 compression: str = "none", rto_base: float = 0.3, max_retries: int = 10,
                 level: int = 9) -> None:
        if compression not in ("zlib", "none"):
            raise ProtocolError(f"unknown compression {compression!r}")
        self.max_payload = max(MIN_PAYLOAD, min(max_payload, framer.MAX_PAYLOAD))
        self.cur_payload = self.max_payload
        self.window = max(1, min(window, 64))
        self.line_rate = line_rate  # bytes per second on the wire, None = as fast as it goes
        self.compression = compression
        self.rto_base = rto_base
        self.max_retries = max_retries
        self.stats = EndpointStats()
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9) if compression == "zlib" else None
        self._decompressor = zlib.decompressobj(-15) if compression == "zlib" else None
        # sending
        self._tx_next = 0
        self._unacked: dict[int, _Sent] = {}  # insertion order = sequence order
        self._resend: deque[int] = deque()
        self._pending: deque[memoryview] = deque()  # message bytes not yet cut into frames
        self._pending_flags: deque[int] = deque()
        self._pending_bytes = 0
        self._ctrl: deque[bytes] = deque()
        self._ack_due = False
        self._out = bytearray()
        self._out_marks: deque[tuple[int, int]] = deque()  # (end position in stream, seq)
        self._pulled = 0  # bytes handed out so far
        self._committed = 0  # bytes put into _out so far
        self._retries = 0
        self._clean_run = 0
        # receiving
        self._rx_expected = 0
        self._rx_parts: list[bytes] = []
        self._rx_size = 0
        self._rx_flags = 0
        self._received: deque[bytes] = deque()
        self._last_nak: tuple[int, float] = (-1, -1e9)
        self._nak_wanted = False
        self.last_pong = -1e9

    # ---------------------------------------------------------------- timings
    def frame_time(self, payload: int | None = None) -> float:
        if not self.line_rate:
            return 0.0
        return ((self.cur_payload if payload is None else payload) + OVERHEAD) / self.line_rate

    @property
    def rto(self) -> float:
        """Resend timer: a frame's trip, the peer's reply queued behind one of its own frames."""
        base = self.rto_base + 2 * self.frame_time(self.max_payload)
        return base * min(2 ** self._retries, 4)

    @property
    def nak_holdoff(self) -> float:
        """How long a receiver waits before asking again for the same frame: about the time
        the sender needs to finish the frame it is on and send the one asked for."""
        return 0.03 + 2.5 * self.frame_time(self.max_payload)

    # ---------------------------------------------------------------- sending
    def send_message(self, data: bytes) -> None:
        flags = 0
        if self._compressor is not None:
            data = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
            flags |= FLAG_COMPRESSED
        self._pending.append(memoryview(data))
        self._pending_flags.append(flags)
        self._pending_bytes += len(data)
        self.stats.messages_sent += 1

    def send_control(self, frame_type: int, seq: int = 0, payload: bytes = b"") -> None:
        self._ctrl.append(framer.encode_parts(frame_type, 0, seq, payload))

    def ping(self) -> None:
        self.send_control(PING)

    @property
    def backlog(self) -> int:
        """Bytes queued here and not yet on the wire (new data only)."""
        return self._pending_bytes + len(self._out)

    @property
    def idle(self) -> bool:
        """Everything sent has been acknowledged."""
        return not self._pending and not self._unacked and not self._out

    def has_output(self) -> bool:
        return bool(self._out or self._ctrl or self._ack_due or self._resend
                    or (self._pending and len(self._unacked) < self.window))

    def _next_frame(self) -> tuple[bytes, int | None] | None:
        if self._ack_due:
            self._ack_due = False
            self.stats.acks_sent += 1
            return framer.encode_parts(ACK, 0, self._rx_expected), None
        if self._ctrl:
            return self._ctrl.popleft(), None
        while self._resend:
            seq = self._resend.popleft()
            sent = self._unacked.get(seq)
            if sent is not None:
                self.stats.frames_resent += 1
                return sent.wire, seq
        if self._pending and len(self._unacked) < self.window:
            head = self._pending[0]
            chunk = bytes(head[: self.cur_payload])
            flags = self._pending_flags[0]
            if len(chunk) == len(head):
                self._pending.popleft()
                self._pending_flags.popleft()
                flags |= FLAG_FINAL
            else:
                self._pending[0] = head[len(chunk):]
            self._pending_bytes -= len(chunk)
            seq = self._tx_next
            self._tx_next = (seq + 1) % SEQ_MOD
            wire = framer.encode_parts(DATA, flags, seq, chunk)
            self._unacked[seq] = _Sent(flags, chunk, wire)
            self.stats.frames_sent += 1
            self.stats.payload_out += len(chunk)
            return wire, seq
        return None

    def pull(self, now: float, max_bytes: int | None = None) -> bytes:
        """The next bytes for the wire: everything due, or at most ``max_bytes`` of it."""
        while max_bytes is None or len(self._out) < max_bytes:
            nxt = self._next_frame()
            if nxt is None:
                break
            wire, seq = nxt
            self._out += wire
            self._committed += len(wire)
            if seq is not None:
                self._out_marks.append((self._committed, seq))
        if max_bytes is None or max_bytes >= len(self._out):
            data = bytes(self._out)
            self._out.clear()
        else:
            data = bytes(self._out[:max_bytes])
            del self._out[:max_bytes]
        self._pulled += len(data)
        marks = self._out_marks
        while marks and marks[0][0] <= self._pulled:
            _, seq = marks.popleft()
            sent = self._unacked.get(seq)
            if sent is not None:
                sent.sent_at = now
        return data

    def _acknowledged(self, next_expected: int) -> bool:
        progressed = False
        if seq_diff(self._tx_next, next_expected) < 0:
            return False  # acknowledges frames never sent: ignore it
        for seq in list(self._unacked):
            if seq_diff(next_expected, seq) > 0:
                del self._unacked[seq]
                progressed = True
                self._clean_run += 1
            else:
                break
        if progressed:
            self._retries = 0
            if self._clean_run >= 8 and self.cur_payload < self.max_payload:
                self.cur_payload = min(self.max_payload, self.cur_payload * 2)
                self._clean_run = 0
        return progressed

    def _go_back(self, from_seq: int, now: float, *, only_sent: bool) -> None:
        queued = set(self._resend)
        for seq, sent in self._unacked.items():
            if seq_diff(seq, from_seq) < 0 or seq in queued:
                continue
            if only_sent and sent.sent_at is None:
                continue
            sent.sent_at = None
            self._resend.append(seq)
        self._clean_run = 0
        self.cur_payload = max(MIN_PAYLOAD, self.cur_payload // 2)

    # ---------------------------------------------------------------- receiving
    def handle_frame(self, frame: Frame, now: float) -> None:
        ftype = frame.type
        if ftype == DATA:
            self._on_data(frame, now)
        elif ftype == ACK:
            self._acknowledged(frame.seq)
        elif ftype == NAK:
            self.stats.naks_received += 1
            self._acknowledged(frame.seq)
            # Already queued for resending: this NAK adds nothing.
            if frame.seq in self._unacked and frame.seq not in self._resend:
                self._go_back(frame.seq, now, only_sent=False)
        elif ftype == PING:
            self.send_control(PONG)
        elif ftype == PONG:
            self.last_pong = now
        # other types belong to the owner (session set-up) or to a later version: ignored here

    def _on_data(self, frame: Frame, now: float) -> None:
        d = seq_diff(frame.seq, self._rx_expected)
        if d < 0:
            self.stats.duplicates += 1
            self._ack_due = True  # our ACK was lost: say it again
            return
        if d > 0:
            self.stats.out_of_order += 1
            self._request_resend(now)
            return
        self._rx_expected = (self._rx_expected + 1) % SEQ_MOD
        self._ack_due = True
        self._nak_wanted = False
        if frame.final:
            # The sender may now fall silent: if this ACK is lost it waits a whole resend
            # timer. A second copy costs 14 bytes.
            self._ctrl.append(framer.encode_parts(ACK, 0, self._rx_expected))
        self.stats.payload_in += len(frame.payload)
        self._rx_parts.append(frame.payload)
        self._rx_size += len(frame.payload)
        self._rx_flags |= frame.flags
        if self._rx_size > MAX_MESSAGE:
            raise ProtocolError(f"the other side sent a message larger than {MAX_MESSAGE} bytes")
        if frame.final:
            data = b"".join(self._rx_parts)
            compressed = bool(self._rx_flags & FLAG_COMPRESSED)
            self._rx_parts.clear()
            self._rx_size = 0
            self._rx_flags = 0
            if compressed:
                if self._decompressor is None:
                    raise ProtocolError("the other side sent a compressed message on an uncompressed session")
                try:
                    data = self._decompressor.decompress(data, MAX_MESSAGE + 1)
                except zlib.error as exc:
                    raise ProtocolError(f"a compressed message does not decompress ({exc})") from exc
                if len(data) > MAX_MESSAGE or self._decompressor.unconsumed_tail:
                    raise ProtocolError(f"the other side sent a message larger than {MAX_MESSAGE} bytes")
            self.stats.messages_received += 1
            self._received.append(data)

    def damaged_frame_seen(self, now: float) -> None:
        """The deframer threw away a damaged frame: ask for a resend now rather than wait for
        the next frame to reveal the gap (the damaged one may have been the last)."""
        self._request_resend(now)

    def _request_resend(self, now: float) -> None:
        last_seq, last_time = self._last_nak
        if last_seq == self._rx_expected and now - last_time < self.nak_holdoff:
            self._nak_wanted = True  # asked very recently: ask again when the holdoff ends
            return
        self._nak_wanted = False
        self._last_nak = (self._rx_expected, now)
        self.stats.naks_sent += 1
        self._ctrl.append(framer.encode_parts(NAK, 0, self._rx_expected))

    def take_received(self) -> list[bytes]:
        out = list(self._received)
        self._received.clear()
        return out

    # ---------------------------------------------------------------- timers
    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do (the resend timer), or None."""
        due = [self._last_nak[1] + self.nak_holdoff] if self._nak_wanted else []
        first = next(iter(self._unacked.values()), None)
        if first is not None and first.sent_at is not None:
            due.append(first.sent_at + self.rto)
        return min(due) if due else None

    def tick(self, now: float, *, rx_pending: int = 0, last_rx: float = 0.0) -> None:
        """Run the timers. ``rx_pending``: bytes the deframer holds; ``last_rx``: when the last
        byte arrived. Raises LinkTimeout when the peer has not acknowledged anything after
        ``max_retries`` resends."""
        first = next(iter(self._unacked.items()), None)
        if first is not None:
            seq, sent = first
            if sent.sent_at is not None and now - sent.sent_at > self.rto:
                self._retries += 1
                self.stats.timeouts += 1
                if self._retries > self.max_retries:
                    raise LinkTimeout(
                        f"the ATM acknowledged nothing after {self.max_retries} resends; "
                        "check the cable and that the ATM's maintenance port is enabled")
                self._go_back(seq, now, only_sent=True)
        # A frame stuck half-received (its tail was lost): ask for it again.
        if rx_pending and now - last_rx > max(0.1, 4 * self.frame_time(64)):
            self._request_resend(now)
        elif self._nak_wanted and now - self._last_nak[1] >= self.nak_holdoff:
            self._request_resend(now)
