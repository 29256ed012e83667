"""A card-number-shaped value is refused in every free-text field the store keeps and the
report prints — a TSN, counted_by, a host_ref — not only in card fields (issue 18)."""

from __future__ import annotations

import pytest

from custodian_app.store import CardNumberRefused
from tests.store.documents import make_clearing

PAN = "6222021234567894"  # 16 digits, passes the Luhn check


def _swap(data: bytes, old: str, new: str) -> bytes:
    assert old.encode() in data
    return data.replace(old.encode(), new.encode())


def test_a_card_number_as_tsn_in_the_atm_ledger_is_refused_and_nothing_kept(store, crew):
    c = make_clearing("NJ-0001")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    with pytest.raises(CardNumberRefused, match=r"ATM ledger \$\.transactions\[\d+\]\.tsn") as info:
        store.record_atm_ledger(s.id, _swap(c.atm, '"000001"', f'"{PAN}"'), actor=crew.alice)
    assert PAN not in str(info.value)
    assert store.get_session(s.id).documents == ()


def test_a_card_number_in_counted_by_is_refused(store, crew):
    c = make_clearing("NJ-0001")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    with pytest.raises(CardNumberRefused, match=r"counts \$\.counted_by\[1\]"):
        store.record_counts(s.id, _swap(c.counts, '"bob"', f'"{PAN}"'), actor=crew.bob)
    assert store.get_session(s.id).documents == ("atm-ledger",)


def test_a_card_number_as_host_ref_is_refused(store, crew):
    c = make_clearing("NJ-0001")
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    store.record_counts(s.id, c.counts, actor=crew.bob)
    host = c.host
    ref = host.split(b'"host_ref":"', 1)[1].split(b'"', 1)[0].decode()
    with pytest.raises(CardNumberRefused, match=r"backend ledger \$\.transactions\[\d+\]\.host_ref"):
        store.record_host_ledger(s.id, _swap(host, f'"{ref}"', f'"{PAN}"'), actor=crew.alice)
    assert "host-ledger" not in store.get_session(s.id).documents
