"""One side of an open session, without any I/O (sans-I/O, like h11): the sliding window.

Both the application (link.session) and the ATM simulator drive one of these. The owner feeds
it the frames it received (``handle_frame``), lets it run its timers (``tick``), and pulls the
bytes it wants on the wire (``pull``) as fast as its line allows. It never blocks and never
reads a clock of its own: every call is given ``now``.

What it does (docs/protocol.md, "Reliable delivery"):
- each direction is one byte stream of messages; a DATA frame carries the stream offset of its
  first byte, so frames may be cut anew at any size when they must be resent (a frame that
  keeps failing on a noisy line is resent in smaller pieces, which is always safe: the
  receiver takes whatever part of a frame is new to it);
- keeps up to ``window`` frames' worth of bytes unacknowledged (go-back-N), so the line never
  idles waiting for a round trip;
- acknowledges what it received in order (cumulative ACK of the stream offset), drops what is
  ahead of a gap or already had, and asks for a resend (NAK) on a gap, a damaged frame or a
  frame stuck half-received;
- resends from the first unacknowledged byte when a NAK arrives or its timer runs out,
  halving the frame size after each loss and doubling it again after a clean run;
- compresses each direction as one zlib stream (flushed at each message end) when negotiated,
  so later messages profit from what earlier ones said.
"""

from __future__ import annotations

import struct
import zlib
from collections import deque
from dataclasses import dataclass, field

from custodian_app.link import framer
from custodian_app.link.errors import LinkTimeout, ProtocolError
from custodian_app.link.framer import ACK, DATA, FLAG_COMPRESSED, FLAG_FINAL, NAK, OVERHEAD, PING, PONG, Frame
from custodian_app.link.messages import MAX_MESSAGE

OFF_MOD = 1 << 32
OFF_HALF = OFF_MOD // 2
OFFSET = struct.Struct(">I")
DATA_OVERHEAD = OVERHEAD + OFFSET.size  # framing plus the stream offset of a DATA frame
MIN_PAYLOAD = 128
START_PAYLOAD = 1024


def off_diff(a: int, b: int) -> int:
    """a - b in stream-offset space (mod 2**32), in [-2**31, 2**31)."""
    d = (a - b) % OFF_MOD
    return d - OFF_MOD if d >= OFF_HALF else d


