"""Record pages, layout 2: binary, column by column, then compressed (docs/protocol.md §8,
"Layout 2"). Layout 1 (JSON columns) lives in records.py; the client and the ATM pick the
highest layout both know (``recordLayouts`` in Common.Capabilities).

A page is its kind and record count, then each column whole before the next (columns.py:
times as seconds from the previous one, the first from the cycle's opening; TSNs, host
references and serials as a prefix plus a number sent as the difference from the previous
one, serials packed tight; amounts as integer minor units over the column's common factor,
cash as "nothing / the amount / other"; repeated strings through a per-page dictionary; a
note's TSN, unit and event once per run), compressed with whichever of DEFLATE and LZMA2
makes it shortest. Decoding checks every length, varint and index and names the page and
the offset.
"""

from __future__ import annotations

import lzma
import zlib

from custodian_app.domain.formats import AtmTransaction, NoteRecord
from custodian_app.domain.money import format_amount
from custodian_app.link import columns as cl
from custodian_app.link.errors import ProtocolError

LAYOUT = 2
KIND_TRANSACTIONS = 1
KIND_NOTES = 2
CODEC_NONE, CODEC_DEFLATE, CODEC_LZMA2 = 0, 1, 2
LZMA_DICT = 1 << 20  # the raw LZMA2 stream's dictionary size (the decoder must know it)
LZMA_FILTERS = [{"id": lzma.FILTER_LZMA2, "preset": 9 | lzma.PRESET_EXTREME, "dict_size": LZMA_DICT}]
MAX_BODY = 16 * 1024 * 1024  # a page that inflates beyond this is refused (as a message would be)
MAX_COUNT = 100_000  # records in one page (the ATM sends at most 5000)

CODECS = (CODEC_NONE, CODEC_DEFLATE, CODEC_LZMA2)


def _pack(kind: int, count: int, body: bytearray, codecs: tuple[int, ...]) -> bytes:
    """Header and body, compressed by whichever of ``codecs`` makes it shortest."""
    head = bytearray([kind])
    cl.varint(head, count)
    plain = bytes(head + body)
    candidates = []
    for codec in codecs:
        if codec == CODEC_NONE:
            candidates.append((codec, plain))
        elif codec == CODEC_DEFLATE:
            deflate = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
            candidates.append((codec, deflate.compress(plain) + deflate.flush()))
        elif codec == CODEC_LZMA2:
            candidates.append((codec, lzma.compress(plain, format=lzma.FORMAT_RAW, filters=LZMA_FILTERS)))
    codec, data = min(candidates, key=lambda c: len(c[1]))
    return bytes([LAYOUT, codec]) + data


def encode_transactions(txs: list[AtmTransaction], opened_at: str, codecs: tuple[int, ...] = CODECS) -> bytes:
    body = bytearray()
    cl.numbers(body, [t.tsn for t in txs], delta=True)
    cl.times(body, [t.time for t in txs], opened_at)
    cl.strings(body, [t.type for t in txs])
    cl.numbers(body, [t.card for t in txs], delta=False)
    cl.amounts(body, [t.amount for t in txs], optional=False)
    cl.strings(body, [t.host_code for t in txs])
    cl.numbers(body, [t.host_ref for t in txs], delta=True)
    cl.flags(body, [t.reversed for t in txs])
    cl.amounts(body, [t.reversed_amount for t in txs], optional=True)
    amounts = [t.amount for t in txs]
    for name in ("taken", "retracted", "deposited", "returned", "unknown"):
        cl.cash(body, [getattr(t, name) for t in txs], amounts)
    return _pack(KIND_TRANSACTIONS, len(txs), body, codecs)


def encode_notes(notes: list[NoteRecord], codecs: tuple[int, ...] = CODECS) -> bytes:
    body = bytearray()
    cl.numbers(body, [n.serial for n in notes], delta=True)
    cl.amounts(body, [n.value for n in notes], optional=False)
    # a transaction's notes come together, from one unit, with one event: sent once a run
    runs: list[list] = []
    for n in notes:
        key = (n.tsn, n.unit, n.event)
        if runs and runs[-1][0] == key:
            runs[-1][1] += 1
        else:
            runs.append([key, 1])
    cl.varint(body, len(runs))
    for _, length in runs:
        cl.varint(body, length)
    cl.numbers(body, [key[0] for key, _ in runs], delta=True)
    cl.strings(body, [key[1] for key, _ in runs])
    cl.strings(body, [key[2] for key, _ in runs])
    return _pack(KIND_NOTES, len(notes), body, codecs)


