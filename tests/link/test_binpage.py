"""Record pages of layout 2 (binary columns): every value travels exactly, malformed pages are
refused with the page and the offset named, never a crash or a wrong ledger."""

from __future__ import annotations

import lzma
import re
import zlib

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodian_app.domain.formats import (
    AtmTransaction,
    NoteRecord,
    atm_ledger_to_dict,
    dumps,
    parse_atm_ledger,
)
from custodian_app.domain.generator import generate
from custodian_app.domain.money import format_amount
from custodian_app.link import binpage, columns, records
from custodian_app.link.errors import ProtocolError

TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
NUMBERED = st.from_regex(r"[A-Z*]{0,12}[0-9]{1,22}", fullmatch=True)  # 22 digits: over the limit too
IDENT = st.one_of(NUMBERED, TEXT)
TIMES = st.one_of(
    st.from_regex(
        r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
        r"(\+08:00|Z|-05:30|\.[0-9]{1,6}\+08:00)",
        fullmatch=True,
    ),
    st.from_regex(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+08:00", fullmatch=True
    ),  # 2026-13-45…
    TEXT,
)
MONEY = st.integers(0, 10**15)
OPENED = st.sampled_from(
    ["2026-11-20T08:00:00+08:00", "2026-11-20T00:00:00Z", "not a time", "2026-02-30T00:00:00+08:00"]
)

transactions = st.builds(
    AtmTransaction,
    tsn=IDENT,
    time=TIMES,
    type=st.sampled_from(["withdrawal", "deposit", "inquiry"]) | TEXT,
    card=st.one_of(st.from_regex(r"62[0-9]{4}\*{6}[0-9]{4}", fullmatch=True), TEXT),
    amount=MONEY,
    host_code=st.sampled_from(["00", "51", "68"]) | TEXT,
    host_ref=st.none() | IDENT,
    reversed=st.booleans(),
    reversed_amount=st.none() | MONEY,
    taken=MONEY,
    retracted=MONEY,
    deposited=MONEY,
    returned=MONEY,
    unknown=st.sampled_from([0, 0, 100]) | MONEY,
)
notes = st.builds(
    NoteRecord,
    serial=st.one_of(NUMBERED, st.from_regex(r"[A-Z]{2}[0-9?]{8}", fullmatch=True), TEXT),
    value=st.sampled_from([10000, 5000, 100]) | MONEY,
    tsn=st.none() | IDENT,
    unit=st.sampled_from(["CST1", "CIN1"]) | TEXT,
    event=st.sampled_from(["taken", "deposited"]) | TEXT,
)


def tx_dict(t: AtmTransaction) -> dict:
    """What the client must rebuild from a page: the transaction in the shape of atm-ledger/1."""
    d = {
        "tsn": t.tsn,
        "time": t.time,
        "type": t.type,
        "card": t.card,
        "amount": format_amount(t.amount),
        "host_code": t.host_code,
        "host_ref": t.host_ref,
        "reversed": t.reversed,
        "cash": {k: format_amount(getattr(t, k)) for k in ("taken", "retracted", "deposited", "returned")},
    }
    if t.reversed_amount is not None:
        d["reversed_amount"] = format_amount(t.reversed_amount)
    if t.unknown:
        d["cash"]["unknown"] = format_amount(t.unknown)
    return d


def note_dict(n: NoteRecord) -> dict:
    return {
        "serial": n.serial,
        "value": format_amount(n.value),
        "tsn": n.tsn,
        "unit": n.unit,
        "event": n.event,
    }


def travel(kind: str, items: list, layout: int, opened_at: str = "2026-11-20T08:00:00+08:00") -> list[dict]:
    """Encode a page as the ATM does, carry it as a message would, decode it as the client does."""
    payload, blob = records.encode_page(kind, items, layout, opened_at)
    payload = orjson.loads(orjson.dumps(payload))
    return records.decode_page(kind, payload, blob, "the test page")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(transactions, max_size=40), OPENED)
def test_any_transactions_travel_exactly(txs, opened_at) -> None:
    assert travel("transactions", txs, 2, opened_at) == [tx_dict(t) for t in txs]


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(notes, max_size=60))
def test_any_notes_travel_exactly(ns) -> None:
    assert travel("notes", ns, 2) == [note_dict(n) for n in ns]


