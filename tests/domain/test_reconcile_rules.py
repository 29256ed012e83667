"""The spec's reconciliation table, row by row, and every entry outside it."""

from __future__ import annotations

import pytest

from custodian_app.domain.formats import FormatError, Totals, TypeTotals
from custodian_app.domain.reconcile import reconcile
from tests.domain.builders import atx, counts, htx, ledgers, note, unit, y

# every test here runs with the C accelerator and in pure Python (see conftest.py)
pytestmark = pytest.mark.usefixtures("engine")

W, D = "withdrawal", "deposit"

# id, ATM transaction, backend records, category (None: no entry), cash effect, host amount, reject code
TABLE = [
    (
        "1-duplicate-withdrawal",
        atx("101", W, 1000, T=1000),
        [htx("R2", "101", W, 1000), htx("R1", "101", W, 1000)],
        "DUPLICATE_BOOKING",
        1000,
        2000,
        None,
    ),
    (
        "1-duplicate-deposit",
        atx("101", D, 500, C=500),
        [htx("R1", "101", D, 500), htx("R2", "101", D, 500)],
        "DUPLICATE_BOOKING",
        -500,
        1000,
        None,
    ),
    (
        "1-duplicate-before-amount",
        atx("101", W, 1000, "68", T=0),
        [htx("R1", "101", W, 300), htx("R2", "101", W, 300)],
        "DUPLICATE_BOOKING",
        600,
        600,
        "68",
    ),
    ("2-host-lost-withdrawal", atx("101", W, 1000, T=1000), [], "HOST_LOST_BOOKING", -1000, None, None),
    ("2-host-lost-deposit", atx("101", D, 500, C=500), [], "HOST_LOST_BOOKING", 500, None, None),
    (
        "2-host-lost-only-other-type-booked",
        atx("101", W, 800, T=800),
        [htx("R1", "101", D, 800, status="reversed")],
        "HOST_LOST_BOOKING",
        -800,
        None,
        None,
    ),
    (
        "3-dispensed-not-debited",
        atx("101", W, 500, "68", T=500),
        [],
        "DISPENSED_NOT_DEBITED",
        -500,
        None,
        "68",
    ),
    (
        "3-dispensed-reversed-success-code",
        atx("101", W, 500, "00", reversed_=True, T=500),
        [],
        "DISPENSED_NOT_DEBITED",
        -500,
        None,
        None,
    ),
    (
        "3-host-reversed-record-not-counted",
        atx("101", W, 500, "91", T=500),
        [htx("R1", "101", W, 500, "reversed")],
        "DISPENSED_NOT_DEBITED",
        -500,
        None,
        "91",
    ),
    ("4-deposit-not-credited", atx("101", D, 300, "96", C=300), [], "DEPOSIT_NOT_CREDITED", 300, None, "96"),
    ("5-code-disagrees-no-cash", atx("101", W, 1000, "00"), [], "CODE_DISAGREES", 0, None, None),
    (
        "5-code-disagrees-only-retracted",
        atx("101", W, 1000, "00", R=1000),
        [],
        "CODE_DISAGREES",
        0,
        None,
        None,
    ),
    ("6-clean-decline", atx("101", W, 1000, "51"), [], None, 0, None, None),
    ("6-clean-decline-deposit-returned", atx("101", D, 700, "14", ret=700), [], None, 0, None, None),
    (
        "6-reversed-timeout",
        atx("101", W, 1000, "68", reversed_=True),
        [htx("R1", "101", W, 1000, "reversed")],
        None,
        0,
        None,
        None,
    ),
    (
        "7-amount-mismatch",
        atx("101", W, 1000, T=1000),
        [htx("R1", "101", W, 10000)],
        "AMOUNT_MISMATCH",
        9000,
        10000,
        None,
    ),
    (
        "7-amount-mismatch-deposit",
        atx("101", D, 500, C=500),
        [htx("R1", "101", D, 50)],
        "AMOUNT_MISMATCH",
        450,
        50,
        None,
    ),
    (
        "7-amount-before-retract",
        atx("101", W, 1000, R=1000),
        [htx("R1", "101", W, 900)],
        "AMOUNT_MISMATCH",
        900,
        900,
        None,
    ),
    ("8-retracted", atx("101", W, 1000, R=1000), [htx("R1", "101", W, 1000)], "RETRACTED", 1000, 1000, None),
    (
        "8-retracted-part",
        atx("101", W, 1000, T=400, R=600),
        [htx("R1", "101", W, 1000)],
        "RETRACTED",
        600,
        1000,
        None,
    ),
    (
        "9-debited-not-dispensed",
        atx("101", W, 1000, "00", reversed_=True),
        [htx("R1", "101", W, 1000)],
        "DEBITED_NOT_DISPENSED",
        1000,
        1000,
        None,
    ),
    (
        "9-debited-not-dispensed-booked",
        atx("101", W, 1000),
        [htx("R1", "101", W, 1000)],
        "DEBITED_NOT_DISPENSED",
        1000,
        1000,
        None,
    ),
    (
        "10-partial-dispense",
        atx("101", W, 1000, T=600),
        [htx("R1", "101", W, 1000)],
        "PARTIAL_DISPENSE",
        400,
        1000,
        None,
    ),
    (
        "11-over-dispense",
        atx("101", W, 1000, T=1100),
        [htx("R1", "101", W, 1000)],
        "OVER_DISPENSE",
        -100,
        1000,
        None,
    ),
    (
        "12-credited-not-deposited",
        atx("101", D, 720, "68", reversed_=True, ret=720),
        [htx("R1", "101", D, 720)],
        "CREDITED_NOT_DEPOSITED",
        -720,
        720,
        "68",
    ),
    (
        "13-deposit-count-differs",
        atx("101", D, 3000, C=2900, ret=100),
        [htx("R1", "101", D, 3000)],
        "DEPOSIT_COUNT_DIFFERS",
        -100,
        3000,
        None,
    ),
    (
        "13-deposit-count-more",
        atx("101", D, 3000, C=3050),
        [htx("R1", "101", D, 3000)],
        "DEPOSIT_COUNT_DIFFERS",
        50,
        3000,
        None,
    ),
    (
        "14-code-disagrees-withdrawal",
        atx("101", W, 1000, "68", T=1000),
        [htx("R1", "101", W, 1000)],
        "CODE_DISAGREES",
        0,
        1000,
        "68",
    ),
    (
        "14-code-disagrees-deposit",
        atx("101", D, 500, "00", reversed_=True, C=500),
        [htx("R1", "101", D, 500)],
        "CODE_DISAGREES",
        0,
        500,
        None,
    ),
    ("15-matched-withdrawal", atx("101", W, 1000, T=1000), [htx("R1", "101", W, 1000)], None, 0, None, None),
    (
        "15-matched-deposit-with-returned-note",
        atx("101", D, 900, C=900, ret=100),
        [htx("R1", "101", D, 900)],
        None,
        0,
        None,
        None,
    ),
]


