"""The clearing session as the store keeps it (custodian_app.clearing.recorder), shared by the
wizard and `clear`, against a real SQLite store."""

from __future__ import annotations

import pytest

from custodian_app import clearing
from custodian_app.domain import formats
from custodian_app.domain.generator import generate
from custodian_app.store import open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    s.add_user("alice", "alice-pw-1", "custodian")
    s.add_user("bob", "bob-pw-123", "custodian")
    s.add_user("carol", "carol-pw-1", "supervisor")
    s.add_user("root", "root-pw-12", "administrator")
    yield s
    s.close()


def test_only_a_supervisor_signs_in_as_supervisor(store):
    assert clearing.authenticate(store, "carol", "carol-pw-1", role="supervisor").username == "carol"
    # The store lets only the supervisor role sign off; an administrator must be stopped here,
    # not after the report has been made.
    with pytest.raises(clearing.ClearingError, match="administrator, not a supervisor"):
        clearing.authenticate(store, "root", "root-pw-12", role="supervisor")


def test_a_skip_after_a_count_is_what_a_resumed_clearing_sees(store):
    atm = generate(seed=3, transactions=20, faults="none").atm
    alice = store.authenticate("alice", "alice-pw-1")
    bob = store.authenticate("bob", "bob-pw-123")
    sid = store.open_session(atm.terminal_id, alice, bob).id
    store.record_atm_ledger(sid, formats.dumps(formats.atm_ledger_to_dict(atm)), actor=alice)
    counts = formats.Counts(
        atm.terminal_id, atm.cycle_id, atm.currency, ["alice", "bob"], {u.id: 0 for u in atm.units}
    )
    store.record_counts(sid, formats.dumps(formats.counts_to_dict(counts)), actor=alice)
    store.skip_count(sid, "the retract bin is jammed shut", actor=bob)

    flow = clearing.resume_flow(store, sid)
    assert flow.counts is None
    assert flow.count_skip_reason == "the retract bin is jammed shut"


def test_counts_and_the_backend_taken_on_the_core_wait_for_the_complete_ledger(store):
    """The custodians count and fetch on the ledger's core; the store gets them only after
    the complete ATM ledger, in the order it keeps evidence."""
    import dataclasses

    from custodian_app.domain.flow import ClearingFlow

    scenario = generate(seed=3, transactions=20, faults="none")
    atm = scenario.atm
    users = [store.authenticate("alice", "alice-pw-1"), store.authenticate("bob", "bob-pw-123")]
    flow = ClearingFlow()
    flow.record_sign_in("alice", "bob")
    flow.advance()
    flow.record_atm_status(atm.terminal_id, atm.cycle_id, "open")
    recorder = clearing.SessionRecorder(users=users)
    sid = recorder.sync(store, clearing.snapshot(flow))
    flow.advance()
    flow.record_atm_core(dataclasses.replace(atm, notes=None))
    flow.advance()
    flow.record_counts(dict(scenario.counts.units))
    flow.advance()
    flow.record_host_ledger(scenario.host)
    recorder.sync(store, clearing.snapshot(flow))
    assert store.get_session(sid).state == "signed_in" and store.evidence(sid) == []

    flow.record_atm_ledger(atm)
    recorder.sync(store, clearing.snapshot(flow))
    assert store.get_session(sid).state == "backend_fetched"
    stored = formats.parse_atm_ledger(store.document(sid, "atm-ledger").content, "stored")
    assert len(stored.notes) == len(atm.notes) > 0
    actions = [a.action for a in store.audit_entries(session_id=sid)]
    assert actions.index("atm_read") < actions.index("count_entered") < actions.index("backend_fetched")


def test_an_abandon_on_the_core_alone_still_reaches_the_store(store):
    import dataclasses

    from custodian_app.domain.flow import ClearingFlow

    atm = generate(seed=3, transactions=20, faults="none").atm
    users = [store.authenticate("alice", "alice-pw-1"), store.authenticate("bob", "bob-pw-123")]
    flow = ClearingFlow()
    flow.record_sign_in("alice", "bob")
    flow.advance()
    flow.record_atm_status(atm.terminal_id, atm.cycle_id, "open")
    recorder = clearing.SessionRecorder(users=users)
    sid = recorder.sync(store, clearing.snapshot(flow))
    flow.advance()
    flow.record_atm_core(dataclasses.replace(atm, notes=None))
    flow.record_atm_read_failed("the cable was pulled")
    flow.abandon("the ATM's port is broken")
    recorder.sync(store, clearing.snapshot(flow))
    assert store.get_session(sid).state == "abandoned"


@pytest.mark.parametrize("notes", ["kept", "none", "empty"])
def test_ledger_bytes_are_formats_dumps_byte_for_byte(monkeypatch, notes):
    import dataclasses

    from custodian_app.clearing import steps

    monkeypatch.setattr(steps, "_PIECE", 7)  # many pieces, and a last one that is short
    atm = generate(seed=5, transactions=40, faults="realistic").atm
    assert atm.retained_cards or notes != "kept"  # the rev-2 list after the pieces is covered
    if notes != "kept":
        atm = dataclasses.replace(atm, notes=None if notes == "none" else [])
    assert steps.ledger_bytes(atm) == formats.dumps(formats.atm_ledger_to_dict(atm))


