"""The C scanner (``custodian_app.domain._ledgerscan``) must mean exactly what the Python reader
means: the same ledgers for valid documents (rev-2 keys included), the same note flows and
per-unit note sums, and None (so that the Python reader names the fault) for anything it does
not read."""

from __future__ import annotations

import mmap
import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from custodian_app.domain import formats
from custodian_app.domain.formats import FormatError, NoteTrail
from custodian_app.domain.generator import generate
from custodian_app.domain.reconcile import reconcile
from tests.domain.builders import mutate
from tests.domain.conftest import NATIVE
from tests.domain.ledgerfuzz import same_flows

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the C accelerator is not built")

_SCENARIO = generate(33, 120, "all", keep_documents=True)


def _general_atm(raw: bytes):
    return formats.parse_atm_ledger(orjson.loads(raw), "x")


def _native_atm(raw):
    return formats._scanned_atm_ledger(raw, "x")


def _native_host(raw):
    return formats._scanned_host_ledger(raw, "x")


def _relayout(raw: bytes, how: str) -> bytes:
    doc = orjson.loads(raw)
    rnd = random.Random(7)
    if how == "shuffled keys":

        def shuffle(o):
            if isinstance(o, dict):
                items = [(k, shuffle(v)) for k, v in o.items()]
                rnd.shuffle(items)
                return dict(items)
            if isinstance(o, list):
                return [shuffle(v) for v in o]
            return o

        return orjson.dumps(shuffle(doc))
    if how == "unknown keys":
        for t in doc["transactions"]:
            t["terminal_note"] = {"x": [1, 2.5, -3e2, None, True, "a"]}
            t["cash"]["counterfeit"] = "0.00"
        for n in doc.get("notes", []):
            n["orientation"] = 2
        doc["vendor"] = {"名称": "银行", "escape": 'a"b\\u00e9'}
        return orjson.dumps(doc)
    if how == "notes first":
        notes = doc.pop("notes")
        return orjson.dumps({"notes": notes, **doc})
    if how == "indented":
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    if how == "compact":
        return orjson.dumps(doc)
    raise AssertionError(how)


@pytest.mark.parametrize(
    "how", ["generator", "compact", "indented", "shuffled keys", "unknown keys", "notes first"]
)
def test_every_layout_reads_as_the_general_reader_reads_it(how):
    raw = _SCENARIO.documents.atm if how == "generator" else _relayout(_SCENARIO.documents.atm, how)
    fast = _native_atm(raw)
    assert fast is not None, "the C reader should read every valid layout of plain ASCII"
    assert isinstance(fast.notes, NoteTrail)
    slow = _general_atm(raw)
    assert same_flows(fast, slow)
    assert formats.atm_ledger_to_dict(fast) == formats.atm_ledger_to_dict(slow)
    # the generator's "all" cycle carries every rev-2 key; the scanner read them, not skipped them
    assert any(t.reversed_amount for t in fast.transactions) and any(t.unknown for t in fast.transactions)
    assert fast.retained_cards and fast.retained_cards == slow.retained_cards


def test_host_ledger_reads_as_the_general_reader_reads_it():
    for raw in (
        _SCENARIO.documents.host,
        orjson.dumps(orjson.loads(_SCENARIO.documents.host), option=orjson.OPT_INDENT_2),
    ):
        fast = _native_host(raw)
        assert fast is not None
        assert formats.host_ledger_to_dict(fast) == formats.host_ledger_to_dict(
            formats.parse_host_ledger(orjson.loads(raw), "x")
        )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.floats(0, 1),
    st.sampled_from(["replace", "delete", "insert"]),
    st.sampled_from(list(b'"{}[],:\n 0aAZ?-.9\x00\\\x7f') + [0xE4, 0x80]),
)
def test_a_mutated_ledger_is_read_right_or_not_at_all(where, op, byte):
    raw = mutate(_SCENARIO.documents.atm, where, op, byte)
    fast = _native_atm(raw)
    try:
        slow = formats.parse_atm_ledger(raw.decode("utf-8", "strict"), "x")
    except (FormatError, UnicodeDecodeError):
        assert fast is None
        return
    if fast is not None:
        if fast.notes is not None:
            assert same_flows(fast, slow)
        assert formats.atm_ledger_to_dict(fast) == formats.atm_ledger_to_dict(slow)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.floats(0, 1),
    st.sampled_from(["replace", "delete", "insert"]),
    st.sampled_from(list(b'"{}[],:\n 0aAZ-.9\\') + [0xE4]),
)
def test_a_mutated_host_ledger_is_read_right_or_not_at_all(where, op, byte):
    raw = mutate(_SCENARIO.documents.host, where, op, byte)
    fast = _native_host(raw)
    try:
        slow = formats.parse_host_ledger(raw.decode("utf-8", "strict"), "x")
    except (FormatError, UnicodeDecodeError):
        assert fast is None
        return
    if fast is not None:
        assert formats.host_ledger_to_dict(fast) == formats.host_ledger_to_dict(slow)


@pytest.mark.parametrize(
    "change",
    [
        (b'"tsn":"000', b'"tsn":"\\u0030000'),  # an escape: decoded it is a valid TSN
        (b'"type":"withdrawal"', b'"type":"withdrawal","type":"deposit"'),  # a key twice
        (b'"amount":"', b'"amount":"0'),  # a leading zero
        (b'"card":"', b'"card":"9'),  # a card number too long
        (b'"reversed":false', b'"reversed":0'),
        (b'"value":"100.00"', b'"value":100.00'),  # a JSON number where money belongs
    ],
)
def test_what_it_does_not_read_it_leaves_to_the_general_reader(change):
    old, new = change
    raw = _SCENARIO.documents.atm.replace(old, new, 1)
    assert raw != _SCENARIO.documents.atm
    assert _native_atm(raw) is None