def check_invariant(result) -> None:
    assert sum(m.cash_effect for m in result.mismatches) == result.cash_position.difference


@pytest.mark.parametrize("case", TABLE, ids=[c[0] for c in TABLE])
def test_table_row(case):
    _, tx, host_txs, category, effect, host_amount, reject = case
    atm, host = ledgers([tx], host_txs)
    result = reconcile(atm, host)
    check_invariant(result)
    table = [m for m in result.mismatches if m.category != "HOST_ONLY"]
    if category is None:
        assert table == []
        assert result.cash_position.difference == 0
        return
    assert len(table) == 1, table
    m = table[0]
    assert m.category == category
    assert m.tsn == tx.tsn and m.type == tx.type
    assert m.cash_effect == y(effect)
    assert m.atm_amount == tx.amount
    assert m.host_amount == (None if host_amount is None else y(host_amount))
    assert m.reject_code == reject
    assert m.time == tx.time and m.card == tx.card
    assert m.host_refs == sorted(h.host_ref for h in host_txs if h.status == "booked" and h.type == tx.type)
    assert m.action and m.action_en and m.action != m.action_en
    if reject:
        assert f"拒绝码 {reject}" in m.action and f"Reject code {reject}" in m.action_en


def test_matched_cycle_is_balanced_and_counts_agree():
    units = [unit("CST1", 100, 1510, presented=10, distributed=10), unit("CIN1", None, typ="cashIn")]
    atm, host = ledgers(
        [atx("101", W, 1000, T=1000), atx("102", D, 500, C=500), atx("103", W, 300, "55")],
        [htx("R1", "101", W, 1000), htx("R2", "102", D, 500)],
        units=units,
    )
    result = reconcile(atm, host, counts({"CST1": 150000, "CIN1": 49500}))
    assert result.mismatches == [] and all(t.equal for t in result.totals)
    cp = result.cash_position
    assert cp.atm_expected == cp.host_expected == y(199500)
    assert cp.counted == y(199500) and cp.counted_vs_atm == 0
    assert result.balanced


