"""The four clearing documents: round trips, every kind of invalid input, and the shipped
JSON Schemas agreeing with the reader."""

from __future__ import annotations

import copy
import json

import orjson
import pytest
from jsonschema import Draft202012Validator

from custodian_app.domain import formats
from custodian_app.domain.formats import FormatError
from custodian_app.domain.generator import generate
from custodian_app.domain.reconcile import reconcile
from custodian_app.support.resources import resource

FULL_CARD = "6222021234567890123"


@pytest.fixture(scope="module")
def scenario():
    return generate(11, 60, "all")


@pytest.fixture(scope="module")
def docs(scenario):
    result = reconcile(scenario.atm, scenario.host, scenario.counts)
    return {
        "atm": formats.atm_ledger_to_dict(scenario.atm),
        "host": formats.host_ledger_to_dict(scenario.host),
        "counts": formats.counts_to_dict(scenario.counts),
        "result": formats.result_to_dict(result),
    }


PARSERS = {
    "atm": formats.parse_atm_ledger,
    "host": formats.parse_host_ledger,
    "counts": formats.parse_counts,
    "result": formats.parse_result,
}
SCHEMAS = {
    "atm": "atm-ledger-1",
    "host": "host-ledger-1",
    "counts": "counts-1",
    "result": "clearing-result-1",
}


