"""The C accelerator (``custodian_app.domain._ledgerscan``) must mean exactly what the Python
code means: the same ledgers for valid documents, None (so that the general reader names the
fault) for anything it does not read, and the same triage as the Python engine."""

from __future__ import annotations

import mmap
import random

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from custodian_app.domain import fastpath, formats
from custodian_app.domain.formats import FormatError
from custodian_app.domain.generator import generate
from custodian_app.domain.reconcile import _columns, ATM_FIELDS, HOST_FIELDS, note_mismatches, reconcile, triage_py
from tests.domain.builders import mutate
from tests.domain.conftest import NATIVE
from tests.domain.test_reconcile_properties import clearing

pytestmark = pytest.mark.skipif(NATIVE is None, reason="the C accelerator is not built")

_SCENARIO = generate(33, 120, "all", keep_documents=True)


def _general_atm(raw: bytes):
    return formats.parse_atm_ledger(orjson.loads(raw), "x")


def _python_odd(ledger) -> list:
    """note_mismatches the Python way (from the counted flows)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(type(ledger.notes), "mismatches_for", lambda self, t: None, raising=False)
        return note_mismatches(ledger)


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
        doc["vendor"] = {"名称": "银行", "escape": "a\"b\\u00e9"}
        return orjson.dumps(doc)
    if how == "notes first":
        notes = doc.pop("notes")
        return orjson.dumps({"notes": notes, **doc})
    if how == "indented":
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2)
    if how == "compact":
        return orjson.dumps(doc)
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["generator", "compact", "indented", "shuffled keys", "unknown keys", "notes first"])
def test_every_layout_reads_as_the_general_reader_reads_it(how):
    raw = _SCENARIO.documents.atm if how == "generator" else _relayout(_SCENARIO.documents.atm, how)
    fast = fastpath._native_atm_ledger(raw, "x")
    assert fast is not None, "the C reader should read every valid layout of plain ASCII"
    assert isinstance(fast.notes, fastpath.NoteTrail)
    odd = fast.notes.mismatches_for(fast.transactions)
    assert odd is not None
    assert sorted(odd, key=repr) == sorted(_python_odd(fast), key=repr)
    slow = _general_atm(raw)
    flows = fast.notes.flows_by_tsn()
    assert flows == fastpath.NoteTrail.flows_by_tsn(_relisted(slow))
    assert formats.atm_ledger_to_dict(fast) == formats.atm_ledger_to_dict(slow)


def _relisted(ledger):
    """A NoteTrail over the general reader's notes, to count them the trail's way."""
    return fastpath.NoteTrail(formats.dumps(formats.atm_ledger_to_dict(ledger)["notes"]), len(ledger.notes), None)


def test_host_ledger_reads_as_the_general_reader_reads_it():
    for raw in (_SCENARIO.documents.host, orjson.dumps(orjson.loads(_SCENARIO.documents.host), option=orjson.OPT_INDENT_2)):
        fast = fastpath._native_host_ledger(raw, "x")
        assert fast is not None
        assert formats.host_ledger_to_dict(fast) == formats.host_ledger_to_dict(
            formats.parse_host_ledger(orjson.loads(raw), "x"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(0, 1), st.sampled_from(["replace", "delete", "insert"]),
       st.sampled_from(list(b'"{}[],:\n 0aAZ?-.9\x00\\\x7f') + [0xE4, 0x80]))
def test_a_mutated_ledger_is_read_right_or_not_at_all(where, op, byte):
    raw = mutate(_SCENARIO.documents.atm, where, op, byte)
    fast = fastpath._native_atm_ledger(raw, "x")
    try:
        slow = formats.parse_atm_ledger(raw.decode("utf-8", "strict"), "x")
    except (FormatError, UnicodeDecodeError):
        assert fast is None
        return
    if fast is not None:
        odd = fast.notes.mismatches_for(fast.transactions) if fast.notes is not None else None
        if odd is not None:
            assert sorted(odd, key=repr) == sorted(_python_odd(fast), key=repr)
        assert formats.atm_ledger_to_dict(fast) == formats.atm_ledger_to_dict(slow)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(0, 1), st.sampled_from(["replace", "delete", "insert"]),
       st.sampled_from(list(b'"{}[],:\n 0aAZ-.9\\') + [0xE4]))
def test_a_mutated_host_ledger_is_read_right_or_not_at_all(where, op, byte):
    raw = mutate(_SCENARIO.documents.host, where, op, byte)
    fast = fastpath._native_host_ledger(raw, "x")
    try:
        slow = formats.parse_host_ledger(raw.decode("utf-8", "strict"), "x")
    except (FormatError, UnicodeDecodeError):
        assert fast is None
        return
    if fast is not None:
        assert formats.host_ledger_to_dict(fast) == formats.host_ledger_to_dict(slow)


@pytest.mark.parametrize("change", [
    (b'"tsn":"000', b'"tsn":"\\u0030000'),  # an escape: decoded it is a valid TSN
    (b'"type":"withdrawal"', b'"type":"withdrawal","type":"deposit"'),  # a key twice
    (b'"amount":"', b'"amount":"0'),  # a leading zero
    (b'"card":"', b'"card":"9'),  # a card number too long
    (b'"reversed":false', b'"reversed":0'),
    (b'"value":"100.00"', b'"value":100.00'),  # a JSON number where money belongs
])
def test_what_it_does_not_read_it_leaves_to_the_general_reader(change):
    old, new = change
    raw = _SCENARIO.documents.atm.replace(old, new, 1)
    assert raw != _SCENARIO.documents.atm
    assert fastpath._native_atm_ledger(raw, "x") is None


def test_a_tsn_twice_is_named_by_the_general_reader():
    doc = orjson.loads(_SCENARIO.documents.atm)
    doc["transactions"][5]["tsn"] = doc["transactions"][2]["tsn"]
    raw = orjson.dumps(doc)
    assert fastpath._native_atm_ledger(raw, "x") is None
    with pytest.raises(FormatError, match=r"\$\.transactions\[5\]\.tsn: TSN .* appears twice"):
        formats.parse_atm_ledger(raw, "atm.json")


def _normal(tri) -> tuple:
    return (sorted((i, sorted(h)) for i, h in tri.exceptions),
            sorted((str(t), w, sorted(h)) for t, w, h in tri.host_only),
            tuple(tri.sums), tri.bad_cash, {i: sorted(h) for i, h in tri.extra_hosts.items()})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clearing(), st.data())
def test_triage_in_c_and_in_python_agree(case, data):
    atm, host, success = case
    atm_cols = _columns(atm.transactions, ATM_FIELDS)
    host_cols = _columns(host.transactions, HOST_FIELDS)
    n = len(atm_cols[0])
    extra = data.draw(st.lists(st.integers(0, n - 1), unique=True)) if n else []
    from custodian_app.domain.reconcile import Triage

    native = NATIVE.triage(atm_cols[0], atm_cols[2], atm_cols[4], atm_cols[5], atm_cols[7], *atm_cols[8:12],
                           success, host_cols[1], host_cols[3], host_cols[5], host_cols[6], extra)
    assert native is not None
    assert _normal(Triage(*native)) == _normal(triage_py(atm_cols, host_cols, success, extra))


def test_triage_leaves_what_it_cannot_hold_to_python():
    s = generate(2, 10, notes=False)
    cols = [list(c) for c in _columns(s.atm.transactions, ATM_FIELDS)]
    hcols = _columns(s.host.transactions, HOST_FIELDS)
    cols[4][0] = 10**20  # more than 64 bits of minor units
    args = (cols[0], cols[2], cols[4], cols[5], cols[7], *cols[8:12], frozenset({"00"}),
            hcols[1], hcols[3], hcols[5], hcols[6], [])
    assert NATIVE.triage(*args) is None
    assert NATIVE.triage(*(args[:2] + (tuple(cols[4]),) + args[3:])) is None  # not a list
    cols[4][0] = cols[4][1] = 2**62  # each fits in 64 bits, their sum does not
    for i in (0, 1):
        cols[2][i], cols[5][i], cols[7][i] = "withdrawal", "00", False
    assert NATIVE.triage(cols[0], cols[2], cols[4], cols[5], cols[7], *cols[8:12], frozenset({"00"}),
                         hcols[1], hcols[3], hcols[5], hcols[6], []) is None


def test_a_lazy_trail_of_a_closed_map_says_so(tmp_path):
    path = tmp_path / "atm.json"
    path.write_bytes(_SCENARIO.documents.atm)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        ledger = formats.parse_atm_ledger(mm, str(path), lazy=True)
        inside = list(formats.parse_atm_ledger(mm, str(path), lazy=True).notes)
        host = formats.parse_host_ledger(_SCENARIO.documents.host, "host.json", lazy=True)
        before = formats.result_to_dict(reconcile(ledger, host))
    # the engine needs no banknote record: it still reconciles after the map is closed
    assert formats.result_to_dict(reconcile(ledger, host)) == before
    with pytest.raises(ValueError, match="memory-mapped ledger was closed"):
        list(ledger.notes)
    assert inside == _SCENARIO.atm.notes


def test_note_mismatches_are_found_in_c_as_in_python():
    raw = _SCENARIO.documents.atm
    doc = orjson.loads(raw)
    # one note moved to another transaction, one naming a TSN the ledger lacks
    doc["notes"][3]["tsn"] = doc["transactions"][-1]["tsn"]
    doc["notes"][4]["tsn"] = "NOSUCH"
    raw = orjson.dumps(doc)
    fast = fastpath._native_atm_ledger(raw, "x")
    odd = fast.notes.mismatches_for(fast.transactions)
    assert any(i is None and t == "NOSUCH" for i, t, _f in odd)
    assert sorted(odd, key=repr) == sorted(_python_odd(fast), key=repr)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fastpath, "native", None)
        python = formats.result_to_dict(reconcile(formats.parse_atm_ledger(raw, "x", lazy=True),
                                                  formats.parse_host_ledger(_SCENARIO.documents.host, "x")))
    assert formats.result_to_dict(reconcile(fast, formats.parse_host_ledger(_SCENARIO.documents.host, "x"))) == python


@pytest.mark.parametrize("where", ["transaction", "cash", "note"])
def test_a_number_no_double_can_hold_is_left_to_the_general_reader(where):
    """orjson refuses 1e999 (it overflows a double) even under a key nobody reads; so must C."""
    doc = orjson.loads(_SCENARIO.documents.atm)
    target = {"transaction": doc["transactions"][1], "cash": doc["transactions"][1]["cash"],
              "note": doc["notes"][1]}[where]
    target["vendor_extra"] = 12345
    raw = orjson.dumps(doc).replace(b'"vendor_extra":12345', b'"vendor_extra":1e999')
    assert fastpath._native_atm_ledger(raw, "x") is None
    with pytest.raises(FormatError, match="not valid JSON"):
        formats.parse_atm_ledger(raw, "x")
    ok = orjson.dumps(doc).replace(b'"vendor_extra":12345', b'"vendor_extra":1e99')
    assert fastpath._native_atm_ledger(ok, "x") is not None


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


def test_triage_runs_no_code_of_the_objects_it_is_given():
    """A column holding an object with its own __hash__ could change the lists under C's feet."""
    tsn = ["T%d" % i for i in range(4)]

    class Code(str):
        def __hash__(self):
            tsn.clear()
            return 1

    n = len(tsn)
    args = (tsn, ["withdrawal"] * n, [1] * n, [Code("00"), "00", "00", "00"], [False] * n, [1] * n,
            [0] * n, [0] * n, [0] * n, frozenset({"00"}), [], [], [], [], [])
    assert NATIVE.triage(*args) is None and len(tsn) == 4
    assert NATIVE.triage(*args[:3], ["00"] * n, *args[4:9], {"00"}, *args[10:]) is None  # a set, not frozen
    assert NATIVE.triage(*args[:3], ["00"] * n, *args[4:9], frozenset({"00"}), *args[10:14], [True]) is None


@pytest.mark.parametrize("seed,good", [(1, 0.9), (2, 0.5), (3, 0.97), (4, 0.8)])
def test_differential_fuzz_of_tiny_ledgers(seed, good):
    """tests/domain/ledgerfuzz.py: thousands of odd little ledgers, read both ways."""
    from tests.domain import ledgerfuzz

    stats, findings = ledgerfuzz.run(seed, 2500, good)
    assert findings == []
    # the fuzz must reach both readers' acceptance, or it tests nothing
    assert stats["atm_native"] > 50 and stats["host_native"] > 300
    assert stats["atm_valid"] > stats["atm_native"] // 2
