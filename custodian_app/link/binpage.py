"""Record pages, layout 2: binary, column by column, then compressed (docs/protocol.md §8,
"Layout 2"). Layout 1 (JSON columns) lives in records.py; the client and the ATM pick the
highest layout both know (``recordLayouts`` in Common.Capabilities).

Each column is written whole before the next; values are made small before the compressor
sees them: times as seconds from the previous one (the first from the cycle's opening), TSNs,
host references and serials as a prefix plus a number sent as the difference from the
previous one, amounts as integer minor units divided by the column's common factor,
repeated strings through a per-page dictionary. A value that does not fit the scheme (a
time with another zone offset, a serial with '?') is sent whole, so every page travels
exactly. Decoding checks every length, varint and index and names the page and the offset.
"""

from __future__ import annotations

import lzma
import math
import re
import zlib
from datetime import datetime, timedelta

from custodian_app.domain.formats import AtmTransaction, NoteRecord
from custodian_app.domain.money import format_amount
from custodian_app.link.errors import ProtocolError

LAYOUT = 2
KIND_TRANSACTIONS = 1
KIND_NOTES = 2
CODEC_NONE, CODEC_DEFLATE, CODEC_LZMA2 = 0, 1, 2
LZMA_DICT = 1 << 20  # the raw LZMA2 stream's dictionary size (the decoder must know it)
_LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": LZMA_DICT}]
MAX_BODY = 16 * 1024 * 1024  # a page that inflates beyond this is refused (as a message would be)
MAX_COUNT = 100_000  # records in one page (the ATM sends at most 5000)
MAX_WIDTH = 18  # digits of a number column's number (its differences then fit in 64 bits)

_NUMBERED = re.compile(r"(.*?)([0-9]{1,18})\Z", re.S)
_TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})([+-][0-9]{2}:[0-9]{2}|Z)\Z")

# number-column tags (per value)
_NULL, _RAW, _NUMBER = 0, 1, 2
# number-column prefix modes
_PREFIX_DICT, _PREFIX_INLINE = 0, 1


# ====================================================================== writing


