"""The ATM ledger handed to the store together with its bytes (the wizard's read): the store
keeps the same evidence and banknote records as when it parses the bytes itself, does not parse
them again, and refuses bytes that are not of the ledger handed with them, keeping nothing."""

from __future__ import annotations

import dataclasses

import pytest

from custodian_app.domain import formats
from custodian_app.store import CardNumberRefused, EvidenceError
from tests.store.documents import make_clearing

PAN = "6222021234567894"  # 16 digits, passes the Luhn check


def _not_parsed(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("the store parsed the ATM ledger again")

    monkeypatch.setattr(formats, "parse_atm_ledger", refuse)


def test_a_handed_ledger_is_kept_as_if_parsed_and_not_parsed_again(store, crew, monkeypatch):
    c = make_clearing("NJ-0001", transactions=4, notes_per_tx=3)
    parsed_path = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(parsed_path.id, c.atm, actor=crew.alice)
    store.abandon_session(parsed_path.id, "kept only to compare with", actor=crew.alice)  # one at a time
    handed_path = store.open_session("NJ-0001", crew.alice, crew.bob)
    with monkeypatch.context() as mp:
        _not_parsed(mp)
        info = store.record_atm_ledger(handed_path.id, c.atm, actor=crew.alice, parsed=c.ledger)
    assert info.state == "atm_read" and info.cycle_id == c.ledger.cycle_id
    assert store.document(handed_path.id, "atm-ledger").content == c.atm
    serial = c.ledger.notes[0].serial
    traced = store.trace_note(serial)
    assert sorted(t.session_id for t in traced) == sorted([parsed_path.id, handed_path.id])
    by_session = {t.session_id: (t.tsn, t.value, t.unit, t.card) for t in traced}
    assert by_session[handed_path.id] == by_session[parsed_path.id]
    assert formats.parse_atm_ledger(store.document(handed_path.id, "atm-ledger").content) == c.ledger


def test_the_later_steps_check_against_the_handed_ledger_without_parsing_it(store, crew, monkeypatch):
    c = make_clearing("NJ-0001")
    other = make_clearing("NJ-0001", cycle="NJ-0001-OTHER")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice, parsed=c.ledger)
    with monkeypatch.context() as mp:
        _not_parsed(mp)
        with pytest.raises(EvidenceError, match="cycle_id"):
            store.record_counts(s.id, other.counts, actor=crew.bob)
        store.record_counts(s.id, c.counts, actor=crew.bob)
        with pytest.raises(EvidenceError, match="cycle_id"):
            store.record_host_ledger(s.id, other.host, actor=crew.alice)
        assert store.record_host_ledger(s.id, c.host, actor=crew.alice).state == "backend_fetched"
    assert store.get_session(s.id).documents == ("atm-ledger", "counts", "host-ledger")


def test_a_store_that_was_not_handed_the_ledger_reads_it_from_the_evidence(store, crew, db_url):
    """Another process (or a restarted application) goes on from what the database keeps."""
    from custodian_app.store import open_store

    c = make_clearing("NJ-0001")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice, parsed=c.ledger)
    second = open_store(db_url)
    try:
        with pytest.raises(EvidenceError, match="cycle_id"):
            second.record_counts(s.id, make_clearing("NJ-0001", cycle="NJ-0001-OTHER").counts, actor=crew.bob)
        assert second.record_counts(s.id, c.counts, actor=crew.bob).state == "counted"
    finally:
        second.close()


def test_bytes_of_another_ledger_are_refused_and_nothing_kept(store, crew):
    c = make_clearing("NJ-0001")
    other = make_clearing("NJ-0001", cycle="NJ-0001-OTHER")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(EvidenceError, match="not those of the ledger handed with them"):
        store.record_atm_ledger(s.id, other.atm, actor=crew.alice, parsed=c.ledger)
    changed_unit = dataclasses.replace(
        c.ledger, units=[dataclasses.replace(c.ledger.units[0], initial=1)] + c.ledger.units[1:]
    )
    with pytest.raises(EvidenceError, match="not those of the ledger handed with them"):
        store.record_atm_ledger(s.id, c.atm, actor=crew.alice, parsed=changed_unit)
    with pytest.raises(TypeError):
        store.record_atm_ledger(s.id, c.atm, actor=crew.alice, parsed=formats.atm_ledger_to_dict(c.ledger))
    info = store.get_session(s.id)
    assert info.state == "signed_in" and info.documents == ()


def test_a_card_number_in_a_handed_ledger_is_refused(store, crew):
    c = make_clearing("NJ-0001")
    tx = [dataclasses.replace(c.ledger.transactions[0], host_ref=PAN)] + c.ledger.transactions[1:]
    ledger = dataclasses.replace(c.ledger, transactions=tx)
    data = formats.dumps(formats.atm_ledger_to_dict(ledger))
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(CardNumberRefused, match=r"ATM ledger \$\.transactions\[0\]\.host_ref") as info:
        store.record_atm_ledger(s.id, data, actor=crew.alice, parsed=ledger)
    assert PAN not in str(info.value)
    assert store.get_session(s.id).documents == ()