@pytest.mark.parametrize("layout", [1, 2])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_generated_cycle_with_every_fault_reads_back_byte_for_byte(seed, layout) -> None:
    """Rules revision 2 included (partial reversals, cash of unknown fate, retained cards):
    the ledger rebuilt from pages, through formats, is the ledger served, byte for byte."""
    ledger = generate(seed, 300, "all").atm
    assert any(t.reversed_amount is not None for t in ledger.transactions)
    assert any(t.unknown for t in ledger.transactions)
    assert ledger.retained_cards
    txs, ns = [], []
    for i in range(0, len(ledger.transactions), 70):
        txs += travel("transactions", ledger.transactions[i : i + 70], layout, ledger.opened_at)
    for i in range(0, len(ledger.notes), 500):
        ns += travel("notes", ledger.notes[i : i + 500], layout, ledger.opened_at)
    header = records.decode_totals(orjson.loads(orjson.dumps(records.encode_totals(ledger))))
    doc = dict(
        header,
        units=records.decode_units(orjson.loads(orjson.dumps(records.encode_units(ledger.units)))),
        transactions=txs,
        notes=ns,
    )
    got = parse_atm_ledger(doc, "the ledger read")
    assert dumps(atm_ledger_to_dict(got)) == dumps(atm_ledger_to_dict(ledger))


def read_back(ledger, layout: int, tx_page: int, note_page: int) -> bytes:
    """The ledger as the client rebuilds it from pages of ``layout``, through the formats."""
    txs, ns = [], []
    for i in range(0, len(ledger.transactions), tx_page):
        txs += travel("transactions", ledger.transactions[i : i + tx_page], layout, ledger.opened_at)
    for i in range(0, len(ledger.notes or ()), note_page):
        ns += travel("notes", ledger.notes[i : i + note_page], layout, ledger.opened_at)
    header = records.decode_totals(orjson.loads(orjson.dumps(records.encode_totals(ledger))))
    units = records.decode_units(orjson.loads(orjson.dumps(records.encode_units(ledger.units))))
    doc = dict(header, units=units, transactions=txs)
    if ledger.notes is not None:
        doc["notes"] = ns
    return dumps(atm_ledger_to_dict(parse_atm_ledger(doc, "the ledger read")))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10**6),
    st.integers(40, 90),  # the "all" mix needs some transactions of its own
    st.sampled_from(["all", "realistic", "none", "RETRACTED=3,PARTIAL_REVERSAL=2,UNKNOWN_OUTCOME=2"]),
    st.integers(1, 700),
    st.booleans(),
)
def test_generated_ledgers_of_any_shape_read_back_byte_for_byte(seed, n, faults, page, notes) -> None:
    ledger = generate(seed, n, faults if notes else "none", notes=notes).atm  # faults need the trail
    served = dumps(atm_ledger_to_dict(ledger))
    assert read_back(ledger, 2, page, page) == served


def test_layout_2_is_much_smaller_than_layout_1() -> None:
    ledger = generate(1, 500).atm
    one = len(zlib.compress(orjson.dumps(records.encode_transactions(ledger.transactions)), 9))
    two = len(binpage.encode_transactions(ledger.transactions, ledger.opened_at))
    assert two < one / 2
    one = len(zlib.compress(orjson.dumps(records.encode_notes(ledger.notes[:500])), 9))
    two = len(binpage.encode_notes(ledger.notes[:500]))
    assert two < one


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 9000), st.integers(-(2**63), 2**63 - 1)), max_size=300))
def test_packed_numbers_travel_exactly(values) -> None:
    out = bytearray()
    columns.packed(out, values)
    r = columns.Reader(bytes(out), "page 7")
    assert columns.read_packed(r, len(values)) == values
    assert r.pos == len(out)


def test_serials_in_sequence_pack_to_under_three_bytes_each() -> None:
    ns = generate(1, 500).atm.notes[:500]
    body = bytearray()
    columns.numbers(body, [n.serial for n in ns], delta=True)
    assert body[0] & 8  # packed, not varints
    # two random letters (9.2 bits) and a difference of up to 9,000 (13.1 bits): 2.8 bytes at best
    assert len(lzma.compress(bytes(body), format=lzma.FORMAT_RAW, filters=binpage.LZMA_FILTERS)) < 3.3 * len(
        ns
    )


