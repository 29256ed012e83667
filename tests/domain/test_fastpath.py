"""The readers' fast path must mean exactly what the general reader means: the same objects
for valid documents, and for anything else it steps aside so the general reader can name the
fault."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from custodian_app.domain import fastpath, formats
from custodian_app.domain.formats import FormatError
from custodian_app.domain.generator import generate
from custodian_app.domain.reconcile import note_flows_of, reconcile
from tests.domain.builders import mutate

# every test here runs with the C accelerator and in pure Python (see conftest.py)
pytestmark = pytest.mark.usefixtures("engine")


_SCENARIO = generate(21, 80, "all", keep_documents=True)


@pytest.fixture(scope="module")
def scenario():
    return _SCENARIO


def general(data: bytes, parse):
    """The general reader alone (a dict never takes the fast path)."""
    return parse(orjson.loads(data), "x")


@pytest.mark.parametrize("layout", ["generator", "compact", "indented"])
def test_fast_and_general_readers_agree(scenario, layout):
    atm_doc = formats.atm_ledger_to_dict(scenario.atm)
    host_doc = formats.host_ledger_to_dict(scenario.host)
    if layout == "generator":
        atm_b, host_b = scenario.documents.atm, scenario.documents.host
    else:
        atm_b, host_b = formats.dumps(atm_doc, indent=layout == "indented"), formats.dumps(host_doc, indent=layout == "indented")
    fast_atm = fastpath.parse_atm_ledger(atm_b, "x")
    fast_host = fastpath.parse_host_ledger(host_b, "x")
    if layout != "indented":  # the indented layout is not the fast path's business
        assert isinstance(fast_atm.transactions, fastpath.AtmTransactions)
        assert isinstance(fast_atm.notes, fastpath.NoteTrail)
        assert isinstance(fast_host.transactions, fastpath.HostTransactions)
        assert fast_atm.notes.flows_by_tsn() == note_flows_of(general(atm_b, formats.parse_atm_ledger).notes)
    atm = formats.parse_atm_ledger(atm_b, "x")
    host = formats.parse_host_ledger(host_b, "x")
    assert type(atm.transactions) is list and type(atm.notes) is list and type(host.transactions) is list
    lazy_atm = formats.parse_atm_ledger(atm_b, "x", lazy=True)
    lazy_host = formats.parse_host_ledger(host_b, "x", lazy=True)
    assert formats.result_to_dict(reconcile(lazy_atm, lazy_host)) == formats.result_to_dict(reconcile(atm, host))
    assert atm == general(atm_b, formats.parse_atm_ledger)
    assert host == general(host_b, formats.parse_host_ledger)
    assert formats.result_to_dict(reconcile(atm, host)) == formats.result_to_dict(reconcile(scenario.atm, scenario.host))


def test_lazy_records_behave_like_lists(scenario):
    atm = formats.parse_atm_ledger(scenario.documents.atm, "x", lazy=True)
    n = len(atm.transactions)
    assert atm.transactions.columns is not None
    first = atm.transactions[0]
    assert atm.transactions.columns is None and len(atm.transactions) == n
    assert first == scenario.atm.transactions[0] and list(atm.transactions) == scenario.atm.transactions
    notes = atm.notes
    k = len(notes)
    del notes[0]  # a changed trail is counted again, not taken from the reader's count
    assert len(notes) == k - 1 and notes.flows_by_tsn() is None
    result = reconcile(atm, formats.parse_host_ledger(scenario.documents.host, "x", lazy=True))
    assert sum(m.category == "NOTE_FLOW_MISMATCH" for m in result.mismatches) >= 1


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.floats(0, 1), st.sampled_from(["replace", "delete", "insert"]),
       st.sampled_from(list(b'"{}[],:\n 0aAZ?-.9\x00\\') + [0xE4]))
def test_mutated_bytes_fast_path_never_accepts_what_the_general_reader_refuses(where, op, byte):
    # one byte anywhere after the header: replaced, deleted or inserted
    raw = mutate(_SCENARIO.documents.atm, where, op, byte, skip=200)
    fast = fastpath.parse_atm_ledger(raw, "x")
    try:
        slow = formats.parse_atm_ledger(raw.decode("utf-8", "strict"), "x")  # str: the general reader
    except (FormatError, UnicodeDecodeError):
        assert fast is None
        return
    if fast is not None:
        # the reader's own count first: looking at the records discards it
        flows = fast.notes.flows_by_tsn() if fast.notes is not None else None
        assert fast == slow
        if slow.notes is not None:
            assert flows == note_flows_of(slow.notes)


def test_bad_bytes_still_get_the_general_readers_message(scenario):
    raw = scenario.documents.atm.replace(b'"event":"taken"', b'"event":"token"', 1)
    with pytest.raises(FormatError, match=r"\$\.notes\[\d+\]\.event: expected one of taken"):
        formats.parse_atm_ledger(raw, "atm.json")
    raw = scenario.documents.atm.replace(b'"serial":"', b'"serial":"a', 1)
    with pytest.raises(FormatError, match=r"\$\.notes\[0\]\.serial"):
        formats.parse_atm_ledger(raw, "atm.json")


@pytest.mark.parametrize("field", ["tsn", "time", "card"])
def test_an_escaped_newline_cannot_make_one_value_pass_as_two(field):
    s = generate(3, 5, notes=False, keep_documents=True)
    doc = orjson.loads(s.documents.atm)
    t = doc["transactions"][0]
    t[field] = t[field] + "\n" + doc["transactions"][1][field]
    raw = orjson.dumps(doc)
    assert b"\\n" in raw
    assert fastpath.parse_atm_ledger(raw, "x") is None
    with pytest.raises(FormatError, match=rf"\$\.transactions\[0\]\.{field}"):
        formats.parse_atm_ledger(raw, "x")
    host = orjson.loads(s.documents.host)
    host["transactions"][0][field] = host["transactions"][0][field] + "\n" + host["transactions"][1][field]
    assert fastpath.parse_host_ledger(orjson.dumps(host), "x") is None


def test_a_memory_mapped_ledger_reads_like_bytes_and_closes_cleanly(tmp_path):
    import mmap

    s = generate(5, 40, "all", keep_documents=True)
    good, bad = tmp_path / "atm.json", tmp_path / "bad.json"
    good.write_bytes(s.documents.atm)
    bad.write_bytes(s.documents.atm.replace(b'"type":"withdrawal"', b'"type":"transfer"', 1))
    with open(good, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        atm = formats.parse_atm_ledger(mm, str(good))
    assert atm == s.atm
    with open(bad, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        with pytest.raises(FormatError, match=r"\$\.transactions\[\d+\]\.type"):
            formats.parse_atm_ledger(mm, str(bad))
        with pytest.raises(FormatError):
            formats.parse_host_ledger(mm, str(bad))  # the general reader reads a mapped file too
