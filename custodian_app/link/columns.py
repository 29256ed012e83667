"""The columns of a layout-2 record page (binpage.py; docs/protocol.md §8, "Layout 2"): how
each kind of column is written, and read back with every length, varint and index checked.
A column holds all of a page's values of one field; each value is made small before the
page's compressor sees it (differences, dictionaries, common factors, tight packing), and a
value that does not fit the scheme travels whole, so every value travels exactly."""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta

from custodian_app.link.errors import ProtocolError

MAX_WIDTH = 18  # digits of a number column's number (its differences then fit in 64 bits)
MAX_INLINE = 32  # characters of a prefix sent inline (longer ones go through the dictionary),
# which bounds what a hostile page can make the reader unpack

NUMBERED = re.compile(r"(.*?)([0-9]{1,18})\Z", re.S)
TIME = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})([+-][0-9]{2}:[0-9]{2}|Z)\Z")

# number-column tags (per value)
NULL, RAW, NUMBER = 0, 1, 2
# number-column prefix modes
PREFIX_DICT, PREFIX_INLINE = 0, 1

# ====================================================================== writing


def varint(out: bytearray, n: int) -> None:
    if n < 0:
        raise ValueError("varint of a negative number")
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)


def zigzag(n: int) -> int:
    return n * 2 if n >= 0 else -n * 2 - 1


def text(out: bytearray, s: str) -> None:
    b = s.encode("utf-8")
    varint(out, len(b))
    out += b


def strings(out: bytearray, values: list) -> None:
    """Dictionary column: the page's distinct strings, then each value's index (0 = null)."""
    index: dict[str, int] = {}
    for v in values:
        if v is not None and v not in index:
            index[v] = len(index) + 1
    varint(out, len(index))
    for s in index:
        text(out, s)
    for v in values:
        varint(out, 0 if v is None else index[v])