def test_a_packed_group_beyond_its_span_is_refused() -> None:
    out = bytearray()
    columns.packed(out, [0, 2, 1])  # low 0, span 3, no values apart, one group of one byte
    assert out[:3] == b"\x00\x02\x00" and len(out) == 4
    out[3] = 27  # 3**3 = 27 is one past the largest group
    with pytest.raises(
        ProtocolError, match="offset 3 of the page: a packed group holds a value outside its span"
    ):
        columns.read_packed(columns.Reader(bytes(out), "page 7"), 3)
    bad = bytes([0, 2, 1, 5, 0])  # one value set apart, at position 5 of 3
    with pytest.raises(ProtocolError, match="offset 3 of the page: a value set apart names position 5 of 3"):
        columns.read_packed(columns.Reader(bad, "page 7"), 3)


# --------------------------------------------------------------------- malformed pages


def plain_page(kind: str = "notes") -> bytes:
    ledger = generate(4, 30, "all").atm
    if kind == "notes":
        return binpage.encode_notes(ledger.notes[:80], codecs=(binpage.CODEC_NONE,))
    return binpage.encode_transactions(ledger.transactions, ledger.opened_at, codecs=(binpage.CODEC_NONE,))


def decode(kind: str, blob: bytes, count: int | None = None) -> list[dict]:
    """Decode as the client does; ``count`` None: the count the page's own header gives (a page
    without compression), so that only the body is at fault."""
    payload = {"count": _count(blob) if count is None else count, "layout": 2}
    return records.decode_page(kind, payload, blob, "page 7")


def _count(blob: bytes) -> int:
    return columns.Reader(blob[3:], "").varint()


OFFSET = re.compile(r"page 7, column '[A-Za-z]+', offset \d+ of the page: ")


@pytest.mark.parametrize("kind", ["notes", "transactions"])
def test_every_truncation_is_refused_naming_page_and_offset(kind) -> None:
    blob = plain_page(kind)
    decode(kind, blob)  # whole, it reads
    for cut in range(4, len(blob)):
        with pytest.raises(ProtocolError) as err:
            decode(kind, blob[:cut], _count(blob))
        assert str(err.value).startswith("page 7"), str(err.value)
    for cut in range(0, 2):
        with pytest.raises(ProtocolError, match="page 7: the page is"):
            decode(kind, blob[:cut], 1)


def test_a_string_longer_than_the_page_is_refused() -> None:
    body = bytearray([binpage.KIND_NOTES, 1])  # one note
    body += bytes([columns.PREFIX_INLINE, columns.NUMBER])  # serial: inline prefix, numbered
    body += bytes([2, 100]) + b"AB"  # a two-letter prefix; the page's alphabet claims 100 bytes
    with pytest.raises(ProtocolError) as err:
        decode("notes", bytes([2, 0]) + body, 1)
    assert OFFSET.match(str(err.value)) and "column 'serial'" in str(err.value)
    assert "offset 5 of the page: a length of 100 bytes runs past the end" in str(err.value)


def test_a_varint_running_over_ten_bytes_is_refused() -> None:
    blob = bytes([2, 0, binpage.KIND_NOTES]) + b"\xff" * 12
    with pytest.raises(ProtocolError, match=r"page 7, column 'header', offset 1 of the page: .*bad varint"):
        decode("notes", blob, 1)


def test_a_dictionary_index_out_of_range_is_refused() -> None:
    ns = [NoteRecord("AB00000001", 10000, None, "CST1", "taken")] * 3
    blob = bytearray(binpage.encode_notes(ns, codecs=(binpage.CODEC_NONE,)))
    # the unit column (one run of three notes): one entry "CST1", then the run's index 1; make it 9
    at = blob.rindex(b"CST1") + 4
    assert blob[at] == 1
    blob[at] = 9
    with pytest.raises(ProtocolError) as err:
        decode("notes", bytes(blob), 3)
    msg = str(err.value)
    assert OFFSET.match(msg) and "column 'unit'" in msg and f"offset {at - 2} " in msg
    assert "dictionary index 9 is out of range" in msg