def test_a_unit_counted_short_is_on_the_list_even_when_the_books_agree():
    # rev 2: CST1 should hold 2000 - 10 = 1990 notes of ¥100; one is missing
    units = [unit("CST1", 100, 2000, presented=10, distributed=10)]
    atm, host = ledgers([atx("101", W, 1000, T=1000)], [htx("R1", "101", W, 1000)], units=units)
    from custodian_app.support.catalogue import load_catalogue

    result = reconcile(atm, host, counts({"CST1": 198900}), catalogue=load_catalogue())
    [m] = result.mismatches
    assert (m.category, m.unit, m.counted, m.derived, m.cash_effect) == (
        "COUNT_DIFFERS",
        "CST1",
        y(198900),
        y(199000),
        0,
    )
    assert "dual custody" in m.action_en and "supervisor the same day" in m.action_en and "双人" in m.action
    assert result.cash_position.counted_vs_atm == y(-100)
    assert not result.balanced
    over = reconcile(atm, host, counts({"CST1": 199100}), catalogue=load_catalogue()).mismatches[0]
    assert over.category == "COUNT_DIFFERS" and "suspense" in over.action_en and "长款" in over.action


def test_a_count_for_a_unit_the_atm_does_not_have_is_refused():
    atm, host = ledgers(
        [atx("101", W, 1000, T=1000)],
        [htx("R1", "101", W, 1000)],
        units=[unit("CST1", 100, 2000, presented=10)],
    )
    with pytest.raises(FormatError) as exc:
        reconcile(atm, host, counts({"CST1": 199000, "CST9": 100}))
    assert exc.value.path == "$.units.CST9" and "'CST9'" in str(exc.value)


def test_success_codes_are_configurable():
    atm, host = ledgers(
        [atx("101", W, 1000, "10", T=1000)], [htx("R1", "101", W, 1000)], success=frozenset({"00", "10"})
    )
    assert [m.category for m in reconcile(atm, host).mismatches] == [
        "TOTALS_INCONSISTENT",
        "TOTALS_INCONSISTENT",
        "CODE_DISAGREES",
    ]
    result = reconcile(atm, host, success_codes={"00", "10"})
    assert result.mismatches == []
    with pytest.raises(ValueError):
        reconcile(atm, host, success_codes=set())


# ---- outside the table


def test_host_only_per_tsn_and_type_and_per_null_tsn_record():
    atm, host = ledgers(
        [atx("101", W, 1000, T=1000)],
        [
            htx("R1", "101", W, 1000),
            htx("R2", "101", D, 400),
            htx("R3", "999", W, 200),
            htx("R5", "999", W, 300),
            htx("R4", None, D, 50),
            htx("R6", None, W, 70),
            htx("R7", None, W, 70, "reversed"),
        ],
    )
    result = reconcile(atm, host)
    check_invariant(result)
    only = [(m.tsn, m.type, m.host_amount, m.cash_effect, m.host_refs) for m in result.mismatches]
    assert only == [
        (None, W, y(70), y(70), ["R6"]),
        (None, D, y(50), y(-50), ["R4"]),
        ("101", D, y(400), y(-400), ["R2"]),
        ("999", W, y(500), y(500), ["R3", "R5"]),
    ]
    assert {m.category for m in result.mismatches} == {"HOST_ONLY"}
    assert all(m.atm_amount is None and m.reject_code is None for m in result.mismatches)


def test_loading_mismatch():
    atm, host = ledgers([], [], loaded=200000, host_loaded=210000)
    result = reconcile(atm, host)
    [m] = result.mismatches
    assert (m.category, m.tsn, m.atm_amount, m.host_amount, m.cash_effect) == (
        "LOADING_MISMATCH",
        None,
        y(200000),
        y(210000),
        y(-10000),
    )
    assert not result.totals[0].equal
    check_invariant(result)


def test_note_flow_mismatch_per_tsn_and_for_unknown_tsn():
    txs = [
        atx("101", W, 300, T=300),
        atx("102", W, 200, T=200),
        atx("103", D, 150, C=100, ret=50),
        atx("104", W, 100, R=100),
    ]
    notes = [
        note("101", 100, "taken"),
        note("101", 100, "taken"),
        note("101", 100, "taken"),
        note("101", 100, "rejected", unit="REJ1"),  # rejected notes are not the customer's cash
        note("102", 100, "taken"),  # one note of 102 is missing
        note("103", 100, "deposited"),
        note("103", 50, "returned"),
        note("104", 100, "retracted", unit="RTR1"),
        note(None, 100, "rejected", unit="REJ1"),  # outside any transaction
        note("777", 50, "taken"),
    ]  # a TSN the ledger lacks
    atm, host = ledgers(
        txs,
        [
            htx("R1", "101", W, 300),
            htx("R2", "102", W, 200),
            htx("R3", "103", D, 150),
            htx("R4", "104", W, 100),
        ],
        notes=notes,
    )
    result = reconcile(atm, host)
    check_invariant(result)
    flows = [(m.tsn, m.type, m.cash_effect) for m in result.mismatches if m.category == "NOTE_FLOW_MISMATCH"]
    assert flows == [("102", W, 0), ("777", None, 0)]
    assert "200.00" in [m for m in result.mismatches if m.tsn == "102"][0].action
    # the table entry for 103 (deposit count differs) and 104 (retracted) still come
    assert [m.category for m in result.mismatches if m.tsn in ("103", "104")] == [
        "DEPOSIT_COUNT_DIFFERS",
        "RETRACTED",
    ]