def amounts(out: bytearray, values: list, optional: bool) -> None:
    """Whole minor units >= 0: the column's common factor, then each value divided by it
    (optional columns: 0 = null, else value + 1)."""
    present = [v for v in values if v is not None]
    factor = 0
    for v in present:
        factor = math.gcd(factor, v)
    factor = factor or 1
    varint(out, factor)
    for v in values:
        if v is None:
            varint(out, 0)
        else:
            varint(out, v // factor + (1 if optional else 0))


def cash(out: bytearray, values: list[int], amounts: list[int]) -> None:
    """A cash column of transactions (taken, deposited …), mostly nothing or the whole
    amount: 0 = nothing, 1 = the transaction's amount, else the common factor's multiple + 2
    (the factor over the other values, first)."""
    factor = 0
    for v, a in zip(values, amounts, strict=True):
        if v not in (0, a):
            factor = math.gcd(factor, v)
    factor = factor or 1
    varint(out, factor)
    for v, a in zip(values, amounts, strict=True):
        varint(out, 0 if v == 0 else 1 if v == a else v // factor + 2)


def flags(out: bytearray, values: list[bool]) -> None:
    out += bytes(1 if v else 0 for v in values)


GROUP = 64  # values per packed group (each group one base-``span`` number)
MAX_SPAN = 1 << 64


def group_bytes(span: int, n: int) -> int:
    return ((span**n - 1).bit_length() + 7) // 8


def window(values: list[int]) -> tuple[int, int]:
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


def packed(out: bytearray, values: list[int]) -> None:
    """Whole numbers packed tight: the smallest, the span, the values outside the window
    (index, value), then groups of GROUP values, each written as one number in base ``span``
    (log2(span) bits per value, where a varint spends whole bytes: nine thousand possible
    differences take 13.2 bits, not 16). The caller keeps the whole range within 2**64."""
    low, span = window(values) if values else (0, 1)
    outside = [(i, v) for i, v in enumerate(values) if not low <= v < low + span]
    varint(out, zigzag(low))
    varint(out, span - 1)
    varint(out, len(outside))
    last = 0
    for i, v in outside:
        varint(out, i - last)
        varint(out, zigzag(v))
        last = i
    inside = [v - low if low <= v < low + span else 0 for v in values]
    for i in range(0, len(inside), GROUP):
        group = inside[i : i + GROUP]
        n = 0
        for v in reversed(group):
            n = n * span + v
        out += n.to_bytes(group_bytes(span, len(group)), "little")


def numbers(out: bytearray, values: list, delta: bool) -> None:
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
        m = None if v is None else NUMBERED.match(v)
        if m is None:
            tags.append(NULL if v is None else RAW)
            if v is not None:
                text(raw, v)
            continue
        tags.append(NUMBER)
        prefixes.append(m.group(1))
        digits = m.group(2)
        varint(widths, len(digits))
        n = int(digits)
        numbers.append(n - prev if delta else n)
        prev = n
    # prefixes through a dictionary when few differ (card BINs), else inline (serial letters)
    index: dict[str, int] = {}
    for p in prefixes:
        index.setdefault(p, len(index))
    by_dict = bytearray()
    for p in index:
        text(by_dict, p)
    by_dict_cost = len(by_dict) + len(prefixes) * (1 if len(index) < 128 else 2)
    inline = sum(len(p.encode("utf-8")) + 1 for p in prefixes)
    short = all(len(p) <= MAX_INLINE for p in prefixes)
    mode = PREFIX_DICT if by_dict_cost <= inline or not short else PREFIX_INLINE
    signed = any(n < 0 for n in numbers)
    as_varints = bytearray()
    for n in numbers:  # differences are signed only when one of them is negative
        varint(as_varints, zigzag(n) if signed else n)
    as_packed = bytearray()
    if numbers and max(numbers) - min(numbers) < MAX_SPAN:
        packed(as_packed, numbers)
    tight = 0 < len(as_packed) < len(as_varints)
    out.append(mode | (2 if delta else 0) | (4 if signed else 0) | (8 if tight else 0))
    if mode == PREFIX_DICT:
        varint(out, len(index))
        out += by_dict
    it = iter(prefixes)
    for tag in tags:  # number tags carry their prefix's index: 2 + index
        varint(out, tag + (index[next(it)] if mode == PREFIX_DICT and tag == NUMBER else 0))
    if mode == PREFIX_INLINE:  # each prefix's length, the page's alphabet, the letters packed
        alphabet = sorted(set("".join(prefixes)))
        for p in prefixes:
            varint(out, len(p))
        text(out, "".join(alphabet))
        where = {c: i for i, c in enumerate(alphabet)}
        packed(out, [where[c] for p in prefixes for c in p])
    out += widths
    out += as_packed if tight else as_varints
    out += raw


def split_time(s: str) -> tuple[datetime, str] | None:
    m = TIME.match(s)
    if m is None:
        return None
    try:
        t = datetime.fromisoformat(m.group(1))
    except ValueError:
        return None
    if t.strftime("%Y-%m-%dT%H:%M:%S") != m.group(1):
        return None
    return t, m.group(2)


def times(out: bytearray, values: list[str], base: str) -> None:
    """Seconds from the previous time (the first from ``base``, the cycle's opening), zigzag,
    plus one; 0 = the time follows whole (another zone offset, fractions of a second)."""
    text(out, base)
    parsed = split_time(base)
    raw = bytearray()
    prev, zone = parsed if parsed else (None, None)
    for v in values:
        t = split_time(v)
        if t is None or prev is None or t[1] != zone:
            varint(out, 0)
            text(raw, v)
            continue
        varint(out, zigzag(int((t[0] - prev).total_seconds())) + 1)
        prev = t[0]
    out += raw


# ====================================================================== reading


def shown(n: int) -> str:
    """A number for an error message: in full when short, else only its size, so that a
    page's digits (a card number sent where it should not be) are never echoed."""
    return str(n) if -(10**6) < n < 10**6 else f"of {len(str(abs(n)))} digits"


class Reader:
    """A cursor over a page's body; every fault names the page, the column and the offset."""

    def __init__(self, data: bytes, page: str) -> None:
        self.data = data
        self.pos = 0
        self.page = page
        self.column = "header"

    def fail(self, what: str, at: int | None = None) -> ProtocolError:
        return ProtocolError(
            f"{self.page}, column {self.column!r}, offset {self.pos if at is None else at} "
            f"of the page: {what}"
        )

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
            raise self.fail(f"a number is too large ({shown(n)} > {limit})", start)
        return n

    def take(self, n: int, at: int | None = None) -> bytes:
        if n > len(self.data) - self.pos:
            raise self.fail(f"a length of {shown(n)} bytes runs past the end of the page", at)
        b = self.data[self.pos : self.pos + n]
        self.pos += n
        return b

    def text(self) -> str:
        start = self.pos
        raw = self.take(self.varint(), start)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail("a string is not valid UTF-8", start) from None


def unzigzag(n: int) -> int:
    return n >> 1 if not n & 1 else -((n + 1) >> 1)


def read_strings(r: Reader, count: int, optional: bool) -> list:
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
            raise r.fail(
                f"dictionary index {shown(i)} is out of range (the page's dictionary has "
                f"{len(entries)} entries{'' if optional else '; null is not allowed here'})",
                at,
            )
    return out


def read_cash(r: Reader, amounts: list[int]) -> list[int]:
    at = r.pos
    factor = r.varint()
    if factor < 1:
        raise r.fail("the common factor of amounts must be at least 1", at)
    out = []
    for a in amounts:
        v = r.varint()
        out.append(0 if v == 0 else a if v == 1 else (v - 2) * factor)
    return out


def read_amounts(r: Reader, count: int, optional: bool) -> list:
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


def read_flags(r: Reader, count: int) -> list[bool]:
    at = r.pos
    raw = r.take(count)
    if any(b > 1 for b in raw):
        raise r.fail("a yes/no value is neither 0 nor 1", at)
    return [b == 1 for b in raw]


def read_packed(r: Reader, count: int) -> list[int]:
    at = r.pos
    low = unzigzag(r.varint())
    span = r.varint() + 1
    if span > MAX_SPAN:
        raise r.fail("a packed column's span is over 2**64", at)
    outside: dict[int, int] = {}
    last = 0
    for _ in range(r.varint(count)):
        at = r.pos
        last += r.varint()
        if last >= count or (outside and last in outside):
            raise r.fail(f"a value set apart names position {shown(last)} of {count}", at)
        outside[last] = unzigzag(r.varint())
    out: list[int] = []
    for i in range(0, count, GROUP):
        g = min(GROUP, count - i)
        at = r.pos
        n = int.from_bytes(r.take(group_bytes(span, g)), "little")
        if n >= span**g:
            raise r.fail("a packed group holds a value outside its span", at)
        for _ in range(g):
            n, v = divmod(n, span)
            out.append(low + v)
    for i, v in outside.items():
        out[i] = v
    return out


def read_numbers(r: Reader, count: int, optional: bool) -> list:
    at = r.pos
    head = r.byte()
    if head & ~15:
        raise r.fail(f"unknown number-column mode {head}", at)
    mode, delta, signed, tight = head & 1, bool(head & 2), bool(head & 4), bool(head & 8)
    prefixes = [r.text() for _ in range(r.varint(count))] if mode == PREFIX_DICT else []
    tags = []
    for _ in range(count):
        at = r.pos
        tag = r.varint()
        if tag == NULL and not optional:
            raise r.fail("null where a value is required", at)
        if tag > NUMBER and mode == PREFIX_INLINE or mode == PREFIX_DICT and tag - NUMBER >= len(prefixes):
            raise r.fail(
                f"prefix index {shown(tag - NUMBER)} is out of range (the page's dictionary has "
                f"{len(prefixes)} entries)",
                at,
            )
        tags.append(tag)
    numbered = sum(1 for t in tags if t >= NUMBER)
    inline = []
    if mode == PREFIX_INLINE:
        lengths = [r.varint(MAX_INLINE) for _ in range(numbered)]
        alphabet = r.text()
        at = r.pos
        letters = read_packed(r, sum(lengths))
        if letters and not 0 <= min(letters) <= max(letters) < len(alphabet):
            raise r.fail(f"a letter index is outside the page's alphabet of {len(alphabet)}", at)
        text = "".join(alphabet[i] for i in letters)
        pos = 0
        for n in lengths:
            inline.append(text[pos : pos + n])
            pos += n
    widths = []
    for _ in range(numbered):
        at = r.pos
        w = r.varint()
        if not 1 <= w <= MAX_WIDTH:
            raise r.fail(f"a number's digit count {shown(w)} is outside 1..{MAX_WIDTH}", at)
        widths.append(w)
    numbers = []
    prev = 0
    at = r.pos
    values = read_packed(r, numbered) if tight else None
    for k, w in enumerate(widths):
        if values is None:
            at = r.pos
            n = unzigzag(r.varint()) if signed else r.varint()
        else:
            n = values[k]
        n = prev + n if delta else n
        if not 0 <= n < 10**w:
            raise r.fail(f"the number {shown(n)} does not fit in {w} digits", at)
        numbers.append(n)
        prev = n
    out = []
    k = 0
    for tag in tags:
        if tag == NULL:
            out.append(None)
        elif tag == RAW:
            out.append(r.text())
        else:
            p = inline[k] if mode == PREFIX_INLINE else prefixes[tag - NUMBER]
            out.append(f"{p}{numbers[k]:0{widths[k]}d}")
            k += 1
    return out


def read_times(r: Reader, count: int) -> list[str]:
    base = r.text()
    parsed = split_time(base)
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
            prev = prev + timedelta(seconds=unzigzag(step - 1))
        except OverflowError:
            raise r.fail("a time lies outside the calendar", at) from None
        out.append(prev.strftime("%Y-%m-%dT%H:%M:%S") + zone)
    return out