def validator(kind: str) -> Draft202012Validator:
    schema = json.loads(resource("schemas", f"{SCHEMAS[kind]}.schema.json").read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


@pytest.mark.parametrize("kind", list(PARSERS))
def test_round_trip(kind, docs):
    doc = docs[kind]
    for indent in (False, True):
        data = formats.dumps(doc, indent=indent)
        parsed = PARSERS[kind](data, f"x.{kind}.json")
        again = {
            "atm": formats.atm_ledger_to_dict,
            "host": formats.host_ledger_to_dict,
            "counts": formats.counts_to_dict,
            "result": formats.result_to_dict,
        }[kind](parsed)
        assert again == doc
        assert formats.dumps(again, indent=indent) == data
    assert formats.parse_any(formats.dumps(doc)).__class__ is PARSERS[kind](doc).__class__


def test_round_trip_keeps_objects_equal(scenario):
    atm = formats.parse_atm_ledger(formats.dumps(formats.atm_ledger_to_dict(scenario.atm)))
    assert atm == scenario.atm and atm.notes == scenario.atm.notes
    host = formats.parse_host_ledger(formats.dumps(formats.host_ledger_to_dict(scenario.host)))
    assert host == scenario.host


def test_generator_bytes_parse_like_the_writer(scenario):
    s = generate(11, 60, "all", keep_documents=True)
    assert formats.parse_atm_ledger(s.documents.atm) == formats.parse_atm_ledger(
        formats.dumps(formats.atm_ledger_to_dict(s.atm))
    )


@pytest.mark.parametrize("kind", list(PARSERS))
def test_documents_we_write_follow_the_shipped_schema(kind, docs):
    errors = sorted(validator(kind).iter_errors(docs[kind]), key=str)
    assert not errors, errors[:3]


def _set(doc, path, value):
    """path like 'transactions.0.amount'; value _DELETE removes the key."""
    parts = path.split(".")
    node = doc
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return doc


_DELETE = object()

# (document, path, bad value, JSON path expected in our message)
INVALID = [
    ("atm", "format", "atm-ledger/2", "$.format"),
    ("atm", "format", _DELETE, "$.format"),
    ("atm", "terminal_id", 42, "$.terminal_id"),
    ("atm", "currency", "cny", "$.currency"),
    ("atm", "opened_at", "2026-11-20 08:00", "$.opened_at"),
    ("atm", "totals.loaded_amount", 200000.0, "$.totals.loaded_amount"),
    ("atm", "totals.loaded_amount", 200000, "$.totals.loaded_amount"),
    ("atm", "totals.withdrawals.count", -1, "$.totals.withdrawals.count"),
    ("atm", "totals.deposits", _DELETE, "$.totals"),
    ("atm", "units.0.type", "vault", "$.units[0].type"),
    ("atm", "units.0.out.presented", "3", "$.units[0].out.presented"),
    ("atm", "units.0.in", _DELETE, "$.units[0]"),
    ("atm", "units.0.value", "100", "$.units[0].value"),
    ("atm", "transactions.0.amount", 100.5, "$.transactions[0].amount"),
    ("atm", "transactions.0.amount", "100.5", "$.transactions[0].amount"),
    ("atm", "transactions.0.amount", "-100.00", "$.transactions[0].amount"),
    ("atm", "transactions.0.type", "transfer", "$.transactions[0].type"),
    ("atm", "transactions.0.card", FULL_CARD, "$.transactions[0].card"),
    ("atm", "transactions.0.reversed", "no", "$.transactions[0].reversed"),
    ("atm", "transactions.0.host_code", "0", "$.transactions[0].host_code"),
    ("atm", "transactions.0.cash.taken", _DELETE, "$.transactions[0].cash"),
    ("atm", "transactions.0.tsn", "10 1", "$.transactions[0].tsn"),
    ("atm", "notes.0.serial", "ab1", "$.notes[0].serial"),
    ("atm", "notes.0.event", "lost", "$.notes[0].event"),
    ("atm", "notes.0.value", 100, "$.notes[0].value"),
    ("atm", "transactions", {}, "$.transactions"),
    ("host", "transactions.0.status", "pending", "$.transactions[0].status"),
    ("host", "transactions.0.card", FULL_CARD, "$.transactions[0].card"),
    ("host", "transactions.0.amount", 10, "$.transactions[0].amount"),
    ("host", "transactions.0.tsn", 101, "$.transactions[0].tsn"),
    ("host", "totals", _DELETE, "$"),
    ("host", "format", "atm-ledger/1", "$.format"),
    ("counts", "units.CST1", 1000, "$.units.CST1"),
    ("counts", "counted_by", ["alice"], "$.counted_by"),
    ("counts", "currency", "EURO", "$.currency"),
    ("result", "mismatches.0.category", "FRAUD", "$.mismatches[0].category"),
    ("result", "mismatches.0.cash_effect", -5, "$.mismatches[0].cash_effect"),
    ("result", "cash_position.difference", "1.00", "$.cash_position.difference"),
    ("result", "balanced", True, "$.balanced"),
]


@pytest.mark.parametrize(
    "kind, path, value, where", INVALID, ids=[f"{c[0]}:{c[1]}={c[2]!r}"[:60] for c in INVALID]
)
def test_invalid_input_is_refused_naming_file_path_and_value(docs, kind, path, value, where):
    doc = _set(copy.deepcopy(docs[kind]), path, value)
    with pytest.raises(FormatError) as exc:
        PARSERS[kind](orjson.dumps(doc), f"/data/{kind}.json")
    msg = str(exc.value)
    assert msg.startswith(f"/data/{kind}.json: {where}"), msg
    assert FULL_CARD not in msg and "1234567890123" not in msg
    if (
        value is not _DELETE
        and "card" not in path
        and isinstance(value, (str, int, float))
        and path != "balanced"
    ):
        shown = repr(value) if isinstance(value, str) else str(value)
        assert shown in msg or path.endswith("difference"), msg


@pytest.mark.parametrize(
    "kind, path, value, where",
    [
        c
        for c in INVALID
        if not (c[0] == "result" and c[1] in ("cash_position.difference", "balanced"))
        and c[1] != "counted_by"
    ],
    ids=lambda v: str(v)[:30],
)
def test_what_the_schema_rejects_we_reject(docs, kind, path, value, where):
    doc = _set(copy.deepcopy(docs[kind]), path, value)
    assert list(validator(kind).iter_errors(doc)), "the schema should refuse this sample"
    with pytest.raises(FormatError):
        PARSERS[kind](doc)


def test_full_card_number_is_never_echoed_even_in_other_fields(docs):
    doc = copy.deepcopy(docs["atm"])
    doc["transactions"][0]["tsn"] = FULL_CARD + "-X"  # too long for a TSN: refused, echoed scrubbed
    with pytest.raises(FormatError) as exc:
        formats.parse_atm_ledger(doc, "atm.json")
    assert FULL_CARD not in str(exc.value) and "digits withheld" in str(exc.value)


def test_duplicate_tsn(docs):
    doc = copy.deepcopy(docs["atm"])
    doc["transactions"][1]["tsn"] = doc["transactions"][0]["tsn"]
    with pytest.raises(FormatError, match=r"\$\.transactions\[1\]\.tsn: TSN '\w+' appears twice"):
        formats.parse_atm_ledger(doc, "atm.json")


@pytest.mark.parametrize("data", [b"", b"{", b"[1, 2]", b'{"format": "atm-ledger/1",}', b"\xff\xfe", "null"])
def test_bad_json(data):
    with pytest.raises(FormatError) as exc:
        formats.parse_atm_ledger(data, "atm.json")
    assert str(exc.value).startswith("atm.json: $")


def test_cross_type_cash_is_refused(docs):
    doc = copy.deepcopy(docs["atm"])
    w = next(i for i, t in enumerate(doc["transactions"]) if t["type"] == "withdrawal")
    doc["transactions"][w]["cash"]["deposited"] = "5.00"
    with pytest.raises(FormatError, match=rf"\$\.transactions\[{w}\]\.cash\.deposited"):
        formats.parse_atm_ledger(doc, "atm.json")


@pytest.mark.parametrize(
    "field, value", [("terminal_id", "NJ-0002"), ("cycle_id", "other"), ("currency", "USD")]
)
def test_mismatched_terminal_cycle_or_currency(scenario, field, value):
    host = copy.copy(scenario.host)
    setattr(host, field, value)
    with pytest.raises(FormatError, match=rf"\$\.{field}"):
        formats.check_same_clearing(scenario.atm, host, scenario.counts)
    counts = copy.copy(scenario.counts)
    setattr(counts, field, value)
    with pytest.raises(FormatError, match=rf"\$\.{field}"):
        reconcile(scenario.atm, scenario.host, counts)


def test_unknown_keys_are_ignored(docs):
    doc = copy.deepcopy(docs["atm"])
    doc["vendor_extension"] = {"x": 1}
    doc["transactions"][0]["emv_tags"] = "9F26"
    assert formats.parse_atm_ledger(doc) == formats.parse_atm_ledger(docs["atm"])


# --- rules revision 2 ---------------------------------------------------------------------


def _rev2_tx(doc, kind):
    return next((i, t) for i, t in enumerate(doc["transactions"]) if t["type"] == kind)


@pytest.mark.parametrize(
    "case, schema_too",
    [
        ("reversed_amount as a number", True),
        ("unknown as a number", True),
        ("retained reason", True),
        ("retained full card", True),
        ("reversed_amount = amount", False),
        ("reversed_amount = 0", False),
        ("reversed_amount with reversed", False),
        ("unknown on a deposit", False),
    ],
)
def test_invalid_rev2_input_is_refused_naming_file_path_and_value(docs, case, schema_too):
    doc = copy.deepcopy(docs["atm"])
    i, w = _rev2_tx(doc, "withdrawal")
    j, d = _rev2_tx(doc, "deposit")
    where = f"$.transactions[{i}].reversed_amount"
    if case == "reversed_amount as a number":
        w["reversed_amount"] = 10.0
    elif case == "unknown as a number":
        w["cash"]["unknown"], where = 100, f"$.transactions[{i}].cash.unknown"
    elif case == "retained reason":
        doc["retained_cards"] = [{"time": w["time"], "card": w["card"], "tsn": None, "reason": "eaten"}]
        where = "$.retained_cards[0].reason"
    elif case == "retained full card":
        doc["retained_cards"] = [{"time": w["time"], "card": FULL_CARD, "tsn": None, "reason": "fault"}]
        where = "$.retained_cards[0].card"
    elif case == "reversed_amount = amount":
        w["reversed_amount"] = w["amount"]
    elif case == "reversed_amount = 0":
        w["reversed_amount"] = "0.00"
    elif case == "reversed_amount with reversed":
        w["reversed_amount"], w["reversed"] = "1.00", True
    else:
        d["cash"]["unknown"], where = "1.00", f"$.transactions[{j}].cash.unknown"
    assert bool(list(validator("atm").iter_errors(doc))) is schema_too
    with pytest.raises(FormatError) as exc:
        formats.parse_atm_ledger(orjson.dumps(doc), "/data/atm.json")
    assert str(exc.value).startswith(f"/data/atm.json: {where}:"), str(exc.value)
    assert FULL_CARD not in str(exc.value)


def test_rev2_fields_round_trip_and_revision_1_documents_are_written_as_before(scenario, docs):
    atm = docs["atm"]
    assert any("reversed_amount" in t for t in atm["transactions"])
    assert any("unknown" in t["cash"] for t in atm["transactions"])
    assert atm["retained_cards"] and docs["result"]["retained_cards"] == atm["retained_cards"]
    plain = generate(3, 30, "RETRACTED=1")
    doc = formats.atm_ledger_to_dict(plain.atm)
    assert "retained_cards" not in doc
    assert not any("reversed_amount" in t or "unknown" in t["cash"] for t in doc["transactions"])
    # a null reversed_amount and a zero unknown read as absent
    doc["transactions"][0]["reversed_amount"] = None
    doc["transactions"][0]["cash"]["unknown"] = "0.00"
    assert formats.parse_atm_ledger(orjson.dumps(doc)) == plain.atm


def test_the_result_names_count_differences_and_partial_reversals(docs):
    result = docs["result"]
    diffs = [m for m in result["mismatches"] if m["category"] == "COUNT_DIFFERS"]
    assert diffs and all({"unit", "counted", "derived"} <= set(m) and m["tsn"] is None for m in diffs)
    assert any("reversed_amount" in m for m in result["mismatches"])
    assert formats.result_to_dict(formats.parse_result(formats.dumps(result))) == result
