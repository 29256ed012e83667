"""Messages and record pages on their own: round trips, and hostile input refused clearly."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custodian_app.domain import formats
from custodian_app.link import messages, records
from custodian_app.link.errors import MessageError, ProtocolError

from .conftest import make_ledger


def test_envelope_round_trip() -> None:
    cmd = messages.command(messages.GET_STORAGE, 7, {"x": 1})
    back = messages.decode(cmd.encode())
    assert back == cmd and back.type == "command"
    done = messages.completion(cmd, messages.COMMAND_ERROR, {"errorCode": "cycleChanged"}, "moved on")
    back = messages.decode(done.encode())
    assert back.completion_code == "commandErrorCode" and back.error_description == "moved on"
    assert not back.ok and messages.decode(messages.completion(cmd).encode()).ok


def test_a_binary_attachment_travels_after_the_json() -> None:
    cmd = messages.command(messages.READ_NOTES, 4)
    blob = b"\x00\x02\xff{}\x00" * 3  # zero bytes inside the attachment are fine
    ev = messages.event(messages.NOTES_PAGE, 4, {"count": 1, "layout": 2, "note": "a\x00b"}, blob)
    raw = ev.encode()
    assert raw.index(b"\x00") == len(raw) - len(blob) - 1  # JSON escapes its own zero bytes
    back = messages.decode(raw)
    assert back.blob == blob and back.payload["note"] == "a\x00b" and back == ev
    done = messages.completion(cmd, payload={"tsn": "1"}, blob=b"")
    assert messages.decode(done.encode()).blob == b""
    assert messages.decode(messages.completion(cmd).encode()).blob is None


def test_a_full_card_number_in_a_layout_2_page_is_never_echoed() -> None:
    from custodian_app.link import binpage, columns

    ledger = make_ledger(transactions=2)
    full = "6222021234567890123"
    txs = [dataclasses.replace(t, card=full) for t in ledger.transactions]
    page, blob = records.encode_page("transactions", txs, 2, ledger.opened_at)
    doc = dict(
        records.decode_totals(records.encode_totals(ledger)),
        units=[],
        transactions=records.decode_page("transactions", page, blob, "page 1"),
    )
    with pytest.raises(formats.FormatError) as err:
        formats.parse_atm_ledger(doc)
    assert full not in str(err.value)
    # a page whose number does not fit its digit count names neither the number nor the card
    body = bytes([binpage.KIND_NOTES, 1, columns.PREFIX_INLINE, columns.NUMBER, 0, 0, 0, 0, 0, 2])
    varint = bytearray()
    columns.varint(varint, int(full))
    with pytest.raises(ProtocolError) as err:
        binpage.decode_notes(bytes([2, 0]) + body + bytes(varint), "page 1")
    assert full not in str(err.value) and "of 19 digits does not fit in 2 digits" in str(err.value)


@pytest.mark.parametrize(
    "raw,what",
    [
        (b"not json", "not valid JSON"),
        (b"[1]", "JSON object"),
        (b'{"payload": {}}', "header"),
        (b'{"header": {"name": "X", "requestId": -1, "type": "command"}}', "requestId"),
        (b'{"header": {"name": "X", "requestId": 1, "type": "shout"}}', "type"),
        (b'{"header": {"name": "X", "requestId": 1, "type": "completion"}}', "completionCode"),
        (b'{"header": {"name": "X", "requestId": 1, "type": "event"}, "payload": []}', "payload"),
    ],
)
def test_malformed_envelopes_are_refused(raw, what) -> None:
    with pytest.raises(MessageError, match=what):
        messages.decode(raw)


def test_record_pages_round_trip_through_the_formats() -> None:
    ledger = make_ledger(transactions=25, notes_per=4)
    tx = records.decode_transactions(records.encode_transactions(ledger.transactions))
    notes_page = records.encode_notes(ledger.notes)
    assert isinstance(notes_page["columns"]["tsn"], dict)  # runs of the same TSN: run-length encoded
    notes = records.decode_notes(notes_page)
    doc = dict(
        records.decode_totals(records.encode_totals(ledger)),
        units=records.decode_units(records.encode_units(ledger.units)),
        transactions=tx,
        notes=notes,
    )
    assert formats.parse_atm_ledger(doc) == ledger


def test_rules_revision_2_travels_byte_for_byte() -> None:
    ledger = make_ledger(transactions=25, notes_per=4)
    assert any(t.reversed_amount for t in ledger.transactions) and any(t.unknown for t in ledger.transactions)
    page = records.encode_transactions(ledger.transactions)
    assert {"reversedAmount", "unknown"} <= set(page["columns"])
    doc = dict(
        records.decode_totals(records.encode_totals(ledger)),
        units=records.decode_units(records.encode_units(ledger.units)),
        transactions=records.decode_transactions(page),
        notes=records.decode_notes(records.encode_notes(ledger.notes)),
    )
    got = formats.parse_atm_ledger(doc)
    assert got.retained_cards == ledger.retained_cards and len(got.retained_cards) == 2
    assert formats.dumps(formats.atm_ledger_to_dict(got)) == formats.dumps(formats.atm_ledger_to_dict(ledger))
    # a revision-1 page has no new columns: old ATMs and old readers see the same pages as before
    plain = [t for t in ledger.transactions if not t.reversed_amount and not t.unknown]
    assert set(records.encode_transactions(plain)["columns"]) == set(records.TX_FIELDS)
    assert "retainedCards" not in records.encode_totals(dataclasses.replace(ledger, retained_cards=[]))


def test_a_partial_reversal_out_of_bounds_over_the_link_is_refused_by_the_format_check() -> None:
    ledger = make_ledger(transactions=10, notes_per=1)
    page = records.encode_transactions(ledger.transactions)
    partial = page["columns"]["reversedAmount"]
    column = partial if isinstance(partial, list) else None
    if column is None:  # run-length encoded
        column = records._expand(partial, "reversedAmount", page["count"])
    i = next(i for i, v in enumerate(column) if v)
    column[i] = ledger.transactions[i].amount  # not less than the amount
    page["columns"]["reversedAmount"] = column
    doc = dict(
        records.decode_totals(records.encode_totals(ledger)),
        units=records.decode_units(records.encode_units(ledger.units)),
        transactions=records.decode_transactions(page),
    )
    with pytest.raises(formats.FormatError) as exc:
        formats.parse_atm_ledger(doc, "ATM link")
    assert exc.value.path == f"$.transactions[{i}].reversed_amount"


@pytest.mark.parametrize(
    "mutate,what",
    [
        (lambda p: p["columns"].__setitem__("amount", [1.5] * p["count"]), "whole number"),
        (lambda p: p["columns"].__setitem__("amount", [-100] * p["count"]), "whole number"),
        (lambda p: p["columns"].__setitem__("tsn", ["1"]), "does not hold"),
        (lambda p: p["columns"].pop("card"), "lacks the column"),
        (lambda p: p["columns"].__setitem__("type", {"runs": ["withdrawal", 99]}), "bad run length"),
        (lambda p: p.__setitem__("count", "3"), "count"),
    ],
)
def test_hostile_transaction_pages_are_refused(mutate, what) -> None:
    page = records.encode_transactions(make_ledger(transactions=3).transactions)
    mutate(page)
    with pytest.raises(ProtocolError, match=what):
        records.decode_transactions(page)


def test_full_card_number_from_the_atm_is_caught_by_the_format_check() -> None:
    ledger = make_ledger(transactions=2)
    page = records.encode_transactions(ledger.transactions)
    page["columns"]["card"] = ["6222021234567890123", "6222021234567890124"]
    doc = dict(
        records.decode_totals(records.encode_totals(ledger)),
        units=[],
        transactions=records.decode_transactions(page),
    )
    with pytest.raises(formats.FormatError) as err:
        formats.parse_atm_ledger(doc)
    assert "6222021234567890123" not in str(err.value)


def test_serials_travel_as_letters_and_number_differences() -> None:
    from custodian_app.domain.formats import NoteRecord

    serials = ["AB00000001", "AB00000002", "CD12345678", "AB1234?678", "X000123", "ABCDE1234567", "000000"]
    notes = [NoteRecord(s, 10000, None, "CST1", "taken") for s in serials]
    page = records.encode_notes(notes)
    col = page["columns"]["serial"]
    assert col["delta"][:2] == [1, 1]  # a difference, not the number
    assert set(col["raw"].values()) == {"AB1234?678", "ABCDE1234567"}  # shapes kept whole
    assert [n["serial"] for n in records.decode_notes(page)] == serials


@pytest.mark.parametrize(
    "mutate,what",
    [
        (lambda c: c.__setitem__("letters", c["letters"] + "Z"), "disagree"),
        (lambda c: c["raw"].clear(), "missing"),
        (lambda c: c.__setitem__("delta", [-5] + c["delta"][1:]), "fit"),
    ],
)
def test_hostile_serial_columns_are_refused(mutate, what) -> None:
    from custodian_app.domain.formats import NoteRecord

    notes = [NoteRecord(s, 10000, None, "CST1", "taken") for s in ("AB00000007", "AB1234?678")]
    page = records.encode_notes(notes)
    mutate(page["columns"]["serial"])
    with pytest.raises(ProtocolError, match=what):
        records.decode_notes(page)


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.floats(allow_nan=False)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=12,
)


@settings(max_examples=100, deadline=None)
@given(
    count=st.integers(0, 4),
    columns=st.dictionaries(
        st.sampled_from(list(records.TX_FIELDS + records.NOTE_FIELDS) + ["x"]), _json, max_size=14
    ),
)
def test_hostile_pages_only_ever_raise_the_protocol_error(count, columns) -> None:
    page = {"count": count, "columns": columns}
    for decode in (records.decode_transactions, records.decode_notes):
        try:
            out = decode(page)
        except ProtocolError:
            continue
        assert len(out) == count  # whatever passes is handed on for the format check
