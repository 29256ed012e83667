"""The scenario generator is the tests' oracle: each fault gives exactly its category."""

from __future__ import annotations

from collections import Counter

import pytest

from custodian_app.domain.formats import CATEGORIES
from custodian_app.domain.generator import (
    CASE_FAULTS,
    FAULTS,
    FaultSpecError,
    build_documents,
    generate,
    parse_fault_spec,
)
from custodian_app.domain.reconcile import reconcile


def categories(scenario):
    result = reconcile(scenario.atm, scenario.host, scenario.counts)
    assert sum(m.cash_effect for m in result.mismatches) == result.cash_position.difference
    # The unit counters add up: the units' derived amounts sum to the ATM's expected cash, so
    # the count differs from it by exactly the COUNT_DIFFERS entries.
    cp = result.cash_position
    assert (
        sum(m.counted - m.derived for m in result.mismatches if m.category == "COUNT_DIFFERS")
        == cp.counted_vs_atm
    )
    return result, Counter(m.category for m in result.mismatches)


@pytest.mark.parametrize("fault", FAULTS)
def test_each_fault_gives_exactly_its_category(fault):
    want = Counter(CASE_FAULTS.get(fault, {fault: 1}))
    if fault == "UNKNOWN_OUTCOME_FOUND":
        want["COUNT_DIFFERS"] += 1  # the notes found in the reject bin, beyond its counters
    for seed in (1, 2, 3):
        s = generate(seed, 120, {fault: 1})
        result, got = categories(s)
        assert got == +want == s.expected
        if "COUNT_DIFFERS" not in want:
            # the custodians' count is the ATM's view of the cash, whatever the fault
            assert result.cash_position.counted == result.cash_position.atm_expected
        assert len(result.retained_cards) == (fault == "RETAINED_CARD")


def test_the_new_faults_look_like_what_happened():
    s = generate(
        4,
        60,
        "PARTIAL_REVERSAL=1,PARTIAL_REVERSAL_IGNORED=1,TSN_LOST=1,TSN_GARBLED=1,"
        "UNKNOWN_OUTCOME=1,RETAINED_CARD=1",
    )
    partial = [t for t in s.atm.transactions if t.reversed_amount]
    assert len(partial) == 2 and all(
        0 < t.reversed_amount < t.amount and t.taken == t.booked_amount for t in partial
    )
    assert sum(1 for r in s.host.transactions if r.tsn is None) == 1
    lost = [t for t in s.atm.transactions if t.unknown]
    assert len(lost) == 1 and lost[0].taken == 0
    assert sum(u.out["unknown"] * u.value for u in s.atm.units if u.value) == lost[0].unknown
    assert all(u.out["distributed"] == u.out["presented"] for u in s.atm.units)  # never subtracted
    [card] = s.atm.retained_cards
    assert card.reason == "host" and "*" in card.card
    from custodian_app.support.catalogue import load_catalogue

    result = reconcile(s.atm, s.host, s.counts, catalogue=load_catalogue())
    [m] = [m for m in result.mismatches if m.category == "AMOUNT_MISMATCH"]
    assert m.reversed_amount and "partial reversal" in m.action_en and "Never debit" in m.action_en


@pytest.mark.parametrize(
    "spec",
    [
        "none",
        "all",
        "realistic",
        "all,HOST_ONLY=3,CODE_DISAGREES=2,HOST_LOST_BOOKING=2,TOTALS_INCONSISTENT=8",
    ],
)
def test_mixes_give_exactly_the_expected_categories(spec):
    for seed in range(4):
        s = generate(seed, 300, spec)
        _, got = categories(s)
        assert got == s.expected


def test_a_clean_cycle_balances_and_looks_like_an_atm():
    s = generate(7, 500)
    result, got = categories(s)
    assert not got and result.balanced
    assert 3500 < len(s.atm.notes) < 5500  # about nine notes a transaction
    types = Counter(t.type for t in s.atm.transactions)
    assert types["withdrawal"] > types["deposit"] > 0
    assert any(t.host_code in ("51", "55", "61") and not t.taken for t in s.atm.transactions)
    units = {u.id: u for u in s.atm.units}
    assert {"CST1", "CST2", "CST3", "CST4", "CIN1", "REJ1", "RTR1"} <= set(units)
    for u in s.atm.units:  # derived count x value is what the custodians count
        if u.value is not None:
            assert u.count * u.value == s.counts.units[u.id]
            assert u.count >= 0
    assert s.atm.totals.loaded_amount == sum(u.initial * u.value for u in s.atm.units if u.value)
    assert all("*" in t.card for t in s.atm.transactions)


def test_same_seed_same_documents_other_seed_other():
    a = build_documents(5, 200, "all")
    assert a == build_documents(5, 200, "all")
    assert a.atm != build_documents(6, 200, "all").atm


def test_without_notes():
    s = generate(1, 100, "RETRACTED=1", notes=False)
    assert s.atm.notes is None
    assert categories(s)[1] == Counter({"RETRACTED": 1})


def test_fault_spec_parsing():
    assert parse_fault_spec("RETRACTED=2,HOST_ONLY=1") == Counter({"RETRACTED": 2, "HOST_ONLY": 1})
    assert parse_fault_spec("none") == Counter()
    assert parse_fault_spec("all") == Counter({c: 1 for c in FAULTS})
    assert set(CATEGORIES) < set(FAULTS)
    assert parse_fault_spec("all,RETRACTED=3")["RETRACTED"] == 3
    assert parse_fault_spec("retracted") == Counter({"RETRACTED": 1})
    assert sum(parse_fault_spec("realistic").values()) >= 4
    for bad in (
        "NOPE=1",
        "RETRACTED=x",
        "RETRACTED=-1",
        "LOADING_MISMATCH=2",
        "TOTALS_INCONSISTENT=9",
        "COUNT_DIFFERS=5",
    ):
        with pytest.raises(FaultSpecError):
            parse_fault_spec(bad)


def test_refuses_more_faults_than_transactions_and_note_faults_without_notes():
    with pytest.raises(FaultSpecError):
        build_documents(1, 3, "all")
    with pytest.raises(FaultSpecError):
        build_documents(1, 30, "NOTE_FLOW_MISMATCH=1", notes=False)
    with pytest.raises(FaultSpecError):
        build_documents(1, 30, "UNKNOWN_OUTCOME_FOUND=1", notes=False)


def test_empty_cycle():
    s = generate(1, 0)
    assert s.atm.transactions == [] and s.host.transactions == []
    assert categories(s)[1] == Counter()
