"""Banknote trace: by serial (with '?' on either side) and by masked card over a period."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from custodian_app.store import CardNumberRefused, StoreError
from tests.store.documents import make_clearing, serial_for


@pytest.fixture
def traced(store, crew):
    """Two cycles on two ATMs, one with serials the ATM could not fully read."""
    first = make_clearing(
        "NJ-0001",
        day="2026-11-03",
        transactions=40,
        notes_per_tx=5,
        unreadable={(2, 0): "AB1234?678", (3, 1): "ZZ9?99?999"},
    )
    second = make_clearing(
        "NJ-0002",
        day="2026-11-04",
        transactions=30,
        notes_per_tx=5,
        card_of=lambda i: "622202******1007" if i == 7 else f"955880******{i:04d}",
    )
    for terminal, c in (("NJ-0001", first), ("NJ-0002", second)):
        s = store.open_session(terminal, crew.alice, crew.bob)
        store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    return store, first, second


def test_a_serial_finds_its_note_with_card_time_and_atm(traced):
    store, first, _ = traced
    serial = serial_for("NJ-0001", 5, 2)
    [hit] = store.trace_note(serial)
    assert (hit.serial, hit.tsn, hit.terminal_id, hit.event) == (serial, "000005", "NJ-0001", "taken")
    assert hit.card == "622202******1005" and hit.value == 100_00 and hit.currency == "CNY"
    assert hit.tx_time == datetime(2026, 11, 3, 0, 5, tzinfo=UTC)
    assert store.trace_note(serial.lower()) == [hit]
    assert store.trace_note("QQ00000000") == []


def test_unreadable_characters_match_on_either_side(traced):
    store, *_ = traced
    # The ATM could not read one character: the full serial still finds it.
    assert [n.serial for n in store.trace_note("AB12345678")] == ["AB1234?678"]
    # The customer cannot read one: '?' in the query matches any character.
    assert [n.serial for n in store.trace_note("AB1234?678")] == ["AB1234?678"]
    assert [n.serial for n in store.trace_note("ZZ9199?999")] == ["ZZ9?99?999"]
    assert store.trace_note("ZZ9199?990") == []
    serial = serial_for("NJ-0001", 5, 2)
    assert serial in [n.serial for n in store.trace_note(serial[:4] + "?" + serial[5:])]
    with pytest.raises(StoreError, match="not valid"):
        store.trace_note("AB-123")


def test_a_card_finds_the_notes_it_got_in_the_period(traced):
    store, *_ = traced
    notes = store.trace_card("622202******1007", date(2026, 11, 3), date(2026, 11, 4))
    assert {(n.terminal_id, n.tsn) for n in notes} == {("NJ-0001", "000007"), ("NJ-0002", "000007")}
    assert len(notes) == 10
    # A different number of '*' names the same card.
    assert len(store.trace_card("622202****1007", date(2026, 11, 3), date(2026, 11, 3))) == 5
    assert store.trace_card("622202******1007", date(2026, 11, 5), date(2026, 11, 30)) == []
    moment = store.trace_card(
        "622202******1007",
        datetime(2026, 11, 3, 0, 0, tzinfo=UTC),
        datetime(2026, 11, 3, 0, 10, tzinfo=UTC),
    )
    assert {n.terminal_id for n in moment} == {"NJ-0001"}


def test_a_full_card_number_is_refused_for_a_trace(traced):
    store, *_ = traced
    with pytest.raises(CardNumberRefused, match="masked"):
        store.trace_card("6222021234561004", date(2026, 11, 1), date(2026, 11, 30))


def test_thousands_of_notes_are_stored_in_one_step(store, crew):
    c = make_clearing("NJ-0009", transactions=1000, notes_per_tx=5)
    s = store.open_session("NJ-0009", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    assert len(store.trace_card("622202******1500", date(2026, 11, 20), date(2026, 11, 20))) == 5
    entry = [e for e in store.audit_entries(session_id=s.id) if e.action == "atm_read"][0]
    assert entry.detail["notes"] == 5000


def test_serial_search_finds_exactly_what_a_full_scan_finds(store, crew):
    """The SQL prefilter (index, LIKE, unreadable rows) never misses or adds a match."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from custodian_app.store.trace import _serial_matches

    alphabet = "AB1?"
    rng = __import__("random").Random(5)
    serials = ["".join(rng.choice(alphabet) for _ in range(rng.choice((6, 7)))) for _ in range(60)]
    c = make_clearing(
        "NJ-0042",
        transactions=len(serials),
        notes_per_tx=1,
        unreadable={(i + 1, 0): s for i, s in enumerate(serials)},
    )
    s = store.open_session("NJ-0042", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)

    @settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
    )
    @given(st.text(alphabet, min_size=5, max_size=8))
    def check(query):
        found = sorted(n.serial for n in store.trace_note(query))
        assert found == sorted(x for x in serials if _serial_matches(query, x))

    check()
    assert any(store.trace_note(x) for x in serials)  # the data does hold matches