@dataclass(slots=True)
class _InFlight:
    start: int  # stream offset of the first byte (unwrapped)
    end: int
    sent_at: float | None = None  # when its last byte left; None while being pulled


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
    def __init__(
        self,
        *,
        max_payload: int = 4096,
        window: int = 8,
        line_rate: float | None = None,
        compression: str = "none",
        rto_base: float = 0.3,
        max_retries: int = 10,
        level: int = 9,
    ) -> None:
        if compression not in ("zlib", "none"):
            raise ProtocolError(f"unknown compression {compression!r}")
        self.max_payload = max(MIN_PAYLOAD, min(max_payload, framer.MAX_PAYLOAD))
        # slow start: the first frames are small, so a noisy line does not begin with a window
        # of big frames; a clean run doubles the size quickly
        self.cur_payload = min(self.max_payload, START_PAYLOAD)
        self.window = max(1, min(window, 64))
        self.line_rate = line_rate  # bytes per second on the wire, None = as fast as it goes
        self.compression = compression
        self.rto_base = rto_base
        self.max_retries = max_retries
        self.stats = EndpointStats()
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 9) if compression == "zlib" else None
        self._decompressor = zlib.decompressobj(-15) if compression == "zlib" else None
        # sending: offsets are kept unwrapped here and sent mod 2**32
        self._tx_buf = bytearray()  # stream bytes from _tx_base on
        self._tx_base = 0  # everything before is acknowledged
        self._tx_next = 0  # next byte to put in a frame (new or again)
        self._tx_high = 0  # end of the furthest frame ever cut
        self._msg_ends: deque[tuple[int, int]] = deque()  # (end offset, flags) of unacknowledged messages
        self._inflight: deque[_InFlight] = deque()
        self._seq = 0  # frame counter, for people reading a line trace
        self._ctrl: deque[bytes] = deque()
        self._ack_due = False
        self._out = bytearray()
        self._out_marks: deque[tuple[int, _InFlight]] = deque()  # (end position in stream, frame)
        self._pulled = 0
        self._committed = 0
        self._retries = 0
        self._clean_run = 0
        # receiving
        self._rx_off = 0  # unwrapped
        self._rx_parts: list[bytes] = []
        self._rx_size = 0
        self._rx_flags = 0
        self._received: deque[bytes] = deque()
        self._last_nak: tuple[int, float] = (-1, -1e9)
        self._nak_wanted = False
        self._rx_frame_size = self.max_payload
        self.last_pong = -1e9

    # ---------------------------------------------------------------- timings
    def frame_time(self, payload: int | None = None) -> float:
        if not self.line_rate:
            return 0.0
        return ((self.cur_payload if payload is None else payload) + DATA_OVERHEAD) / self.line_rate

    @property
    def rto(self) -> float:
        """Resend timer: a frame's trip, the peer's reply queued behind one of its own frames."""
        base = self.rto_base + 2 * self.frame_time(self.max_payload)
        return base * min(2**self._retries, 4)

    @property
    def nak_holdoff(self) -> float:
        """How long a receiver waits before asking again for the same bytes: about the time
        the sender needs to finish the frame it is on and send the one asked for. The sender's
        frames are about the size of the last ones received (it shrinks them after losses)."""
        return 0.03 + 2.5 * self.frame_time(self._rx_frame_size)

    # ---------------------------------------------------------------- sending
    def send_message(self, data: bytes) -> None:
        flags = 0
        if self._compressor is not None:
            data = self._compressor.compress(data) + self._compressor.flush(zlib.Z_SYNC_FLUSH)
            flags |= FLAG_COMPRESSED
        if not data:
            return
        self._tx_buf += data
        self._msg_ends.append((self._tx_base + len(self._tx_buf), flags))
        self.stats.messages_sent += 1

    def send_control(self, frame_type: int, seq: int = 0, payload: bytes = b"") -> None:
        self._ctrl.append(framer.encode_parts(frame_type, 0, seq, payload))

    def ping(self) -> None:
        self.send_control(PING)

    @property
    def _tx_end(self) -> int:
        return self._tx_base + len(self._tx_buf)

    @property
    def backlog(self) -> int:
        """Bytes queued here and not yet on the wire for the first time."""
        return max(0, self._tx_end - self._tx_high) + len(self._out)

    @property
    def idle(self) -> bool:
        """Everything sent has been acknowledged."""
        return not self._tx_buf and not self._out

    def _window_open(self) -> bool:
        return self._tx_next < self._tx_end and self._tx_next - self._tx_base < self.window * self.cur_payload

    @property
    def mid_frame(self) -> bool:
        """The bytes pulled so far end inside a frame (its rest is still to be pulled)."""
        return bool(self._out)

    def has_output(self) -> bool:
        return bool(self._out or self._ctrl or self._ack_due or self._window_open())

    def _ack_frame(self, ftype: int) -> bytes:
        off = self._rx_off % OFF_MOD
        return framer.encode_parts(ftype, 0, off & 0xFFFF, OFFSET.pack(off))

    def _next_frame(self) -> tuple[bytes, _InFlight | None] | None:
        if self._ack_due:
            self._ack_due = False
            self.stats.acks_sent += 1
            return self._ack_frame(ACK), None
        if self._ctrl:
            return self._ctrl.popleft(), None
        if not self._window_open():
            return None
        start = self._tx_next
        end, flags = next((e, f) for e, f in self._msg_ends if e > start)
        stop = min(end, start + self.cur_payload)
        if stop == end:
            flags |= FLAG_FINAL
        chunk = bytes(self._tx_buf[start - self._tx_base : stop - self._tx_base])
        wire = framer.encode_parts(DATA, flags, self._seq, OFFSET.pack(start % OFF_MOD) + chunk)
        self._seq = (self._seq + 1) & 0xFFFF
        if start < self._tx_high:
            self.stats.frames_resent += 1
        else:
            self.stats.frames_sent += 1
            self.stats.payload_out += len(chunk)
        self._tx_next = stop
        self._tx_high = max(self._tx_high, stop)
        flight = _InFlight(start, stop)
        self._inflight.append(flight)
        return wire, flight

    def pull(self, now: float, max_bytes: int | None = None) -> bytes:
        """The next bytes for the wire: everything due, or at most ``max_bytes`` of it."""
        while max_bytes is None or len(self._out) < max_bytes:
            nxt = self._next_frame()
            if nxt is None:
                break
            wire, flight = nxt
            self._out += wire
            self._committed += len(wire)
            if flight is not None:
                self._out_marks.append((self._committed, flight))
        if max_bytes is None or max_bytes >= len(self._out):
            data = bytes(self._out)
            self._out.clear()
        else:
            data = bytes(self._out[:max_bytes])
            del self._out[:max_bytes]
        self._pulled += len(data)
        marks = self._out_marks
        while marks and marks[0][0] <= self._pulled:
            marks.popleft()[1].sent_at = now
        return data

    def _acknowledged(self, off: int) -> bool:
        """The peer has every byte before ``off`` (mod 2**32). True if that is news."""
        d = off_diff(off, self._tx_base % OFF_MOD)
        if d <= 0 or d > self._tx_high - self._tx_base:
            return False  # old news, or bytes never sent: ignore
        new_base = self._tx_base + d
        del self._tx_buf[:d]
        self._tx_base = new_base
        if self._tx_next < new_base:
            self._tx_next = new_base
        while self._msg_ends and self._msg_ends[0][0] <= new_base:
            self._msg_ends.popleft()
        acked = 0
        while self._inflight and self._inflight[0].end <= new_base:
            self._inflight.popleft()
            acked += 1
        self._retries = 0
        self._clean_run += max(1, acked)
        if self._clean_run >= 8 and self.cur_payload < self.max_payload:
            self.cur_payload = min(self.max_payload, self.cur_payload * 2)
            self._clean_run = 0
        return True

    def _go_back(self) -> None:
        """Send again from the first unacknowledged byte, in smaller frames."""
        self._tx_next = self._tx_base
        self._inflight.clear()
        self._clean_run = 0
        self.cur_payload = max(MIN_PAYLOAD, self.cur_payload // 2)

    # ---------------------------------------------------------------- receiving
    def handle_frame(self, frame: Frame, now: float) -> None:
        ftype = frame.type
        if ftype == DATA:
            self._on_data(frame, now)
        elif ftype == ACK:
            if len(frame.payload) == OFFSET.size:
                self._acknowledged(OFFSET.unpack(frame.payload)[0])
        elif ftype == NAK:
            if len(frame.payload) != OFFSET.size:
                return
            self.stats.naks_received += 1
            (off,) = OFFSET.unpack(frame.payload)
            self._acknowledged(off)
            if off_diff(off, self._tx_base % OFF_MOD) != 0 or self._tx_high <= self._tx_base:
                return  # about bytes it has since received, or nothing outstanding
            # Ignore it if a resend from there is already under way (not yet fully sent).
            first = self._inflight[0] if self._inflight else None
            if self._tx_next == self._tx_base or (
                first is not None and first.start == self._tx_base and first.sent_at is None
            ):
                return
            self._go_back()
        elif ftype == PING:
            self.send_control(PONG)
        elif ftype == PONG:
            self.last_pong = now
        # other types belong to the owner (session set-up) or to a later version: ignored here

    def _on_data(self, frame: Frame, now: float) -> None:
        if len(frame.payload) < OFFSET.size:
            return  # cannot be ours (the CRC was right, so it is a peer's mistake): ignore
        (off,) = OFFSET.unpack_from(frame.payload)
        data = memoryview(frame.payload)[OFFSET.size :]
        d = off_diff(off, self._rx_off % OFF_MOD)
        if d > 0:
            self.stats.out_of_order += 1
            self._request_resend(now)
            return
        skip = -d
        if skip >= len(data):
            self.stats.duplicates += 1
            self._ack_due = True  # our ACK was lost: say it again
            return
        new = bytes(data[skip:])
        self._rx_off += len(new)
        self._ack_due = True
        self._nak_wanted = False
        if not frame.final:  # a message's last fragment is a remainder, not the frame size
            self._rx_frame_size = max(MIN_PAYLOAD, len(data))
        self.stats.payload_in += len(new)
        self._rx_parts.append(new)
        self._rx_size += len(new)
        self._rx_flags |= frame.flags
        if self._rx_size > MAX_MESSAGE:
            raise ProtocolError(f"the other side sent a message larger than {MAX_MESSAGE} bytes")
        if frame.final:
            # The sender may now fall silent: if this ACK is lost it waits a whole resend
            # timer. A second copy costs 18 bytes.
            self._ctrl.append(self._ack_frame(ACK))
            self._deliver()

    def _deliver(self) -> None:
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
        last_off, last_time = self._last_nak
        if last_off == self._rx_off and now - last_time < self.nak_holdoff:
            self._nak_wanted = True  # asked very recently: ask again when the hold-off ends
            return
        self._nak_wanted = False
        self._last_nak = (self._rx_off, now)
        self.stats.naks_sent += 1
        self._ctrl.append(self._ack_frame(NAK))

    def take_received(self) -> list[bytes]:
        out = list(self._received)
        self._received.clear()
        return out

    # ---------------------------------------------------------------- timers
    def next_deadline(self) -> float | None:
        """When ``tick`` next has something to do, or None."""
        due = [self._last_nak[1] + self.nak_holdoff] if self._nak_wanted else []
        first = self._inflight[0] if self._inflight else None
        if first is not None and first.sent_at is not None:
            due.append(first.sent_at + self.rto)
        return min(due) if due else None

    def tick(self, now: float, *, rx_pending: int = 0, last_rx: float = 0.0) -> None:
        """Run the timers. ``rx_pending``: bytes the deframer holds; ``last_rx``: when the last
        byte arrived. Raises LinkTimeout when the peer has not acknowledged anything after
        ``max_retries`` resends."""
        first = self._inflight[0] if self._inflight else None
        if first is not None and first.sent_at is not None and now - first.sent_at > self.rto:
            self._retries += 1
            self.stats.timeouts += 1
            if self._retries > self.max_retries:
                raise LinkTimeout(
                    f"the ATM acknowledged nothing after {self.max_retries} resends; "
                    "check the cable and that the ATM's maintenance port is enabled"
                )
            self._go_back()
        # A frame stuck half-received (its tail was lost): ask for it again.
        if (
            rx_pending
            and now - last_rx > max(0.1, 4 * self.frame_time(64))
            or self._nak_wanted
            and now - self._last_nak[1] >= self.nak_holdoff
        ):
            self._request_resend(now)
