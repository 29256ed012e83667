"""A JSON object that gives a key twice is refused in every clearing document, naming the
file, the JSON path and the key, by both ways of reading (issue 18: orjson kept the last one
without a word). Also the free-text rule: a full card number in a TSN, a reference, a name or
a result's words is refused without being echoed, and a host_ref booked twice."""

from __future__ import annotations

import orjson
import pytest

from custodian_app.domain import fields, formats
from custodian_app.domain.formats import FormatError, FullCardNumber
from custodian_app.domain.generator import build_documents
from custodian_app.domain.reconcile import reconcile
from tests.domain.conftest import NATIVE

DOCS = build_documents(21, 60, "all")
PAN = "6222021234567894"


def _twice(data: bytes, opening: bytes, n: int, pair: bytes) -> bytes:
    """``pair`` put first in the n-th object that opens with ``opening``."""
    at = -1
    for _ in range(n + 1):
        at = data.index(opening, at + 1)
    return data[: at + 1] + pair + b"," + data[at + 1 :]


def _result() -> bytes:
    atm = formats.parse_atm_ledger(DOCS.atm)
    host = formats.parse_host_ledger(DOCS.host)
    return formats.dumps(formats.result_to_dict(reconcile(atm, host)))


ATM_CASES = [
    ("head", lambda d: d.replace(b'"currency":', b'"currency":"USD","currency":', 1), "$.currency"),
    (
        "transaction, a key it reads",
        lambda d: _twice(d, b'{"tsn":', 4, b'"amount":"1.00"'),
        "$.transactions[4].amount",
    ),
    (
        "transaction, a key it ignores",
        lambda d: _twice(d, b'{"tsn":', 5, b'"x":1,"x":1'),
        "$.transactions[5].x",
    ),
    (
        "inside an unknown object",
        lambda d: _twice(d, b'{"tsn":', 6, b'"x":{"a":1,"a":1}'),
        "$.transactions[6].x.a",
    ),
    ("cash", lambda d: _twice(d, b'{"taken":', 2, b'"taken":"0.00"'), "$.transactions[2].cash.taken"),
    ("note", lambda d: _twice(d, b'{"serial":', 9, b'"unit":"CST1"'), "$.notes[9].unit"),
    ("unit", lambda d: _twice(d, b'{"id":', 1, b'"initial":0'), "$.units[1].initial"),
]

# the head (header, totals, units) is decoded by the Python reader even when the scanner reads
IN_ARRAYS = [c for c in ATM_CASES if c[0] not in ("head", "unit")]


@pytest.mark.parametrize("name,change,path", ATM_CASES, ids=[c[0] for c in ATM_CASES])
def test_a_key_twice_in_an_atm_ledger_is_named(engine, name, change, path):
    bad = change(DOCS.atm)
    assert bad != DOCS.atm
    with pytest.raises(FormatError) as info:
        formats.parse_atm_ledger(bad, "atm.json")
    assert info.value.source == "atm.json" and info.value.path == path
    assert f"the key {path.rsplit('.', 1)[1]!r} is given twice" in str(info.value)


@pytest.mark.skipif(NATIVE is None, reason="the C accelerator is not built")
@pytest.mark.parametrize("name,change,path", IN_ARRAYS, ids=[c[0] for c in IN_ARRAYS])
def test_the_c_scanner_gives_up_on_a_key_twice_in_the_arrays(name, change, path):
    assert NATIVE.scan_atm(DOCS.atm) is not None
    assert NATIVE.scan_atm(change(DOCS.atm)) is None


@pytest.mark.skipif(NATIVE is None, reason="the C accelerator is not built")
def test_the_c_scanner_still_reads_a_few_distinct_unknown_keys():
    data = _twice(DOCS.host, b'{"host_ref":', 0, b'"a":1,"b":{"c":1,"d":2},"e":[1]')
    assert NATIVE.scan_host(data) is not None
    assert formats.parse_host_ledger(data) == formats.parse_host_ledger(DOCS.host)


def test_a_key_twice_in_a_host_ledger_counts_and_a_result_is_named(engine):
    host = _twice(DOCS.host, b'{"host_ref":', 3, b'"status":"reversed"')
    words = r"host\.json: \$\.transactions\[3\]\.status: the key 'status' is given twice"
    with pytest.raises(FormatError, match=words):
        formats.parse_host_ledger(host, "host.json")
    counts = DOCS.counts.replace(b'"counted_by"', b'"cycle_id": "X", "counted_by"', 1)
    with pytest.raises(FormatError, match=r"\$\.cycle_id: the key 'cycle_id' is given twice"):
        formats.parse_counts(counts, "counts.json")
    result = _result()
    bad = result.replace(b'"cash_position":{', b'"cash_position":{"counted":null,', 1)
    assert bad != result
    with pytest.raises(FormatError, match=r"\$\.cash_position\.counted: the key 'counted' is given twice"):
        formats.parse_result(bad, "result.json")
    with pytest.raises(FormatError, match="given twice"):
        formats.parse_any(counts, "counts.json")


def test_a_repeated_key_never_echoes_a_card_number():
    bad = DOCS.counts.replace(b'"counted_by"', f'"{PAN}": 1, "{PAN}": 2, "counted_by"'.encode(), 1)
    with pytest.raises(FormatError) as info:
        formats.parse_counts(bad, "counts.json")
    assert "given twice" in str(info.value) and PAN not in str(info.value)