def test_no_notes_means_no_note_flow_check():
    atm, host = ledgers([atx("101", W, 300, T=300)], [htx("R1", "101", W, 300)], notes=None)
    assert reconcile(atm, host).mismatches == []


@pytest.mark.parametrize("side", ["atm", "host"])
@pytest.mark.parametrize(
    "item", ["withdrawals.count", "withdrawals.amount", "deposits.count", "deposits.amount"]
)
def test_totals_inconsistent_per_side_and_item(side, item):
    atm, host = ledgers(
        [atx("101", W, 1000, T=1000), atx("102", D, 500, C=500)],
        [htx("R1", "101", W, 1000), htx("R2", "102", D, 500)],
    )
    ledger = atm if side == "atm" else host
    group, field = item.split(".")
    tt = getattr(ledger.totals, group)
    bent = TypeTotals(tt.count + (field == "count"), tt.amount + (field == "amount") * 700)
    ledger.totals = Totals(
        ledger.totals.loaded_amount,
        bent if group == "withdrawals" else ledger.totals.withdrawals,
        bent if group == "deposits" else ledger.totals.deposits,
    )
    result = reconcile(atm, host)
    [m] = result.mismatches
    assert (m.category, m.side, m.item, m.cash_effect, m.tsn) == ("TOTALS_INCONSISTENT", side, item, 0, None)
    assert m.type == (W if group == "withdrawals" else D)
    # The custodians read the item in their words, not the format's key.
    words = {
        "withdrawals.count": "取款笔数",
        "withdrawals.amount": "取款金额",
        "deposits.count": "存款笔数",
        "deposits.amount": "存款金额",
    }[item]
    assert words in m.action and item not in m.action
    assert item.replace(".", ", ") in m.action_en.lower() and item not in m.action_en
    assert not [t for t in result.totals if t.item == item][0].equal
    check_invariant(result)


def test_atm_totals_count_only_atm_booked_transactions():
    txs = [
        atx("101", W, 1000, T=1000),
        atx("102", W, 500, "51"),
        atx("103", W, 700, reversed_=True),
        atx("104", D, 200, "68", C=200),
    ]
    atm, host = ledgers(txs, [htx("R1", "101", W, 1000)])
    assert atm.totals.withdrawals.count == 1 and atm.totals.deposits.count == 0
    result = reconcile(atm, host)
    assert not [m for m in result.mismatches if m.category == "TOTALS_INCONSISTENT"]


def test_refuses_documents_of_another_clearing():
    atm, host = ledgers([], [])
    host.cycle_id = "NJ-0001-20261121"
    with pytest.raises(FormatError) as exc:
        reconcile(atm, host)
    assert "$.cycle_id" in str(exc.value)
    atm, host = ledgers([], [])
    c = counts({})
    c.currency = "USD"
    with pytest.raises(FormatError, match=r"\$\.currency"):
        reconcile(atm, host, c)


@pytest.mark.parametrize(
    "tx, field",
    [
        (atx("101", W, 100, T=100, C=5), "deposited"),
        (atx("101", W, 100, T=100, ret=5), "returned"),
        (atx("101", D, 100, C=100, T=5), "taken"),
        (atx("101", D, 100, C=100, R=5), "retracted"),
    ],
)
def test_cash_that_contradicts_the_type_is_refused(tx, field):
    atm, host = ledgers([tx], [])
    with pytest.raises(FormatError, match=rf"\$\.transactions\[0\]\.cash\.{field}"):
        reconcile(atm, host)


def test_actions_come_from_the_catalogue_passed():
    from custodian_app.support.catalogue import load_catalogue

    cat = load_catalogue()
    atm, host = ledgers([atx("101", W, 500, "68", T=500)], [])
    [m] = reconcile(atm, host, catalogue=cat).mismatches
    assert "补记账" in m.action and "68" in m.action and "timeout" in m.action_en
    assert cat.category_name("DISPENSED_NOT_DEBITED") == "已出钞未扣账"
