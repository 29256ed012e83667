"""Clearing sessions: the flow's states, resumption after a crash, evidence, dual custody, the
per-terminal lock, masked cards only."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from custodian_app.domain.evidence import evidence_digest
from custodian_app.store import (
    CardNumberRefused,
    CustodyError,
    EvidenceError,
    InvalidTransition,
    StoreError,
    TerminalBusy,
    open_store,
)
from tests.store.conftest import CHEAP_HASHER, PASSWORD
from tests.store.documents import PDF, make_clearing, run_to_reconciled


def test_a_clearing_goes_through_every_step_and_records_who_and_when(store, crew):
    info, c = run_to_reconciled(store, crew)
    assert info.state == "reconciled" and info.balanced and info.mismatch_count == 0
    assert info.cycle_id == "NJ-0001-20261120"
    store.add_remark(info.id, "RETRACTED", "000002", "customer called, refund agreed", actor=crew.bob)
    store.mark_reviewed(info.id, actor=crew.bob)
    store.record_report(info.id, PDF, actor=crew.alice)
    store.sign_off(info.id, crew.carol)
    store.start_new_cycle(info.id, "NJ-0001-20261122", actor=crew.alice)
    done = store.close_session(info.id, actor=crew.alice)
    assert done.state == "closed" and done.ended_at is not None
    assert done.supervisor == "carol" and done.new_cycle_id == "NJ-0001-20261122"
    steps = store.transitions(info.id)
    assert [(t.from_state, t.to_state, t.actor) for t in steps] == [
        (None, "signed_in", "alice"),
        ("signed_in", "atm_read", "alice"),
        ("atm_read", "counted", "bob"),
        ("counted", "backend_fetched", "alice"),
        ("backend_fetched", "reconciled", "alice"),
        ("reconciled", "reviewed", "bob"),
        ("reviewed", "signed", "carol"),
        ("signed", "new_cycle_started", "alice"),
        ("new_cycle_started", "closed", "alice"),
    ]
    assert all(t.host == "BRANCH-PC-1" and t.at.tzinfo is not None for t in steps)
    assert [r.text for r in store.remarks(info.id)] == ["customer called, refund agreed"]
    actions = [e.action for e in store.audit_entries(session_id=info.id)]
    assert actions == [
        "session_opened",
        "atm_read",
        "count_entered",
        "backend_fetched",
        "reconciled",
        "remark",
        "reviewed",
        "report_printed",
        "signed_off",
        "new_cycle_started",
        "session_closed",
    ]
    # The ATM is free again.
    assert store.open_session("NJ-0001", crew.alice, crew.bob).state == "signed_in"


def test_steps_out_of_order_are_refused(store, crew):
    c = make_clearing()
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(InvalidTransition, match="'signed_in'.*'counted'"):
        store.record_counts(s.id, c.counts, actor=crew.alice)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    with pytest.raises(InvalidTransition, match="ATM ledger|atm_read"):
        store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    store.record_host_ledger(s.id, c.host, actor=crew.alice)
    with pytest.raises(InvalidTransition, match="counts, or skip the count"):
        store.record_result(s.id, c.result, actor=crew.alice)
    with pytest.raises(InvalidTransition):
        store.sign_off(s.id, crew.carol)
    with pytest.raises(InvalidTransition):
        store.close_session(s.id, actor=crew.alice)
    assert store.get_session(s.id).state == "backend_fetched"


def test_a_recount_after_the_result_is_allowed_and_keeps_both_counts(store, crew):
    info, c = run_to_reconciled(store, crew)
    store.record_counts(info.id, c.counts.replace(b'"counted_by"', b'"counted_by" '), actor=crew.bob)
    again = store.record_result(info.id, c.result, actor=crew.alice)
    versions = [(d.kind, d.version) for d in store.evidence(info.id, "counts", all_versions=True)]
    assert versions == [("counts", 1), ("counts", 2)]
    assert again.evidence_digest != info.evidence_digest


def test_a_skipped_count_needs_and_keeps_its_reason(store, crew):
    info, c = run_to_reconciled(store, crew, count=False)
    assert info.count_skip_reason == "cash sealed for the cash centre"
    assert info.evidence_digest == evidence_digest(c.atm, c.host, None, c.result)
    assert ("atm_read", "counted", "bob") in [
        (t.from_state, t.to_state, t.actor) for t in store.transitions(info.id)
    ]
    with pytest.raises(StoreError, match="say why"):
        store.skip_count(info.id, "  ", actor=crew.alice)
    skipped = [e for e in store.audit_entries(session_id=info.id) if e.action == "count_skipped"]
    assert skipped[0].detail == {"reason": "cash sealed for the cash centre"}


def test_the_latest_count_decision_wins(store, crew):
    info, c = run_to_reconciled(store, crew)  # counted
    assert info.evidence_digest == evidence_digest(c.atm, c.host, c.counts, c.result)
    # Back to the count step: skip instead; the counts stay stored but leave the evidence.
    assert store.skip_count(info.id, "recount impossible, bin sealed", actor=crew.bob).state == "counted"
    again = store.record_result(info.id, c.result, actor=crew.alice)
    assert again.evidence_digest == evidence_digest(c.atm, c.host, None, c.result)
    assert store.verify_session(info.id).ok
    # And counted after all: the skip is gone, the newest counts are the evidence.
    store.record_counts(info.id, c.counts, actor=crew.bob)
    final = store.record_result(info.id, c.result, actor=crew.alice)
    assert final.count_skip_reason is None
    assert final.evidence_digest == evidence_digest(c.atm, c.host, c.counts, c.result)
    assert [d.version for d in store.evidence(info.id, "counts", all_versions=True)] == [1, 2]


def test_going_back_as_the_wizard_allows(store, crew):
    info, c = run_to_reconciled(store, crew)
    store.mark_reviewed(info.id, actor=crew.alice)
    # From the report back to the backend step: the ledger is imported again, then reconciled.
    assert store.record_host_ledger(info.id, c.host, actor=crew.alice).state == "backend_fetched"
    store.record_result(info.id, c.result, actor=crew.alice)
    store.mark_reviewed(info.id, actor=crew.alice)
    # A count corrected twice in a row.
    store.record_counts(info.id, c.counts, actor=crew.bob)
    assert store.record_counts(info.id, c.counts, actor=crew.bob).state == "counted"
    store.record_result(info.id, c.result, actor=crew.alice)
    store.mark_reviewed(info.id, actor=crew.alice)
    store.sign_off(info.id, crew.carol)
    # Once signed, nothing goes back.
    with pytest.raises(InvalidTransition):
        store.record_counts(info.id, c.counts, actor=crew.bob)
    with pytest.raises(InvalidTransition):
        store.skip_count(info.id, "too late", actor=crew.bob)


def test_a_crash_mid_clearing_loses_nothing_and_the_session_resumes(db_url, crew, store):
    c = make_clearing()
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    store.record_counts(s.id, c.counts, actor=crew.bob)
    store.engine.dispose()  # the PC loses power: no clean shutdown, no pending work kept

    reopened = open_store(db_url, hasher=CHEAP_HASHER, host="BRANCH-PC-2")
    try:
        waiting = reopened.resumable_sessions(terminal_id="NJ-0001")
        assert [(w.id, w.state) for w in waiting] == [(s.id, "counted")]
        assert waiting[0].documents == ("atm-ledger", "counts")
        alice = reopened.authenticate("alice", PASSWORD)
        bob = reopened.authenticate("bob", PASSWORD)
        with pytest.raises(CustodyError, match="other custodians"):
            reopened.resume_session(s.id, alice, reopened.authenticate("dave", PASSWORD))
        resumed = reopened.resume_session(s.id, bob, alice)
        assert resumed.host == "BRANCH-PC-2" and resumed.state == "counted"
        assert reopened.document(s.id, "atm-ledger").content == c.atm
        reopened.record_host_ledger(s.id, c.host, actor=alice)
        assert reopened.record_result(s.id, c.result, actor=bob).state == "reconciled"
        assert reopened.resumable_sessions(host="BRANCH-PC-1") == []
        assert reopened.verify_audit().ok
    finally:
        reopened.close()


def test_dual_custody_needs_two_different_signed_in_custodians(store, crew):
    with pytest.raises(CustodyError, match="two different custodians"):
        store.open_session("NJ-0001", crew.alice, crew.alice)
    with pytest.raises(CustodyError, match="custodian role; 'carol' is supervisor"):
        store.open_session("NJ-0001", crew.alice, crew.carol)
    with pytest.raises(CustodyError, match="sign in first"):
        store.open_session("NJ-0001", crew.alice, store.get_user("bob"))
    store.disable_user("bob")
    with pytest.raises(CustodyError, match="disabled"):
        store.open_session("NJ-0001", crew.alice, crew.bob)
    assert store.resumable_sessions() == []


def test_the_supervisor_who_signs_is_a_third_person_with_the_supervisor_role(store, crew):
    info, _ = run_to_reconciled(store, crew)
    store.mark_reviewed(info.id, actor=crew.alice)
    with pytest.raises(CustodyError, match="supervisor role"):
        store.sign_off(info.id, crew.dave)
    with pytest.raises(CustodyError, match="supervisor role"):
        store.sign_off(info.id, crew.alice)
    # Even a supervisor account cannot sign a clearing it did as a custodian: the database
    # refuses it too (check constraint), whatever the code above it does.
    with pytest.raises(IntegrityError, match="supervisor_third_person"), store.engine.begin() as conn:
        conn.execute(text("UPDATE clearing_sessions SET supervisor_id = custodian_a_id"))
    with pytest.raises(CustodyError, match="one of its custodians"):
        store.mark_reviewed(info.id, actor=crew.dave)
    assert store.sign_off(info.id, crew.carol).state == "signed"
    with pytest.raises(InvalidTransition):
        store.abandon_session(info.id, "changed my mind", actor=crew.carol)


def test_one_open_clearing_per_terminal_and_the_refusal_names_who_holds_it(db_url, store, crew):
    first = store.open_session("NJ-0001", crew.alice, crew.bob)
    other_pc = open_store(db_url, hasher=CHEAP_HASHER, host="BRANCH-PC-2")
    try:
        dave = other_pc.authenticate("dave", PASSWORD)
        bob = other_pc.authenticate("bob", PASSWORD)
        with pytest.raises(TerminalBusy) as busy:
            other_pc.open_session("NJ-0001", dave, bob)
        message = str(busy.value)
        assert busy.value.session_id == first.id and busy.value.host == "BRANCH-PC-1"
        assert "Alice Wang and Bob Li" in message and "BRANCH-PC-1" in message
        assert first.opened_at.strftime("%Y-%m-%d %H:%M UTC") in message
        # Another ATM is free.
        assert other_pc.open_session("NJ-0002", dave, bob).terminal_id == "NJ-0002"
        store.abandon_session(first.id, "ATM out of service", actor=crew.carol)
        assert other_pc.open_session("NJ-0001", dave, bob).host == "BRANCH-PC-2"
    finally:
        other_pc.close()


def test_the_database_itself_refuses_a_second_open_clearing(store, crew):
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(Exception, match="(?i)unique"), store.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clearing_sessions (terminal_id, state, custodian_a_id, custodian_b_id,"
                " host, opened_at, updated_at) SELECT terminal_id, 'counted', custodian_a_id, "
                "custodian_b_id, 'ROGUE-PC', opened_at, updated_at FROM clearing_sessions "
                "WHERE id = :id"
            ),
            {"id": s.id},
        )


def test_full_card_numbers_never_reach_the_database(store, crew):
    c = make_clearing()
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    full = c.atm.replace(b"622202******1001", b"6222021234561001", 1)
    with pytest.raises(EvidenceError, match="masked") as refused:
        store.record_atm_ledger(s.id, full, actor=crew.alice)
    assert "6222021234561001" not in str(refused.value)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    with pytest.raises(CardNumberRefused):
        store.add_remark(s.id, "RETRACTED", "000001", "card 6222 0212 3456 1004 kept", actor=crew.bob)
    with pytest.raises(CardNumberRefused):
        store.abandon_session(s.id, "customer 4111111111111111 complained", actor=crew.bob)
    # A 12-digit backend reference is not a card number.
    store.add_remark(s.id, "RETRACTED", "000001", "backend ref 632409000117", actor=crew.bob)
    with store.engine.connect() as conn:
        dump = " ".join(
            str(r)
            for t in ("remarks", "audit_log", "clearing_sessions", "banknotes")
            for r in conn.execute(text(f"SELECT * FROM {t}"))
        )
    assert "6222021234561001" not in dump and "4111111111111111" not in dump


def test_abandoning_needs_a_reason_and_frees_the_terminal(store, crew):
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(StoreError, match="say why"):
        store.abandon_session(s.id, "", actor=crew.alice)
    gone = store.abandon_session(s.id, "ATM jammed, engineer called", actor=crew.alice)
    assert gone.state == "abandoned" and gone.abandon_reason == "ATM jammed, engineer called"
    assert not gone.is_open and store.resumable_sessions() == []
    with pytest.raises(InvalidTransition):
        store.record_atm_ledger(s.id, make_clearing().atm, actor=crew.alice)


def test_history_lists_clearings_newest_first(store, crew):
    a, _ = run_to_reconciled(store, crew, "NJ-0001")
    store.abandon_session(a.id, "test run", actor=crew.alice)
    b = store.open_session("NJ-0002", crew.alice, crew.bob)
    assert [h.id for h in store.history()] == [b.id, a.id]
    assert [h.id for h in store.history(terminal_id="NJ-0001")] == [a.id]


def test_a_sign_in_is_proof_of_presence_for_a_limited_time(clocked_store):
    store = clocked_store
    store.add_user("alice", PASSWORD, "custodian")
    store.add_user("bob", PASSWORD, "custodian")
    alice, bob = store.authenticate("alice", PASSWORD), store.authenticate("bob", PASSWORD)
    store.clock.advance(hours=13)
    with pytest.raises(CustodyError, match="must sign in again"):
        store.open_session("NJ-0001", alice, bob)
    bob = store.authenticate("bob", PASSWORD)
    alice = store.authenticate("alice", PASSWORD)
    assert store.open_session("NJ-0001", alice, bob).state == "signed_in"


def test_if_the_check_were_skipped_the_index_still_refuses_and_names_the_holder(store, crew, monkeypatch):
    from custodian_app.store.service import Store

    first = store.open_session("NJ-0001", crew.alice, crew.bob)
    real = Store._refuse_if_busy
    calls = []

    def blind_first_time(self, s, terminal_id):
        calls.append(terminal_id)
        if len(calls) > 1:  # the check after the database refused
            real(self, s, terminal_id)

    monkeypatch.setattr(Store, "_refuse_if_busy", blind_first_time)
    with pytest.raises(TerminalBusy) as busy:
        store.open_session("NJ-0001", crew.dave, crew.bob)
    assert busy.value.session_id == first.id and len(calls) == 2
    assert [s.id for s in store.resumable_sessions(terminal_id="NJ-0001")] == [first.id]