def _unpack(blob: bytes, page: str, kind: int) -> tuple[cl.Reader, int]:
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
                raise ProtocolError(
                    f"{page}: the compressed page is cut short or inflates beyond {MAX_BODY} bytes"
                )
        elif codec == CODEC_LZMA2:
            d = lzma.LZMADecompressor(
                lzma.FORMAT_RAW, filters=[{"id": lzma.FILTER_LZMA2, "dict_size": LZMA_DICT}]
            )
            body = d.decompress(data, MAX_BODY)
            if not d.eof:
                raise ProtocolError(
                    f"{page}: the compressed page is cut short or inflates beyond {MAX_BODY} bytes"
                )
        else:
            raise ProtocolError(f"{page}: unknown compression {codec} (byte 1 of the page)")
    except (zlib.error, lzma.LZMAError) as exc:
        raise ProtocolError(f"{page}: the compressed page is damaged ({exc})") from exc
    r = cl.Reader(body, page)
    at = r.pos
    if r.byte() != kind:
        raise r.fail("the page holds another kind of record", at)
    count = r.varint(MAX_COUNT)
    return r, count


def _finish(r: cl.Reader) -> None:
    if r.pos != len(r.data):
        r.column = "end"
        raise r.fail(f"{len(r.data) - r.pos} bytes left over after the last column")


def decode_transactions(blob: bytes, page: str) -> list[dict]:
    """A layout-2 page -> transactions in the shape of atm-ledger/1."""
    r, n = _unpack(blob, page, KIND_TRANSACTIONS)
    cols: dict[str, list] = {}
    for name, read in (
        ("tsn", lambda: cl.read_numbers(r, n, False)),
        ("time", lambda: cl.read_times(r, n)),
        ("type", lambda: cl.read_strings(r, n, False)),
        ("card", lambda: cl.read_numbers(r, n, False)),
        ("amount", lambda: cl.read_amounts(r, n, False)),
        ("hostCode", lambda: cl.read_strings(r, n, False)),
        ("hostRef", lambda: cl.read_numbers(r, n, True)),
        ("reversed", lambda: cl.read_flags(r, n)),
        ("reversedAmount", lambda: cl.read_amounts(r, n, True)),
        ("taken", lambda: cl.read_cash(r, cols["amount"])),
        ("retracted", lambda: cl.read_cash(r, cols["amount"])),
        ("deposited", lambda: cl.read_cash(r, cols["amount"])),
        ("returned", lambda: cl.read_cash(r, cols["amount"])),
        ("unknown", lambda: cl.read_cash(r, cols["amount"])),
    ):
        r.column = name
        cols[name] = read()
    _finish(r)
    c = cols
    out = []
    for i in range(n):  # the shape of atm-ledger/1, validated later with the whole ledger
        tx = {
            "tsn": c["tsn"][i],
            "time": c["time"][i],
            "type": c["type"][i],
            "card": c["card"][i],
            "amount": format_amount(c["amount"][i]),
            "host_code": c["hostCode"][i],
            "host_ref": c["hostRef"][i],
            "reversed": c["reversed"][i],
            "cash": {k: format_amount(c[k][i]) for k in ("taken", "retracted", "deposited", "returned")},
        }
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
    serial = cl.read_numbers(r, n, False)
    r.column = "value"
    value = cl.read_amounts(r, n, False)
    r.column = "runs"
    at = r.pos
    runs = r.varint(n)
    lengths = []
    for _ in range(runs):
        here = r.pos
        length = r.varint(n)
        if length < 1:
            raise r.fail("a run of no records", here)
        lengths.append(length)
    if sum(lengths) != n:
        raise r.fail(f"the runs hold {sum(lengths)} records, the page {n}", at)
    r.column = "tsn"
    tsn = cl.read_numbers(r, runs, True)
    r.column = "unit"
    unit = cl.read_strings(r, runs, False)
    r.column = "event"
    event = cl.read_strings(r, runs, False)
    _finish(r)
    out = []
    i = 0
    for k, length in enumerate(lengths):
        for _ in range(length):
            out.append(
                {
                    "serial": serial[i],
                    "value": format_amount(value[i]),
                    "tsn": tsn[k],
                    "unit": unit[k],
                    "event": event[k],
                }
            )
            i += 1
    return out
