"""FSN banknote serial files (冠字号码记录文件): reader and writer.

The layout (little-endian, packed, text as UTF-16LE code units; sources in docs/journals.md):

- classic header, 32 bytes: ``HeadStart[4]`` = 20, 10, 7, 26; ``HeadString[6]`` = 0, 1,
  0x2E (records carry the serial's image) or 0x2D (they do not), 'S', 'N', 'o';
  ``Counter`` u32 (number of records); ``HeadEnd[4]`` = 0, 1, 2, 3.
- 2018 header, 350 bytes: ``HeadStart``, ``HeadString``, ``HeadDataTypeFlag`` u16, ``Counter``
  u32, ``FinanIns[6]``, ``Enabletime`` u32, ``MachineSNo[24]``, ``MachineType[15]``,
  ``MachineModel[24]``, ``HardVerNo[24]``, ``AuthSoftVerNo[24]``, ``Applidenom[6]``,
  ``FinanInst[14]``, ``FinanInstOutlet[14]``, ``Operator[4]``, ``Reserve1`` u16, ``HeadEnd[4]``.
- classic record, 100 bytes (+1,544 with the image): ``Date``, ``Time``, ``tfFlag``,
  ``ErrorCode[3]``, ``MoneyFlag[4]``, ``Ver``, ``Valuta`` u16, ``CharNUM``, ``SNo[12]``,
  ``MachineSNo[24]``, ``Reserve1``; then ``ImageSNo`` (``Num``, ``height``, ``width``,
  ``Reserve3``, 12 × 32 u32).
- 2018 record, 88 bytes (+1,544): as classic up to ``Ver``, ``Valuta`` u64, ``CharNUM``,
  ``SNo[12]``, ``Reserve2[16]``; then the image.

``Date`` is packed as ((year − 1980) << 9) | (month << 5) | day and ``Time`` as
(hour << 11) | (minute << 5) | (second / 2): a note's time is known to two seconds. The image
is skipped on reading and never kept.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from custodian_app.journal.errors import JournalError

HEAD_START = (20, 10, 7, 26)
HEAD_END = (0, 1, 2, 3)
WITH_IMAGE, WITHOUT_IMAGE = 0x2E, 0x2D
IMAGE_SIZE = 8 + 12 * 32 * 4
CLASSIC_HEADER = 32
HEADER_2018 = 350
_H18 = struct.Struct("<4H6HHI6HI24H15H24H24H24H6H14H14H4HH4H")
_HC = struct.Struct("<4H6HI4H")
assert _H18.size == HEADER_2018 and _HC.size == CLASSIC_HEADER
# Reading: only the fields kept; the rest is skipped as padding.
_REC_C = "<HHH3H8sHHH24s48s2x"
_REC_18 = "<HHH3H8sHQH24s32x"
GENUINE, COUNTERFEIT, DAMAGED, WORN = 1, 0, 2, 3
_SERIAL = re.compile(r"[A-Z0-9?]{6,12}\Z")
_ZEROS = bytes(12)
_EPOCH_ORD = 719163  # date(1970, 1, 1).toordinal()


@dataclass
class FsnHeader:
    variant: str  # "classic" or "2018"
    with_image: bool
    count: int
    data_type: int = 0
    institution: str = ""  # FinanIns
    enabled_at: int = 0
    machine_sno: str = ""
    machine_type: str = ""
    machine_model: str = ""
    hardware_version: str = ""
    software_version: str = ""
    denominations: str = ""
    bank: str = ""  # FinanInst, the reporting bank
    outlet: str = ""  # FinanInstOutlet
    operator: str = ""


@dataclass(slots=True)
class FsnNote:
    time: int  # local seconds since 1970 (even: the format keeps two-second steps)
    tf: int  # 0 counterfeit, 1 genuine, 2 damaged, 3 worn
    value: int  # minor units
    serial: str
    currency: str = "CNY"
    version: int = 0
    errors: tuple[int, int, int] = (0, 0, 0)
    offset: int = 0  # where the record starts in its file


@dataclass
class FsnFile:
    name: str
    header: FsnHeader
    notes: list[FsnNote] = field(default_factory=list)


def _text(units) -> str:
    return "".join(chr(u) for u in units if u).strip()


def _units(text: str, n: int) -> list[int]:
    raw = list(text.encode("utf-16-le"))
    codes = [raw[i] | raw[i + 1] << 8 for i in range(0, len(raw), 2)]
    if len(codes) > n:
        raise ValueError(f"{text!r} is longer than {n} UTF-16 code units")
    return codes + [0] * (n - len(codes))


def pack_date_time(seconds: int) -> tuple[int, int]:
    days, rest = divmod(seconds, 86400)
    from datetime import date

    d = date.fromordinal(days + _EPOCH_ORD)
    if not 1980 <= d.year <= 2107:
        raise ValueError(f"FSN dates run from 1980 to 2107, not {d.year}")
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return ((d.year - 1980) << 9) | (d.month << 5) | d.day, (h << 11) | (m << 5) | (s // 2)


class _Dates:
    def __init__(self) -> None:
        self.cache: dict[tuple[int, int], int] = {}

    def __call__(self, d: int, t: int, where: str) -> int:
        key = (d, t)
        v = self.cache.get(key)
        if v is None:
            from datetime import date

            year, month, day = (d >> 9) + 1980, (d >> 5) & 15, d & 31
            h, mi, s = t >> 11, (t >> 5) & 63, (t & 31) * 2
            try:
                ordinal = date(year, month, day).toordinal()
            except ValueError:
                raise JournalError(
                    where, f"record date {d:#06x} is no calendar date ({year}-{month:02d}-{day:02d})"
                ) from None
            if h > 23 or mi > 59 or s > 59:
                raise JournalError(where, f"record time {t:#06x} is no time of day ({h}:{mi:02d}:{s:02d})")
            v = self.cache[key] = (ordinal - _EPOCH_ORD) * 86400 + h * 3600 + mi * 60 + s
        return v


def read_header(data: bytes, name: str) -> tuple[FsnHeader, int]:
    """The header and its size; a file that is not FSN says which of its bytes is wrong."""
    if len(data) < CLASSIC_HEADER:
        raise JournalError(f"{name}@0", f"{len(data)} bytes: too short for an FSN header (32 bytes at least)")
    start = struct.unpack_from("<4H", data, 0)
    if start != HEAD_START:
        raise JournalError(
            f"{name}@0", f"not an FSN file: HeadStart is {list(start)}, expected {list(HEAD_START)}"
        )
    hs = struct.unpack_from("<6H", data, 8)
    if hs[0] != 0 or hs[1] != 1 or tuple(hs[3:]) != (ord("S"), ord("N"), ord("o")):
        raise JournalError(
            f"{name}@8",
            f"not an FSN file: HeadString is {list(hs)}, expected 0, 1, 0x2E or 0x2D, 'S', 'N', 'o'",
        )
    if hs[2] not in (WITH_IMAGE, WITHOUT_IMAGE):
        raise JournalError(
            f"{name}@12", f"HeadString[2] is {hs[2]:#x}; expected 0x2E (with images) or 0x2D (without)"
        )
    with_image = hs[2] == WITH_IMAGE
    if struct.unpack_from("<4H", data, 24) == HEAD_END:
        count = struct.unpack_from("<I", data, 20)[0]
        return FsnHeader("classic", with_image, count), CLASSIC_HEADER
    if len(data) >= HEADER_2018 and struct.unpack_from("<4H", data, HEADER_2018 - 8) == HEAD_END:
        f = _H18.unpack_from(data, 0)
        i = 10
        data_type, count = f[i], f[i + 1]
        i += 2
        inst = _text(f[i : i + 6])
        i += 6
        enabled = f[i]
        i += 1
        parts = []
        for n in (24, 15, 24, 24, 24, 6, 14, 14, 4):
            parts.append(_text(f[i : i + n]))
            i += n
        return FsnHeader("2018", with_image, count, data_type, inst, enabled, *parts), HEADER_2018
    raise JournalError(
        f"{name}@24",
        "no HeadEnd (0, 1, 2, 3) where the classic (byte 24) or the 2018 header (byte 342) puts it",
    )


def read_fsn(data: bytes, name: str) -> FsnFile:
    """An FSN file's header and notes. Every fault names the file and the byte offset."""
    header, pos = read_header(data, name)
    fmt = _REC_C if header.variant == "classic" else _REC_18
    size = struct.calcsize(fmt) + (IMAGE_SIZE if header.with_image else 0)
    if header.with_image:
        fmt += f"{IMAGE_SIZE}x"
    body = len(data) - pos
    if body != header.count * size:
        raise JournalError(
            f"{name}@{pos}",
            f"the header says {header.count} records of {size} bytes "
            f"({header.count * size} bytes); the file holds {body} bytes after the header",
        )
    dates = _Dates()
    notes = []
    append = notes.append
    decode_cache: dict[bytes, str] = {}
    offset = pos
    classic = header.variant == "classic"
    for rec in struct.iter_unpack(fmt, memoryview(data)[pos:]):
        d, t, tf, e1, e2, e3, money, ver, valuta, charnum, sno = rec[:11]
        if tf > 3:
            raise JournalError(
                f"{name}@{offset + 4}",
                f"tfFlag is {tf}; expected 0 (counterfeit), 1 (genuine), 2 (damaged) or 3 (worn)",
            )
        if not 0 < charnum <= 12:
            raise JournalError(
                f"{name}@{offset + (24 if classic else 30)}",
                f"CharNUM is {charnum}; a serial has 1 to 12 characters",
            )
        if sno[1 : charnum * 2 : 2] == _ZEROS[:charnum]:  # plain ASCII, as serials are
            serial = sno[0 : charnum * 2 : 2].decode("latin-1")
        else:
            serial = sno[: charnum * 2].decode("utf-16-le", "replace")
        if _SERIAL.match(serial) is None:
            raise JournalError(
                f"{name}@{offset + (26 if classic else 32)}",
                f"serial {serial!r} is not 6 to 12 of A-Z, 0-9 and ?",
            )
        cur = decode_cache.get(money)
        if cur is None:
            cur = decode_cache[money] = money.decode("utf-16-le", "replace").rstrip("\0")
        append(
            FsnNote(dates(d, t, f"{name}@{offset}"), tf, valuta * 100, serial, cur, ver, (e1, e2, e3), offset)
        )
        offset += size
    return FsnFile(name, header, notes)


