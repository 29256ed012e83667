"""Tampering with a clearing's own rows — consistently among themselves, so that the documents'
SHA-256 and the evidence digest still agree — is caught by ``session verify``, because it
compares them with what the audit chain recorded (issue 18). Each on both databases."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from custodian_app.domain.evidence import evidence_digest
from tests.store.documents import PDF, make_clearing
from tests.store.documents import drop_guards as _drop_guards


@pytest.fixture
def closed(store, crew):
    """A clearing taken through every step to the end, with a remark; the guards dropped."""
    c = make_clearing("NJ-0001")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    store.record_counts(s.id, c.counts, actor=crew.bob)
    store.record_host_ledger(s.id, c.host, actor=crew.alice)
    store.record_result(s.id, c.result, actor=crew.alice)
    store.add_remark(s.id, "RETRACTED", "000101", "checked with the retract bin", actor=crew.bob)
    store.mark_reviewed(s.id, actor=crew.bob)
    store.record_report(s.id, PDF, actor=crew.alice)
    store.sign_off(s.id, crew.carol)
    store.start_new_cycle(s.id, "NJ-0001-20261122", actor=crew.alice)
    store.close_session(s.id, actor=crew.alice)
    assert store.verify_session(s.id).ok and store.verify_audit().ok
    _drop_guards(store)
    return s.id, c


def _sql(store, statement: str, **params) -> None:
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def _user_id(store, name: str) -> int:
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT id FROM users WHERE username = :n"), {"n": name}).scalar()


def rewrite_result(store, sid, c):
    """The issue's case: the stored result turned from one verdict to the other, with its
    SHA-256, its size, the evidence digest and the outcome column made to match."""
    forged = c.result.replace(b'"balanced":true', b'"balanced":false', 1)
    assert forged != c.result
    digest = evidence_digest(c.atm, c.host, c.counts, forged)
    _sql(
        store,
        "UPDATE evidence SET content = :c, sha256 = :h, size = :n "
        "WHERE session_id = :s AND kind = 'clearing-result'",
        c=forged,
        h=hashlib.sha256(forged).hexdigest(),
        n=len(forged),
        s=sid,
    )
    _sql(
        store,
        "UPDATE clearing_sessions SET evidence_digest = :d, balanced = :b WHERE id = :s",
        d=digest,
        b=False,
        s=sid,
    )


def outcome_columns(store, sid, c):
    _sql(
        store, "UPDATE clearing_sessions SET mismatch_count = 3, cash_difference = 10000 WHERE id = :s", s=sid
    )


def balanced_column(store, sid, c):
    _sql(store, "UPDATE clearing_sessions SET balanced = :b WHERE id = :s", b=False, s=sid)


def custodians(store, sid, c):
    _sql(
        store,
        "UPDATE clearing_sessions SET custodian_b_id = :u WHERE id = :s",
        u=_user_id(store, "dave"),
        s=sid,
    )


def supervisor(store, sid, c):
    _sql(
        store,
        "UPDATE clearing_sessions SET supervisor_id = :u WHERE id = :s",
        u=_user_id(store, "root"),
        s=sid,
    )


def reopened(store, sid, c):
    _sql(store, "UPDATE clearing_sessions SET state = 'reviewed', ended_at = NULL WHERE id = :s", s=sid)


def transition_actor(store, sid, c):
    _sql(
        store,
        "UPDATE session_transitions SET actor_id = :u WHERE session_id = :s AND to_state = 'reviewed'",
        u=_user_id(store, "dave"),
        s=sid,
    )


def remark(store, sid, c):
    _sql(store, "UPDATE remarks SET text = 'nothing to see' WHERE session_id = :s", s=sid)


def banknote_serial(store, sid, c):
    _sql(
        store,
        "UPDATE banknotes SET serial = 'ZZ99999999' WHERE id = "
        "(SELECT min(id) FROM banknotes WHERE session_id = :s)",
        s=sid,
    )


@pytest.mark.parametrize(
    "tamper, words",
    [
        (rewrite_result, "clearing-result document(s) are not the ones the audit log recorded"),
        (outcome_columns, "mismatches"),
        (balanced_column, "balanced"),
        (custodians, "custodians"),
        (supervisor, "supervisor"),
        (reopened, "a finished clearing reopened"),
        (transition_actor, "steps and who took them"),
        (remark, "remarks are not the ones the audit log recorded"),
        (banknote_serial, "banknote records"),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_consistent_tampering_of_a_session_is_caught(store, closed, tamper, words):
    sid, c = closed
    tamper(store, sid, c)
    assert store.verify_audit().ok  # the chain itself was not touched
    check = store.verify_session(sid)
    assert not check.ok
    assert any(words in p for p in check.problems), check.problems