def test_runs_that_do_not_add_up_are_refused() -> None:
    ns = [
        NoteRecord("AB00000001", 10000, "000001", "CST1", "taken"),
        NoteRecord("AB00000002", 10000, "000002", "CST1", "taken"),
    ]
    blob = bytearray(binpage.encode_notes(ns, codecs=(binpage.CODEC_NONE,)))
    body = blob[2:]
    runs_at = body.index(bytes([2, 1, 1]), 10)  # two runs of one note each, after serial and value
    body[runs_at + 2] = 2  # the second run now claims two notes
    with pytest.raises(
        ProtocolError,
        match=r"column 'runs', offset \d+ of the page: a number is too large|"
        r"the runs hold 3 records, the page 2",
    ):
        decode("notes", bytes(blob[:2] + body), 2)
    body[runs_at + 2] = 0
    with pytest.raises(
        ProtocolError, match=f"column 'runs', offset {runs_at + 2} of the page: a run of no records"
    ):
        decode("notes", bytes(blob[:2] + body), 2)


def test_trailing_bytes_a_wrong_count_and_wrong_headers_are_refused() -> None:
    blob = plain_page("notes")
    with pytest.raises(ProtocolError, match="1 bytes left over"):
        decode("notes", blob + b"\x00", _count(blob))
    with pytest.raises(ProtocolError, match="the page says it holds 3 records, its columns hold 80"):
        decode("notes", blob, 3)
    with pytest.raises(ProtocolError, match="another kind of record"):
        decode("transactions", blob, 80)
    with pytest.raises(ProtocolError, match="unknown compression 7"):
        decode("notes", blob[:1] + b"\x07" + blob[2:], 80)
    with pytest.raises(ProtocolError, match="record layout 1 where layout 2"):
        decode("notes", b"\x01" + blob[1:], 80)
    deflated = binpage.encode_notes(generate(4, 30).atm.notes[:80], codecs=(binpage.CODEC_DEFLATE,))
    with pytest.raises(ProtocolError, match="cut short"):
        decode("notes", deflated[:-5], 80)
    for codec in (binpage.CODEC_DEFLATE, binpage.CODEC_LZMA2):
        with pytest.raises(ProtocolError, match="damaged|cut short"):
            decode("notes", bytes([2, codec]) + b"\x55" * 40, 80)
    with pytest.raises(ProtocolError, match="without its binary part"):
        records.decode_page("notes", {"count": 0, "layout": 2}, None, "page 7")
    with pytest.raises(ProtocolError, match="layout 9 is not one this application knows"):
        records.decode_page("notes", {"count": 0, "layout": 9}, b"", "page 7")


def test_a_number_wider_than_its_digits_and_null_where_required_are_refused() -> None:
    # one serial: no prefix letters, an empty alphabet, no letters packed, 2 digits, the number 150
    body = bytes([binpage.KIND_NOTES, 1, columns.PREFIX_INLINE, columns.NUMBER, 0, 0, 0, 0, 0, 2, 150, 1])
    with pytest.raises(ProtocolError, match="column 'serial', offset 10 .*150 does not fit in 2 digits"):
        decode("notes", bytes([2, 0]) + body, 1)
    body = bytes([binpage.KIND_NOTES, 1, columns.PREFIX_INLINE, columns.NULL])
    with pytest.raises(ProtocolError, match="column 'serial', offset 3 .*null where a value is required"):
        decode("notes", bytes([2, 0]) + body, 1)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_damaged_pages_are_refused_or_read_never_a_crash(data) -> None:
    kind = data.draw(st.sampled_from(["notes", "transactions"]), label="kind")
    blob = bytearray(plain_page(kind))
    count = _count(bytes(blob))
    for _ in range(data.draw(st.integers(1, 4), label="flips")):
        i = data.draw(st.integers(2, len(blob) - 1), label="at")
        blob[i] = data.draw(st.integers(0, 255), label="byte")
    try:
        got = decode(kind, bytes(blob), count)
    except ProtocolError as exc:
        assert str(exc).startswith("page 7")
    else:
        assert type(got) is list
