"""Framing for a noisy RS-232 line (docs/protocol.md, "Frames").

Layout of one frame (all integers big-endian)::

    off  len  field
    0    2    start marker 0x7E 0xA5
    2    1    type   (DATA, ACK, NAK, CONNECT, ...)
    3    1    flags  (DATA: bit0 FINAL fragment of a message, bit1 COMPRESSED)
    4    2    seq    (u16; DATA: a frame counter; ACK/NAK: low 16 bits of the offset)
    6    2    length L of the payload (u16)
    8    2    header check: CRC-32 of bytes 2..7, low 16 bits
    10   L    payload
    10+L 4    CRC-32 (IEEE 802.3, as zlib.crc32) of bytes 2 .. 10+L-1

The header check lets a receiver reject a damaged length at once instead of waiting for up to
64 KiB that will never come. ``decode`` is stateless (pymodbus style): given the bytes received
so far it returns how many to drop and the frame found, if any. It "hunts": garbage before a
start marker is dropped, and a frame whose header check or CRC fails is dropped one byte at a
time so that a real frame hidden inside it is still found. A frame that fails a check is never
returned.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from custodian_app.link.errors import FramingError

SOF = b"\x7e\xa5"
HEADER_LEN = 10
TRAILER_LEN = 4
OVERHEAD = HEADER_LEN + TRAILER_LEN
MAX_PAYLOAD = 0xFFFF

# Frame types. Receivers ignore types they do not know (forward compatibility).
DATA = 0x01  # u32 stream offset + a piece of the message stream; acknowledged
ACK = 0x02  # u32 offset: every byte before it arrived (cumulative)
NAK = 0x03  # u32 offset: please send again from there (a gap or a damaged frame was seen)
CONNECT = 0x10  # client -> ATM: open a session (payload: JSON offer)
ACCEPT = 0x11  # ATM -> client: session open (payload: JSON choice)
REFUSE = 0x12  # ATM -> client: no session (payload: JSON reason)
NOSESSION = 0x13  # "I have no session with you": reconnect
DISCONNECT = 0x14  # polite end of the session
PING = 0x20  # are you there? (answered by PONG)
PONG = 0x21

TYPE_NAMES = {
    DATA: "DATA",
    ACK: "ACK",
    NAK: "NAK",
    CONNECT: "CONNECT",
    ACCEPT: "ACCEPT",
    REFUSE: "REFUSE",
    NOSESSION: "NOSESSION",
    DISCONNECT: "DISCONNECT",
    PING: "PING",
    PONG: "PONG",
}

FLAG_FINAL = 0x01
FLAG_COMPRESSED = 0x02

_HEADER = struct.Struct(">2sBBHHH")
_CRC = struct.Struct(">I")


@dataclass(frozen=True, slots=True)
class Frame:
    type: int
    flags: int = 0
    seq: int = 0
    payload: bytes = b""

    @property
    def final(self) -> bool:
        return bool(self.flags & FLAG_FINAL)

    def __repr__(self) -> str:  # short: payloads can be large
        name = TYPE_NAMES.get(self.type, hex(self.type))
        return f"Frame({name}, flags={self.flags:#x}, seq={self.seq}, {len(self.payload)} bytes)"


def _header_check(fields: bytes) -> int:
    return zlib.crc32(fields) & 0xFFFF


def encode(frame: Frame) -> bytes:
    """The bytes of one frame on the wire."""
    return encode_parts(frame.type, frame.flags, frame.seq, frame.payload)


def encode_parts(ftype: int, flags: int, seq: int, payload: bytes = b"") -> bytes:
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise FramingError(f"a frame carries at most {MAX_PAYLOAD} bytes, not {n}")
    if not (0 <= ftype <= 0xFF and 0 <= flags <= 0xFF and 0 <= seq <= 0xFFFF):
        raise FramingError(f"frame field out of range: type={ftype} flags={flags} seq={seq}")
    fields = struct.pack(">BBHH", ftype, flags, seq, n)
    head = SOF + fields + struct.pack(">H", _header_check(fields))
    crc = zlib.crc32(payload, zlib.crc32(head[2:]))
    return b"".join((head, payload, _CRC.pack(crc)))


def decode(
    buffer: bytes | bytearray | memoryview, max_payload: int = MAX_PAYLOAD
) -> tuple[int, Frame | None]:
    """Look at the start of ``buffer``; return ``(consumed, frame)``.

    - ``(n, Frame)``: a whole, intact frame occupied the first n bytes.
    - ``(n, None)`` with n > 0: the first n bytes are garbage or a damaged frame; drop them
      and call again.
    - ``(0, None)``: nothing to drop yet; wait for more bytes.

    Never raises for any content of ``buffer``; raises FramingError only when ``buffer`` is
    not bytes at all (a programming error).
    """
    if not isinstance(buffer, (bytes, bytearray, memoryview)):
        raise FramingError(f"decode() wants bytes, not {type(buffer).__name__}")
    buf = buffer if isinstance(buffer, (bytes, bytearray)) else bytes(buffer)
    size = len(buf)
    start = buf.find(SOF)
    if start < 0:
        # Keep a trailing first marker byte: it may be the start of a marker split in two.
        keep = 1 if size and buf[-1] == SOF[0] else 0
        return size - keep, None
    if start > 0:
        return start, None
    if size < HEADER_LEN:
        return 0, None
    _, ftype, flags, seq, length, check = _HEADER.unpack_from(buf, 0)
    if check != _header_check(bytes(buf[2:8])) or length > max_payload:
        return 1, None  # a damaged header (or a marker inside garbage): hunt on
    end = HEADER_LEN + length
    if size < end + TRAILER_LEN:
        return 0, None
    (crc,) = _CRC.unpack_from(buf, end)
    if crc != zlib.crc32(memoryview(buf)[2:end]):
        return 1, None  # damaged payload: never accepted
    return end + TRAILER_LEN, Frame(ftype, flags, seq, bytes(buf[HEADER_LEN:end]))


class Deframer:
    """Collects received bytes and hands out whole frames; counts what it had to throw away.

    A thin stateful convenience over ``decode`` for the session and the simulator. One thing
    it adds: a frame whose header announced more bytes than ever come (the sender restarted
    or the cable was pulled in the middle of it) would otherwise swallow every later frame as
    its "payload" until the announced length is reached. So while the first frame waits, the
    bytes after its start are searched for a whole intact frame; when one is found, the
    waiting frame was cut off and is dropped like a damaged one (docs/protocol.md §2).
    """

    __slots__ = (
        "buffer",
        "max_payload",
        "garbage_bytes",
        "damaged_frames",
        "frames_ok",
        "cut_frames",
        "_scan_from",
    )

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self.buffer = bytearray()
        self.max_payload = max_payload
        self.garbage_bytes = 0
        self.damaged_frames = 0
        self.frames_ok = 0
        self.cut_frames = 0
        self._scan_from = 1  # where the search for a frame inside the waiting one goes on

    def _cut_off(self) -> bool:
        """True when a whole intact frame starts inside the frame waiting at the front."""
        buf = self.buffer
        pos = buf.find(SOF, max(1, self._scan_from))
        while pos > 0:
            consumed, frame = decode(bytes(buf[pos:]), self.max_payload)
            if frame is not None:
                return True
            if consumed == 0:
                break  # it may yet complete: look again from here when more bytes come
            pos = buf.find(SOF, pos + 1)
        self._scan_from = pos if pos > 0 else max(1, len(buf) - 1)
        return False

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames: list[Frame] = []
        buf = self.buffer
        while buf:
            consumed, frame = decode(buf, self.max_payload)
            if consumed == 0:
                if len(buf) <= HEADER_LEN or not self._cut_off():
                    break
                self.cut_frames += 1
                consumed = 1  # hunt on from the next byte, as for a damaged frame
            self._scan_from = 1
            if frame is not None:
                frames.append(frame)
                self.frames_ok += 1
            elif consumed == 1 and buf[:2] == SOF:
                self.damaged_frames += 1
                self.garbage_bytes += 1
            else:
                self.garbage_bytes += consumed
            del buf[:consumed]
        return frames

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a frame."""
        return len(self.buffer)

    def clear(self) -> None:
        self.buffer.clear()
        self._scan_from = 1