def _varint(out: bytearray, n: int) -> None:
    if n < 0:
        raise ValueError("varint of a negative number")
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def _zigzag(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def _text(out: bytearray, s: str) -> None:
    b = s.encode("utf-8")
    _varint(out, len(b))
    out += b


def _strings(out: bytearray, values: list) -> None:
    """Dictionary column: the page's distinct strings, then each value's index (0 = null)."""
    index: dict[str, int] = {}
    for v in values:
        if v is not None and v not in index:
            index[v] = len(index) + 1
    _varint(out, len(index))
    for s in index:
        _text(out, s)
    for v in values:
        _varint(out, 0 if v is None else index[v])


def _amounts(out: bytearray, values: list, optional: bool) -> None:
    """Whole minor units >= 0: the column's common factor, then each value divided by it
    (optional columns: 0 = null, else value + 1)."""
    present = [v for v in values if v is not None]
    factor = 0
    for v in present:
        factor = math.gcd(factor, v)
    factor = factor or 1
    _varint(out, factor)
    for v in values:
        if v is None:
            _varint(out, 0)
        else:
            _varint(out, v // factor + (1 if optional else 0))


def _flags(out: bytearray, values: list[bool]) -> None:
    out += bytes(1 if v else 0 for v in values)


GROUP = 64  # values per packed group (each group one base-``span`` number)
MAX_SPAN = 1 << 64


def _group_bytes(span: int, n: int) -> int:
    return ((span ** n - 1).bit_length() + 7) // 8


def _window(values: list[int]) -> tuple[int, int]:
    """The range [low, low + span) to pack, leaving out up to 2 % of the values at either end
    when that narrows it enough to pay for sending them apart (the first serial of a page,
    a jump to another bundle)."""
    ordered = sorted(values)
    n = len(ordered)
    most = n // 50
    best = (ordered[0], ordered[-1] - ordered[0] + 1)
    best_cost = n * best[1].bit_length()
    for i in range(most + 1):
        for j in range(most + 1 - i):
            span = ordered[n - 1 - j] - ordered[i] + 1
            cost = n * span.bit_length() + (i + j) * 80
            if cost < best_cost:
                best, best_cost = (ordered[i], span), cost
    return best


def _packed(out: bytearray, values: list[int]) -> None:
    """Whole numbers packed tight: the smallest, the span, the values outside the window
    (index, value), then groups of GROUP values, each written as one number in base ``span``
    (log2(span) bits per value, where a varint spends whole bytes: nine thousand possible
    differences take 13.2 bits, not 16)."""
    low, span = _window(values) if values else (0, 1)
    outside = [(i, v) for i, v in enumerate(values) if not low <= v < low + span]
    _varint(out, _zigzag(low))
    _varint(out, span - 1)
    _varint(out, len(outside))
    last = 0
    for i, v in outside:
        _varint(out, i - last)
        _varint(out, _zigzag(v))
        last = i
    inside = [v - low if low <= v < low + span else 0 for v in values]
    for i in range(0, len(inside), GROUP):
        group = inside[i:i + GROUP]
        n = 0
        for v in reversed(group):
            n = n * span + v
        out += n.to_bytes(_group_bytes(span, len(group)), "little")


def _numbers(out: bytearray, values: list, delta: bool) -> None:
    """Strings ending in digits ('000245', '632426611011', 'DD86397771', '621700******0795'):
    the prefix, the digit count and the number (as the difference from the previous number
    when ``delta``). Null and anything else travel as they are."""
    tags: list[int] = []
    prefixes: list[str] = []
    widths = bytearray()
    numbers: list[int] = []
    raw = bytearray()
    prev = 0
    for v in values:
        m = None if v is None else _NUMBERED.match(v)
        if m is None:
            tags.append(_NULL if v is None else _RAW)
            if v is not None:
                _text(raw, v)
            continue
        tags.append(_NUMBER)
        prefixes.append(m.group(1))
        digits = m.group(2)
        _varint(widths, len(digits))
        n = int(digits)
        numbers.append(n - prev if delta else n)
        prev = n
    # prefixes through a dictionary when few differ (card BINs), else inline (serial letters)
    index: dict[str, int] = {}
    for p in prefixes:
        index.setdefault(p, len(index))
    by_dict = bytearray()
    for p in index:
        _text(by_dict, p)
    by_dict_cost = len(by_dict) + len(prefixes) * (1 if len(index) < 128 else 2)
    inline = sum(len(p.encode("utf-8")) + 1 for p in prefixes)
    mode = _PREFIX_DICT if by_dict_cost <= inline else _PREFIX_INLINE
    signed = any(n < 0 for n in numbers)
    as_varints = bytearray()
    for n in numbers:  # differences are signed only when one of them is negative
        _varint(as_varints, _zigzag(n) if signed else n)
    as_packed = bytearray()
    if numbers and max(numbers) - min(numbers) < MAX_SPAN:
        _packed(as_packed, numbers)
    packed = 0 < len(as_packed) < len(as_varints)
    out.append(mode | (2 if delta else 0) | (4 if signed else 0) | (8 if packed else 0))
    if mode == _PREFIX_DICT:
        _varint(out, len(index))
        out += by_dict
    it = iter(prefixes)
    for tag in tags:  # number tags carry their prefix's index: 2 + index
        _varint(out, tag + (index[next(it)] if mode == _PREFIX_DICT and tag == _NUMBER else 0))
    if mode == _PREFIX_INLINE:  # each prefix's length, the page's alphabet, the letters packed
        alphabet = sorted(set("".join(prefixes)))
        for p in prefixes:
            _varint(out, len(p))
        _text(out, "".join(alphabet))
        where = {c: i for i, c in enumerate(alphabet)}
        _packed(out, [where[c] for p in prefixes for c in p])
    out += widths
    out += as_packed if packed else as_varints
    out += raw


def _split_time(s: str) -> tuple[datetime, str] | None:
    m = _TIME.match(s)
    if m is None:
        return None
    try:
        t = datetime.fromisoformat(m.group(1))
    except ValueError:
        return None
    if t.strftime("%Y-%m-%dT%H:%M:%S") != m.group(1):
        return None
    return t, m.group(2)


def _times(out: bytearray, values: list[str], base: str) -> None:
    """Seconds from the previous time (the first from ``base``, the cycle's opening), zigzag,
    plus one; 0 = the time follows whole (another zone offset, fractions of a second)."""
    _text(out, base)
    parsed = _split_time(base)
    raw = bytearray()
    prev, zone = parsed if parsed else (None, None)
    for v in values:
        t = _split_time(v)
        if t is None or prev is None or t[1] != zone:
            _varint(out, 0)
            _text(raw, v)
            continue
        _varint(out, _zigzag(int((t[0] - prev).total_seconds())) + 1)
        prev = t[0]
    out += raw


CODECS = (CODEC_NONE, CODEC_DEFLATE, CODEC_LZMA2)


def _pack(kind: int, count: int, body: bytearray, codecs: tuple[int, ...]) -> bytes:
    """Header and body, compressed by whichever of ``codecs`` makes it shortest."""
    head = bytearray([kind])
    _varint(head, count)
    plain = bytes(head + body)
    candidates = []
    for codec in codecs:
        if codec == CODEC_NONE:
            candidates.append((codec, plain))
        elif codec == CODEC_DEFLATE:
            deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
            candidates.append((codec, deflate.compress(plain) + deflate.flush()))
        elif codec == CODEC_LZMA2:
            candidates.append((codec, lzma.compress(plain, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)))
    codec, data = min(candidates, key=lambda c: len(c[1]))
    return bytes([LAYOUT, codec]) + data


def encode_transactions(txs: list[AtmTransaction], opened_at: str, codecs: tuple[int, ...] = CODECS) -> bytes:
    body = bytearray()
    _numbers(body, [t.tsn for t in txs], delta=True)
    _times(body, [t.time for t in txs], opened_at)
    _strings(body, [t.type for t in txs])
    _numbers(body, [t.card for t in txs], delta=False)
    _amounts(body, [t.amount for t in txs], optional=False)
    _strings(body, [t.host_code for t in txs])
    _numbers(body, [t.host_ref for t in txs], delta=True)
    _flags(body, [t.reversed for t in txs])
    _amounts(body, [t.reversed_amount for t in txs], optional=True)
    for name in ("taken", "retracted", "deposited", "returned", "unknown"):
        _amounts(body, [getattr(t, name) for t in txs], optional=False)
    return _pack(KIND_TRANSACTIONS, len(txs), body, codecs)


def encode_notes(notes: list[NoteRecord], codecs: tuple[int, ...] = CODECS) -> bytes:
    body = bytearray()
    _numbers(body, [n.serial for n in notes], delta=True)
    _amounts(body, [n.value for n in notes], optional=False)
    _numbers(body, [n.tsn for n in notes], delta=True)
    _strings(body, [n.unit for n in notes])
    _strings(body, [n.event for n in notes])
    return _pack(KIND_NOTES, len(notes), body, codecs)


# ====================================================================== reading


class _Reader:
    """A cursor over a page's body; every fault names the page, the column and the offset."""

    def __init__(self, data: bytes, page: str) -> None:
        self.data = data
        self.pos = 0
        self.page = page
        self.column = "header"

    def fail(self, what: str, at: int | None = None) -> ProtocolError:
        return ProtocolError(f"{self.page}, column {self.column!r}, offset {self.pos if at is None else at} "
                             f"of the page: {what}")

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise self.fail("the page ends too early")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self, limit: int = 1 << 64) -> int:
        start = self.pos
        n = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise self.fail("the page ends inside a number", start)
            b = self.data[self.pos]
            self.pos += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
            if shift > 63:
                raise self.fail("a number runs over ten bytes (bad varint)", start)
        if n > limit:
            raise self.fail(f"a number is too large ({n} > {limit})", start)
        return n

    def take(self, n: int, at: int | None = None) -> bytes:
        if n > len(self.data) - self.pos:
            raise self.fail(f"a length of {n} bytes runs past the end of the page", at)
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def text(self) -> str:
        start = self.pos
        raw = self.take(self.varint(), start)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a string is not valid UTF-8", start) from None


def _unzigzag(n: int) -> int:
    return n >> 1 if not n & 1 else -((n + 1) >> 1)


def _read_strings(r: _Reader, count: int, optional: bool) -> list:
    entries = [r.text() for _ in range(r.varint(count))]
    out = []
    for _ in range(count):
        at = r.pos
        i = r.varint()
        if i == 0 and optional:
            out.append(None)
        elif 1 <= i <= len(entries):
            out.append(entries[i - 1])
        else:
            raise r.fail(f"dictionary index {i} is out of range (the page's dictionary has "
                         f"{len(entries)} entries{'' if optional else '; null is not allowed here'})", at)
    return out


def _read_amounts(r: _Reader, count: int, optional: bool) -> list:
    at = r.pos
    factor = r.varint()
    if factor < 1:
        raise r.fail("the common factor of amounts must be at least 1", at)
    out = []
    for _ in range(count):
        v = r.varint()
        if optional:
            out.append(None if v == 0 else (v - 1) * factor)
        else:
            out.append(v * factor)
    return out


def _read_flags(r: _Reader, count: int) -> list[bool]:
    at = r.pos
    raw = r.take(count)
    if any(b > 1 for b in raw):
        raise r.fail("a yes/no value is neither 0 nor 1", at)
    return [b == 1 for b in raw]


def _read_packed(r: _Reader, count: int) -> list[int]:
    at = r.pos
    low = _unzigzag(r.varint())
    span = r.varint() + 1
    if span > MAX_SPAN:
        raise r.fail(f"a packed column's span {span} is over 2**64", at)
    outside: dict[int, int] = {}
    last = 0
    for _ in range(r.varint(count)):
        at = r.pos
        last += r.varint()
        if last >= count or (outside and last in outside):
            raise r.fail(f"a value set apart names position {last} of {count}", at)
        outside[last] = _unzigzag(r.varint())
    out: list[int] = []
    for i in range(0, count, GROUP):
        g = min(GROUP, count - i)
        at = r.pos
        n = int.from_bytes(r.take(_group_bytes(span, g)), "little")
        if n >= span ** g:
            raise r.fail("a packed group holds a value outside its span", at)
        for _ in range(g):
            n, v = divmod(n, span)
            out.append(low + v)
    for i, v in outside.items():
        out[i] = v
    return out


def _read_numbers(r: _Reader, count: int, optional: bool) -> list:
    at = r.pos
    head = r.byte()
    if head & ~15:
        raise r.fail(f"unknown number-column mode {head}", at)
    mode, delta, signed, packed = head & 1, bool(head & 2), bool(head & 4), bool(head & 8)
    prefixes = [r.text() for _ in range(r.varint(count))] if mode == _PREFIX_DICT else []
    tags = []
    for _ in range(count):
        at = r.pos
        tag = r.varint()
        if tag == _NULL and not optional:
            raise r.fail("null where a value is required", at)
        if tag > _NUMBER and mode == _PREFIX_INLINE or mode == _PREFIX_DICT and tag - _NUMBER >= len(prefixes):
            raise r.fail(f"prefix index {tag - _NUMBER} is out of range (the page's dictionary has "
                         f"{len(prefixes)} entries)", at)
        tags.append(tag)
    numbered = sum(1 for t in tags if t >= _NUMBER)
    inline = []
    if mode == _PREFIX_INLINE:
        lengths = [r.varint(1 << 16) for _ in range(numbered)]
        alphabet = r.text()
        at = r.pos
        letters = _read_packed(r, sum(lengths))
        if letters and not 0 <= min(letters) <= max(letters) < len(alphabet):
            raise r.fail(f"a letter index is outside the page's alphabet of {len(alphabet)}", at)
        text = "".join(alphabet[i] for i in letters)
        pos = 0
        for n in lengths:
            inline.append(text[pos:pos + n])
            pos += n
    widths = []
    for _ in range(numbered):
        at = r.pos
        w = r.varint()
        if not 1 <= w <= MAX_WIDTH:
            raise r.fail(f"a number's digit count {w} is outside 1..{MAX_WIDTH}", at)
        widths.append(w)
    numbers = []
    prev = 0
    at = r.pos
    values = _read_packed(r, numbered) if packed else None
    for k, w in enumerate(widths):
        if values is None:
            at = r.pos
            n = _unzigzag(r.varint()) if signed else r.varint()
        else:
            n = values[k]
        n = prev + n if delta else n
        if not 0 <= n < 10 ** w:
            raise r.fail(f"the number {n} does not fit in {w} digits", at)
        numbers.append(n)
        prev = n
    out = []
    k = 0
    for tag in tags:
        if tag == _NULL:
            out.append(None)
        elif tag == _RAW:
            out.append(r.text())
        else:
            p = inline[k] if mode == _PREFIX_INLINE else prefixes[tag - _NUMBER]
            out.append(f"{p}{numbers[k]:0{widths[k]}d}")
            k += 1
    return out


def _read_times(r: _Reader, count: int) -> list[str]:
    base = r.text()
    parsed = _split_time(base)
    prev, zone = parsed if parsed else (None, None)
    steps = []
    for _ in range(count):
        at = r.pos
        steps.append((at, r.varint()))
    out = []
    for at, step in steps:
        if step == 0:
            out.append(r.text())
            continue
        if prev is None:
            raise r.fail("a time is given from the cycle's opening, which is not a plain time", at)
        try:
            prev = prev + timedelta(seconds=_unzigzag(step - 1))
        except OverflowError:
            raise r.fail("a time lies outside the calendar", at) from None
        out.append(prev.strftime("%Y-%m-%dT%H:%M:%S") + zone)
    return out


def _unpack(blob: bytes, page: str, kind: int) -> tuple[_Reader, int]:
    if len(blob) < 2:
        raise ProtocolError(f"{page}: the page is {len(blob)} bytes long, too short for its header")
    if blob[0] != LAYOUT:
        raise ProtocolError(f"{page}: record layout {blob[0]} where layout {LAYOUT} was agreed")
    codec, data = blob[1], blob[2:]
    try:
        if codec == CODEC_NONE:
            body = data
        elif codec == CODEC_DEFLATE:
            d = zlib.decompressobj(-15)
            body = d.decompress(data, MAX_BODY)
            if d.unconsumed_tail or not d.eof:
                raise ProtocolError(f"{page}: the compressed page is cut short or inflates beyond "
                                    f"{MAX_BODY} bytes")
        elif codec == CODEC_LZMA2:
            d = lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": LZMA_DICT}])
            body = d.decompress(data, MAX_BODY)
            if not d.eof:
                raise ProtocolError(f"{page}: the compressed page is cut short or inflates beyond "
                                    f"{MAX_BODY} bytes")
        else:
            raise ProtocolError(f"{page}: unknown compression {codec} (byte 1 of the page)")
    except (zlib.error, lzma.LZMAError) as exc:
        raise ProtocolError(f"{page}: the compressed page is damaged ({exc})") from exc
    r = _Reader(body, page)
    at = r.pos
    if r.byte() != kind:
        raise r.fail("the page holds another kind of record", at)
    count = r.varint(MAX_COUNT)
    return r, count


def _finish(r: _Reader) -> None:
    if r.pos != len(r.data):
        r.column = "end"
        raise r.fail(f"{len(r.data) - r.pos} bytes left over after the last column")


def decode_transactions(blob: bytes, page: str) -> list[dict]:
    """A layout-2 page -> transactions in the shape of atm-ledger/1."""
    r, n = _unpack(blob, page, KIND_TRANSACTIONS)
    cols: dict[str, list] = {}
    for name, read in (
        ("tsn", lambda: _read_numbers(r, n, False)), ("time", lambda: _read_times(r, n)),
        ("type", lambda: _read_strings(r, n, False)), ("card", lambda: _read_numbers(r, n, False)),
        ("amount", lambda: _read_amounts(r, n, False)), ("hostCode", lambda: _read_strings(r, n, False)),
        ("hostRef", lambda: _read_numbers(r, n, True)), ("reversed", lambda: _read_flags(r, n)),
        ("reversedAmount", lambda: _read_amounts(r, n, True)), ("taken", lambda: _read_amounts(r, n, False)),
        ("retracted", lambda: _read_amounts(r, n, False)), ("deposited", lambda: _read_amounts(r, n, False)),
        ("returned", lambda: _read_amounts(r, n, False)), ("unknown", lambda: _read_amounts(r, n, False)),
    ):
        r.column = name
        cols[name] = read()
    _finish(r)
    c = cols
    out = []
    for i in range(n):  # the shape of atm-ledger/1, validated later with the whole ledger
        tx = {"tsn": c["tsn"][i], "time": c["time"][i], "type": c["type"][i], "card": c["card"][i],
              "amount": format_amount(c["amount"][i]), "host_code": c["hostCode"][i],
              "host_ref": c["hostRef"][i], "reversed": c["reversed"][i],
              "cash": {k: format_amount(c[k][i]) for k in ("taken", "retracted", "deposited", "returned")}}
        if c["reversedAmount"][i] is not None:
            tx["reversed_amount"] = format_amount(c["reversedAmount"][i])
        if c["unknown"][i]:
            tx["cash"]["unknown"] = format_amount(c["unknown"][i])
        out.append(tx)
    return out


def decode_notes(blob: bytes, page: str) -> list[dict]:
    """A layout-2 page -> banknote records in the shape of atm-ledger/1."""
    r, n = _unpack(blob, page, KIND_NOTES)
    r.column = "serial"
    serial = _read_numbers(r, n, False)
    r.column = "value"
    value = _read_amounts(r, n, False)
    r.column = "tsn"
    tsn = _read_numbers(r, n, True)
    r.column = "unit"
    unit = _read_strings(r, n, False)
    r.column = "event"
    event = _read_strings(r, n, False)
    _finish(r)
    return [{"serial": serial[i], "value": format_amount(value[i]), "tsn": tsn[i], "unit": unit[i],
             "event": event[i]} for i in range(n)]
