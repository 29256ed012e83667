"""Evidence: the documents of a clearing kept byte for byte, checked, and refused whole when
they are not of this clearing; reprints kept as such."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from custodian_app.domain.evidence import evidence_digest
from custodian_app.store import EvidenceError
from tests.store.documents import PDF, drop_guards, make_clearing, run_to_reconciled


def test_evidence_is_kept_byte_for_byte_with_its_sha256(store, crew):
    info, c = run_to_reconciled(store, crew)
    docs = {d.kind: d for d in store.evidence(info.id)}
    for kind, data in (
        ("atm-ledger", c.atm),
        ("host-ledger", c.host),
        ("counts", c.counts),
        ("clearing-result", c.result),
    ):
        assert docs[kind].content == data
        assert docs[kind].sha256 == hashlib.sha256(data).hexdigest() and docs[kind].size == len(data)
    assert info.evidence_digest == evidence_digest(c.atm, c.host, c.counts, c.result)
    assert store.verify_session(info.id).ok


def test_stored_evidence_cannot_be_changed_and_a_forced_change_is_detected(store, crew):
    info, c = run_to_reconciled(store, crew)
    with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
        conn.execute(text("UPDATE evidence SET content = :c WHERE kind = 'counts'"), {"c": b"{}"})
    assert store.verify_session(info.id).ok
    # Someone with full database rights drops the guard and edits the counts.
    drop_guards(store)
    with store.engine.begin() as conn:
        conn.execute(
            text("UPDATE evidence SET content = :c WHERE kind = 'counts'"),
            {"c": c.counts.replace(b"199400.00", b"199300.00")},
        )
    check = store.verify_session(info.id)
    assert not check.ok
    assert any("counts version 1 does not match" in p for p in check.problems)
    assert any("evidence digest recomputed" in p for p in check.problems)


def test_documents_of_another_clearing_or_invalid_ones_are_refused_whole(store, crew):
    c = make_clearing("NJ-0001")
    other = make_clearing("NJ-0001", cycle="NJ-0001-OTHER")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(EvidenceError, match="terminal NJ-0002"):
        store.record_atm_ledger(s.id, make_clearing("NJ-0002").atm, actor=crew.alice)
    with pytest.raises(EvidenceError, match="not valid"):
        store.record_atm_ledger(s.id, c.atm[:-20], actor=crew.alice)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    with pytest.raises(EvidenceError, match="cycle_id"):
        store.record_host_ledger(s.id, other.host, actor=crew.alice)
    assert store.get_session(s.id).documents == ("atm-ledger",)


def test_reprints_are_kept_and_audited_as_such(store, crew):
    info, _ = run_to_reconciled(store, crew)
    with pytest.raises(EvidenceError, match="not a PDF"):
        store.record_report(info.id, b"hello", actor=crew.alice)
    first = store.record_report(info.id, PDF, actor=crew.alice)
    second = store.record_report(info.id, PDF + b"% reprint\n", actor=crew.carol)
    assert (first.version, second.version) == (1, 2)
    actions = [e.action for e in store.audit_entries(session_id=info.id)][-2:]
    assert actions == ["report_printed", "reprint"]
    assert store.verify_session(info.id, pdf=PDF).pdf_version == 1
    assert not store.verify_session(info.id, pdf=PDF + b"x").ok
