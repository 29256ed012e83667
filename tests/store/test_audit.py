"""The audit chain verifies, and detects an edited entry, a deleted one and a deleted tail."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from tests.store.documents import drop_guards, run_to_reconciled


@pytest.fixture
def logged(store, crew):
    """A store with a real clearing's worth of audit entries, guards dropped for tampering."""
    run_to_reconciled(store, crew)
    entries = store.audit_entries()
    assert len(entries) >= 12
    drop_guards(store)
    return store, entries


def _sql(store, statement, **params):
    with store.engine.begin() as conn:
        conn.execute(text(statement), params)


def test_an_untouched_chain_verifies(logged):
    store, entries = logged
    result = store.verify_audit()
    assert result.ok and result.entries == len(entries) and result.last_seq == entries[-1].seq
    assert entries[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.entry_hash for a, b in zip(entries, entries[1:], strict=False))


def test_an_edited_entry_is_detected(logged):
    store, entries = logged
    victim = next(e for e in entries if e.action == "count_entered")
    _sql(store, "UPDATE audit_log SET actor = 'dave' WHERE seq = :s", s=victim.seq)
    result = store.verify_audit()
    assert not result.ok
    assert result.problems == [
        f"entry {victim.seq} (count_entered): content does not match its hash (the entry was changed)"
    ]


def test_an_edit_that_rehashes_the_entry_breaks_the_next_link(logged):
    store, entries = logged
    from custodian_app.store.audit import entry_hash

    v = entries[3]
    forged = entry_hash(
        seq=v.seq,
        at=v.at,
        actor="dave",
        action=v.action,
        session_id=v.session_id,
        terminal_id=v.terminal_id,
        host=v.host,
        detail=store_detail(store, v.seq),
        prev_hash=v.prev_hash,
    )
    _sql(store, "UPDATE audit_log SET actor = 'dave', entry_hash = :h WHERE seq = :s", h=forged, s=v.seq)
    problems = store.verify_audit().problems
    assert any(f"entry {v.seq + 1}: link to the previous entry broken" in p for p in problems)


def store_detail(store, seq):
    with store.engine.connect() as conn:
        return conn.execute(text("SELECT detail FROM audit_log WHERE seq = :s"), {"s": seq}).scalar()


def test_a_deleted_entry_is_detected(logged):
    store, entries = logged
    _sql(store, "DELETE FROM audit_log WHERE seq = 5")
    problems = store.verify_audit().problems
    assert "entry 5 missing (deleted): the log jumps to entry 6" in problems
    assert any("entry 6: link to the previous entry broken" in p for p in problems)


def test_a_deleted_last_entry_is_detected(logged):
    store, entries = logged
    last = entries[-1].seq
    _sql(store, "DELETE FROM audit_log WHERE seq = :s", s=last)
    problems = store.verify_audit().problems
    assert problems == [
        f"the head names entry {last} but the log ends at entry {last - 1}: the last entries were deleted"
    ]


def test_a_deleted_head_is_detected_and_writes_stop(logged):
    store, entries = logged
    _sql(store, "DELETE FROM audit_head")
    assert store.verify_audit().problems == ["the chain head record is missing (deleted)"]
    with pytest.raises(Exception, match="audit chain's head record is missing"):
        store.log("export", actor="root")


def test_entries_never_carry_secrets_or_card_numbers(store):
    record = store.log(
        "export", actor="root", detail={"note": "card 6222021234561004 asked", "folder": "bundle-1"}
    )
    assert "6222021234561004" not in record.detail["note"]
    for key in ("password", "api_token", "Secret"):
        with pytest.raises(ValueError, match="must not carry"):
            store.log("export", actor="root", detail={key: "x"})
    with pytest.raises(TypeError, match="floats"):
        store.log("export", actor="root", detail={"amount": 1.5})
    assert store.verify_audit().ok