@pytest.mark.parametrize("case", ["beyond", "with reversed", "zero", "unknown on a deposit"])
def test_invalid_rev2_fields_are_left_to_the_python_reader_which_names_them(case):
    doc = orjson.loads(_SCENARIO.documents.atm)
    i, t = next(
        (i, t)
        for i, t in enumerate(doc["transactions"])
        if (t["type"] == "deposit") == (case == "unknown on a deposit")
    )
    field = "cash.unknown" if case == "unknown on a deposit" else "reversed_amount"
    if case == "unknown on a deposit":
        t["cash"]["unknown"] = "100.00"
    else:
        t["reversed_amount"] = {"beyond": t["amount"], "with reversed": "1.00", "zero": "0.00"}[case]
        t["reversed"] = case == "with reversed"
    raw = orjson.dumps(doc)
    assert _native_atm(raw) is None
    with pytest.raises(FormatError) as exc:
        formats.parse_atm_ledger(raw, "atm.json")
    assert exc.value.source == "atm.json" and exc.value.path == f"$.transactions[{i}].{field}"


def test_a_tsn_twice_is_named_by_the_general_reader():
    doc = orjson.loads(_SCENARIO.documents.atm)
    doc["transactions"][5]["tsn"] = doc["transactions"][2]["tsn"]
    raw = orjson.dumps(doc)
    assert _native_atm(raw) is None
    with pytest.raises(FormatError, match=r"\$\.transactions\[5\]\.tsn: TSN .* appears twice"):
        formats.parse_atm_ledger(raw, "atm.json")


def test_a_ledger_read_from_a_map_keeps_its_notes_after_the_map_is_closed(tmp_path):
    path = tmp_path / "atm.json"
    path.write_bytes(_SCENARIO.documents.atm)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        ledger = formats.parse_atm_ledger(mm, str(path))
    assert isinstance(ledger.notes, NoteTrail)
    assert list(ledger.notes) == _SCENARIO.atm.notes


def test_note_mismatches_are_found_in_c_as_in_python():
    raw = _SCENARIO.documents.atm
    doc = orjson.loads(raw)
    # one note moved to another transaction, one naming a TSN the ledger lacks
    doc["notes"][3]["tsn"] = doc["transactions"][-1]["tsn"]
    doc["notes"][4]["tsn"] = "NOSUCH"
    raw = orjson.dumps(doc)
    fast = _native_atm(raw)
    assert "NOSUCH" in fast.notes.flows and same_flows(fast, _general_atm(raw))
    host = formats.parse_host_ledger(_SCENARIO.documents.host, "x")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(formats, "native", None)
        python = formats.result_to_dict(reconcile(formats.parse_atm_ledger(raw, "x"), host, _SCENARIO.counts))
    c = formats.result_to_dict(reconcile(fast, host, _SCENARIO.counts))
    assert c == python
    assert {m["category"] for m in c["mismatches"]} >= {
        "NOTE_FLOW_MISMATCH",
        "UNKNOWN_OUTCOME",
        "COUNT_DIFFERS",
    }


@pytest.mark.parametrize("where", ["transaction", "cash", "note"])
def test_a_number_no_double_can_hold_is_left_to_the_general_reader(where):
    """orjson refuses 1e999 (it overflows a double) even under a key nobody reads; so must C."""
    doc = orjson.loads(_SCENARIO.documents.atm)
    target = {
        "transaction": doc["transactions"][1],
        "cash": doc["transactions"][1]["cash"],
        "note": doc["notes"][1],
    }[where]
    target["vendor_extra"] = 12345
    raw = orjson.dumps(doc).replace(b'"vendor_extra":12345', b'"vendor_extra":1e999')
    assert _native_atm(raw) is None
    with pytest.raises(FormatError, match="not valid JSON"):
        formats.parse_atm_ledger(raw, "x")
    ok = orjson.dumps(doc).replace(b'"vendor_extra":12345', b'"vendor_extra":1e99')
    assert _native_atm(ok) is not None


def test_running_out_of_memory_is_a_memory_error_not_a_crash():
    _testcapi = pytest.importorskip("_testcapi")
    raw = _SCENARIO.documents.atm
    outcomes = set()
    for start in range(0, 60):
        _testcapi.set_nomemory(start, start + 1)
        try:
            outcomes.add("read" if NATIVE.scan_atm(raw) is not None else "None")
        except MemoryError:
            outcomes.add("MemoryError")
        finally:
            _testcapi.remove_mem_hooks()
    assert "MemoryError" in outcomes and outcomes <= {"MemoryError", "read"}


@pytest.mark.parametrize("seed,good", [(1, 0.9), (2, 0.5), (3, 0.97), (4, 0.8)])
def test_differential_fuzz_of_tiny_ledgers(seed, good):
    """tests/domain/ledgerfuzz.py: thousands of odd little ledgers, read both ways."""
    from tests.domain import ledgerfuzz

    stats, findings = ledgerfuzz.run(seed, 2500, good)
    assert findings == []
    # the fuzz must reach both readers' acceptance, or it tests nothing
    assert stats["atm_native"] > 50 and stats["host_native"] > 300
    assert stats["atm_valid"] > stats["atm_native"] // 2