def test_deep_nesting_is_refused_not_a_crash():
    deep = DOCS.counts.replace(b'"counted_by"', b'"x": ' + b"[" * 1000 + b"]" * 1000 + b', "counted_by"', 1)
    with pytest.raises(FormatError):
        formats.parse_counts(deep, "counts.json")


# -- free text -------------------------------------------------------------------------------


def _host_with(i: int, **values) -> bytes:
    doc = orjson.loads(DOCS.host)
    doc["transactions"][i].update(values)
    return orjson.dumps(doc)


def _atm_with(change) -> bytes:
    doc = orjson.loads(DOCS.atm)
    change(doc)
    return orjson.dumps(doc)


FREE_TEXT = [
    ("atm", lambda: _atm_with(lambda d: d["transactions"][3].update(tsn=PAN)), "$.transactions[3].tsn"),
    (
        "atm",
        lambda: _atm_with(lambda d: d["transactions"][3].update(host_ref="6222-0212-3456-7894")),
        "$.transactions[3].host_ref",
    ),
    ("atm", lambda: _atm_with(lambda d: d["notes"][5].update(tsn=PAN)), "$.notes[5].tsn"),
    ("atm", lambda: _atm_with(lambda d: d.update(cycle_id=f"C{PAN}")), "$.cycle_id"),
    ("host", lambda: _host_with(2, tsn=PAN), "$.transactions[2].tsn"),
    ("host", lambda: _host_with(2, host_ref=f"REF {PAN}"), "$.transactions[2].host_ref"),
    ("counts", lambda: DOCS.counts.replace(b'"custodian-a"', f'"{PAN}"'.encode()), "$.counted_by[0]"),
]
PARSERS = {"atm": formats.parse_atm_ledger, "host": formats.parse_host_ledger, "counts": formats.parse_counts}


@pytest.mark.parametrize("kind,make,path", FREE_TEXT, ids=[p for _, _, p in FREE_TEXT])
def test_a_card_number_in_free_text_is_refused_unseen(engine, kind, make, path):
    with pytest.raises(FullCardNumber) as info:
        PARSERS[kind](make(), f"{kind}.json")
    assert info.value.path == path and "looks like a full card number" in str(info.value)
    assert PAN not in str(info.value) and PAN[-8:] not in str(info.value)


def test_a_card_number_in_a_results_words_is_refused():
    doc = orjson.loads(_result())
    assert doc["mismatches"], "the generated cycle has no mismatch: nothing to test"
    doc["mismatches"][0]["action"] = f"refund card {PAN}"
    with pytest.raises(FullCardNumber, match=r"\$\.mismatches\[0\]\.action"):
        formats.parse_result(orjson.dumps(doc), "result.json")


def test_references_and_tsns_of_twelve_digits_are_not_cards(engine):
    data = _host_with(1, host_ref="632409000117", tsn="000000000101")
    assert formats.parse_host_ledger(data).transactions[1].host_ref == "632409000117"


def test_first_full_card_finds_the_first_and_only_a_card():
    assert fields.first_full_card(["000101", None, "632409000117"]) is None
    assert fields.first_full_card(["000101", None, "x 6222 0212 3456 7894", PAN]) == 2
    assert fields.first_full_card([None, "1234567890123"]) == 1
    assert fields.first_full_card([]) is None
    # the newline that joins the values never makes two short ones one card number
    assert fields.first_full_card(["1234567", "123456"]) is None
    assert fields.first_full_card(["6222 0212", "3456 7894"]) is None


# -- a host_ref booked twice -------------------------------------------------------------------


def test_a_host_ref_booked_twice_is_refused_and_a_reversed_one_may_share_it(engine):
    doc = orjson.loads(DOCS.host)
    txs = doc["transactions"]
    booked = [i for i, t in enumerate(txs) if t["status"] == "booked"]
    reversed_ = [i for i, t in enumerate(txs) if t["status"] == "reversed"]
    assert len(booked) > 3 and reversed_
    txs[booked[3]]["host_ref"] = txs[booked[1]]["host_ref"]
    with pytest.raises(FormatError) as info:
        formats.parse_host_ledger(orjson.dumps(doc), "host.json")
    assert info.value.path == f"$.transactions[{booked[3]}].host_ref"
    assert f"is booked twice (also record {booked[1] + 1})" in info.value.message

    doc = orjson.loads(DOCS.host)
    doc["transactions"][reversed_[0]]["host_ref"] = doc["transactions"][booked[0]]["host_ref"]
    assert len(formats.parse_host_ledger(orjson.dumps(doc)).transactions) == len(txs)


@pytest.mark.parametrize(
    "wrap",
    [bytes, bytearray, memoryview, lambda b: b.decode()],
    ids=["bytes", "bytearray", "memoryview", "str"],
)
def test_a_key_twice_is_found_in_any_kind_of_buffer(wrap):
    bad = DOCS.counts.replace(b'"counted_by"', b'"currency": "CNY", "counted_by"', 1)
    assert formats.parse_counts(wrap(DOCS.counts)).currency == "CNY"
    with pytest.raises(FormatError, match=r"\$\.currency: the key 'currency' is given twice"):
        formats.parse_counts(wrap(bad), "counts.json")