def test_the_wizard_s_ledger_goes_to_the_store_with_its_bytes_and_is_not_parsed_again(store, monkeypatch):
    from custodian_app.domain.flow import ClearingFlow

    atm = generate(seed=3, transactions=20, faults="none").atm
    users = [store.authenticate("alice", "alice-pw-1"), store.authenticate("bob", "bob-pw-123")]
    flow = ClearingFlow()
    flow.record_sign_in("alice", "bob")
    flow.advance()
    flow.record_atm_status(atm.terminal_id, atm.cycle_id, "closed")
    recorder = clearing.SessionRecorder(users=users)
    sid = recorder.sync(store, clearing.snapshot(flow))
    flow.advance()
    flow.record_atm_ledger(atm)
    with monkeypatch.context() as mp:
        mp.setattr(formats, "parse_atm_ledger", lambda *a, **k: pytest.fail("parsed again"))
        recorder.sync(store, clearing.snapshot(flow))
    assert store.get_session(sid).state == "atm_read"
    stored = formats.parse_atm_ledger(store.document(sid, "atm-ledger").content, "stored")
    assert stored == atm


def _reconciled(store, recorder, scenario):
    from custodian_app.domain.flow import ClearingFlow

    atm = scenario.atm
    flow = ClearingFlow()
    flow.record_sign_in("alice", "bob")
    flow.advance()
    flow.record_atm_status(atm.terminal_id, atm.cycle_id, "closed")
    sid = recorder.sync(store, clearing.snapshot(flow))
    flow.advance()
    flow.record_atm_ledger(atm)
    flow.advance()
    flow.record_counts(dict(scenario.counts.units))
    flow.advance()
    flow.record_host_ledger(scenario.host)
    flow.advance()
    flow.record_result(clearing.reconcile_flow(flow, None))
    recorder.sync(store, clearing.snapshot(flow))
    assert store.get_session(sid).state == "reconciled"
    return flow, sid


def test_the_draft_s_fingerprint_is_computed_from_the_ledger_bytes_the_store_was_given(store, monkeypatch):
    from custodian_app.clearing import recorder as recorder_mod
    from custodian_app.clearing.steps import Evidence

    written = []
    real = recorder_mod.ledger_bytes
    monkeypatch.setattr(recorder_mod, "ledger_bytes", lambda ledger: written.append(ledger) or real(ledger))
    kept = []
    real_record = store.record_atm_ledger
    monkeypatch.setattr(
        store, "record_atm_ledger", lambda sid, data, **k: kept.append(data) or real_record(sid, data, **k)
    )
    users = [store.authenticate("alice", "alice-pw-1"), store.authenticate("bob", "bob-pw-123")]
    recorder = clearing.SessionRecorder(users=users)
    flow, sid = _reconciled(store, recorder, generate(seed=4, transactions=30, faults="realistic"))
    evidence = Evidence(flow, atm_bytes=recorder.atm_bytes(flow.atm))
    assert evidence.atm is kept[0]  # the very bytes, not written again
    assert written == [flow.atm]
    assert evidence.sha256 == store.get_session(sid).evidence_digest


def test_a_journal_read_s_draft_fingerprint_is_the_store_s_digest(store):
    """A ledger read from journal files is kept with its ``source``; the report's fingerprint
    is computed from those same bytes, so it is the digest the store recorded."""
    from custodian_app.clearing.steps import Evidence

    users = [store.authenticate("alice", "alice-pw-1"), store.authenticate("bob", "bob-pw-123")]
    recorder = clearing.SessionRecorder(users=users)
    recorder.atm_source = {"kind": "atm-journal", "dialect": "demo", "gaps": [], "notes_without_tsn": 0}
    flow, sid = _reconciled(store, recorder, generate(seed=4, transactions=30, faults="realistic"))
    digest = store.get_session(sid).evidence_digest
    assert b'"source"' in store.document(sid, "atm-ledger").content
    assert Evidence(flow, atm_bytes=recorder.atm_bytes(flow.atm)).sha256 == digest
    assert Evidence(flow).sha256 != digest  # what the draft printed when it wrote the ledger again


def test_a_session_read_from_journal_files_resumes_as_one(store):
    """The audit log says the ledger came from the ATM's journal files: the resumed flow knows
    it, so a signed session ends at the report instead of asking for the cable's exchange."""
    atm = generate(seed=3, transactions=20, faults="none").atm
    alice = store.authenticate("alice", "alice-pw-1")
    bob = store.authenticate("bob", "bob-pw-123")
    sid = store.open_session(atm.terminal_id, alice, bob).id
    store.record_atm_ledger(sid, formats.dumps(formats.atm_ledger_to_dict(atm)), actor=alice)
    assert not clearing.resume_flow(store, sid).atm_from_journal
    store.log("atm_journal_read", actor="alice", session_id=sid, detail={"dialect": "ncr"})
    assert clearing.resume_flow(store, sid).atm_from_journal
