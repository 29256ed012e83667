"""The clearing orchestration shared by the wizard and `clear` (custodian_app.clearing),
against a real SQLite store."""

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
    counts = formats.Counts(atm.terminal_id, atm.cycle_id, atm.currency, ["alice", "bob"],
                            {u.id: 0 for u in atm.units})
    store.record_counts(sid, formats.dumps(formats.counts_to_dict(counts)), actor=alice)
    store.skip_count(sid, "the retract bin is jammed shut", actor=bob)

    flow = clearing.resume_flow(store, sid)
    assert flow.counts is None
    assert flow.count_skip_reason == "the retract bin is jammed shut"