def write_fsn(
    notes: list[FsnNote],
    *,
    variant: str = "classic",
    with_image: bool = False,
    header: FsnHeader | None = None,
) -> bytes:
    """The bytes of an FSN file holding ``notes`` (for tests, the generator and benchmarks).
    The serial image, when asked for, is blank: the product never has one to write."""
    if variant not in ("classic", "2018"):
        raise ValueError(f"variant must be classic or 2018, not {variant!r}")
    h = header or FsnHeader(variant, with_image, len(notes))
    flag = WITH_IMAGE if with_image else WITHOUT_IMAGE
    head_string = (0, 1, flag, ord("S"), ord("N"), ord("o"))
    if variant == "classic":
        out = [_HC.pack(*HEAD_START, *head_string, len(notes), *HEAD_END)]
    else:
        fields = [*HEAD_START, *head_string, h.data_type, len(notes), *_units(h.institution, 6), h.enabled_at]
        for text, n in (
            (h.machine_sno, 24),
            (h.machine_type, 15),
            (h.machine_model, 24),
            (h.hardware_version, 24),
            (h.software_version, 24),
            (h.denominations, 6),
            (h.bank, 14),
            (h.outlet, 14),
            (h.operator, 4),
        ):
            fields += _units(text, n)
        out = [_H18.pack(*fields, 0, *HEAD_END)]
    image = bytes(IMAGE_SIZE) if with_image else b""
    machine = struct.pack("<24H", *_units(h.machine_sno, 24))
    money_cache: dict[str, bytes] = {}
    for n in notes:
        if n.value % 100:
            raise ValueError(f"FSN keeps whole denominations; {n.value} minor units is not one")
        d, t = pack_date_time(n.time)
        money = money_cache.get(n.currency)
        if money is None:
            money = money_cache[n.currency] = struct.pack("<4H", *_units(n.currency, 4))
        sno = struct.pack("<12H", *_units(n.serial, 12))
        if variant == "classic":
            out.append(
                struct.pack("<HHH3H", d, t, n.tf, *n.errors)
                + money
                + struct.pack("<HHH", n.version, n.value // 100, len(n.serial))
                + sno
                + machine
                + b"\0\0"
                + image
            )
        else:
            out.append(
                struct.pack("<HHH3H", d, t, n.tf, *n.errors)
                + money
                + struct.pack("<HQH", n.version, n.value // 100, len(n.serial))
                + sno
                + bytes(32)
                + image
            )
    return b"".join(out)
