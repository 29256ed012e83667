"""Clearings built by hand from the format dataclasses, for the report tests and benchmark.

Kept independent of the generator and the engine so that the report's tests say exactly what
they print; ``scenario_from_generator`` uses them when they are available."""

from __future__ import annotations

from custodian_app.domain.formats import (
    AtmLedger,
    AtmTransaction,
    CashPosition,
    ClearingResult,
    Counts,
    HostLedger,
    HostTransaction,
    Mismatch,
    Totals,
    TotalsItem,
    TypeTotals,
    Unit,
)

TERMINAL = "NJ-0001"
CYCLE = "NJ-0001-20261120"
DIGEST = "3f1c2a9be0d4477a8c5e6f7081920a1b2c3d4e5f60718293a4b5c6d7e8f90a1b"

CATEGORY_CYCLE = (
    ("DISPENSED_NOT_DEBITED", "withdrawal", 50000, None, "68", -50000),
    ("DEBITED_NOT_DISPENSED", "withdrawal", 100000, 100000, None, 100000),
    ("RETRACTED", "withdrawal", 30000, 30000, None, 30000),
    ("HOST_LOST_BOOKING", "withdrawal", 20000, None, None, -20000),
    ("DEPOSIT_NOT_CREDITED", "deposit", 300000, None, "96", 300000),
    ("PARTIAL_DISPENSE", "withdrawal", 200000, 200000, None, 100000),
    ("CREDITED_NOT_DEPOSITED", "deposit", 50000, 50000, None, -50000),
    ("DUPLICATE_BOOKING", "withdrawal", 10000, 20000, None, 10000),
)


def units() -> list[Unit]:
    return [
        Unit(
            "CST1",
            "cashOut",
            "CNY",
            10000,
            2000,
            {"presented": 150, "rejected": 3, "distributed": 0, "unknown": 0},
            {"deposited": 0, "retracted": 0, "rejected": 0},
        ),
        Unit(
            "CST2",
            "cashOut",
            "CNY",
            5000,
            1000,
            {"presented": 40, "rejected": 1, "distributed": 0, "unknown": 0},
            {"deposited": 0, "retracted": 0, "rejected": 0},
        ),
        Unit(
            "CIN1",
            "cashIn",
            "CNY",
            10000,
            0,
            {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0},
            {"deposited": 30, "retracted": 0, "rejected": 0},
        ),
        Unit(
            "REJ1",
            "reject",
            "CNY",
            None,
            0,
            {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0},
            {"deposited": 0, "retracted": 0, "rejected": 4},
        ),
        Unit(
            "RTR1",
            "retract",
            "CNY",
            10000,
            0,
            {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0},
            {"deposited": 0, "retracted": 3, "rejected": 0},
        ),
    ]


def atm_ledger(n_transactions: int = 20) -> AtmLedger:
    txs = []
    for i in range(n_transactions):
        kind = "deposit" if i % 5 == 4 else "withdrawal"
        amount = (i % 7 + 1) * 10000
        txs.append(
            AtmTransaction(
                tsn=f"{i + 1:06d}",
                time=f"2026-11-20T{9 + i % 10:02d}:{i % 60:02d}:03+08:00",
                type=kind,
                card=f"622202******{i % 10000:04d}",
                amount=amount,
                host_code="00",
                host_ref=f"6324{i:08d}",
                reversed=False,
                taken=amount if kind == "withdrawal" else 0,
                deposited=amount if kind == "deposit" else 0,
            )
        )
    w = [t for t in txs if t.type == "withdrawal"]
    d = [t for t in txs if t.type == "deposit"]
    totals = Totals(
        25000000, TypeTotals(len(w), sum(t.amount for t in w)), TypeTotals(len(d), sum(t.amount for t in d))
    )
    return AtmLedger(
        TERMINAL, CYCLE, "CNY", "2026-11-20T08:00:00+08:00", "2026-11-22T08:00:00+08:00", totals, units(), txs
    )


def host_ledger(atm: AtmLedger) -> HostLedger:
    txs = [
        HostTransaction(t.host_ref, t.tsn, t.time, t.type, t.card, t.amount, "booked")
        for t in atm.transactions
    ]
    return HostLedger(TERMINAL, CYCLE, "CNY", atm.totals, txs)


def counts() -> Counts:
    amounts = {"CST1": 18470000, "CST2": 4795000, "CIN1": 300000, "REJ1": 70000, "RTR1": 30000}
    return Counts(TERMINAL, CYCLE, "CNY", ["张三", "李四"], amounts)


def balanced_result(atm: AtmLedger) -> ClearingResult:
    t = atm.totals
    items = [
        TotalsItem("loaded_amount", t.loaded_amount, t.loaded_amount),
        TotalsItem("withdrawals.count", t.withdrawals.count, t.withdrawals.count),
        TotalsItem("withdrawals.amount", t.withdrawals.amount, t.withdrawals.amount),
        TotalsItem("deposits.count", t.deposits.count, t.deposits.count),
        TotalsItem("deposits.amount", t.deposits.amount, t.deposits.amount),
    ]
    expected = t.loaded_amount + t.deposits.amount - t.withdrawals.amount
    return ClearingResult(TERMINAL, CYCLE, "CNY", items, CashPosition(expected, expected), [])


def mismatches(n: int) -> list[Mismatch]:
    """``n`` mismatches cycling through the categories; TSNs M000001, M000002, ..."""
    out = []
    for i in range(n):
        category, kind, atm_amount, host_amount, code, effect = CATEGORY_CYCLE[i % len(CATEGORY_CYCLE)]
        out.append(
            Mismatch(
                category=category,
                tsn=f"M{i + 1:06d}",
                type=kind,
                atm_amount=atm_amount,
                host_amount=host_amount,
                reject_code=code,
                cash_effect=effect,
                action="挂账后按类别处理：冲正或补记账",
                action_en="Suspense, then reverse or book as the category says",
                host_refs=[] if host_amount is None else [f"9{i:011d}"],
                time=f"2026-11-21T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}+08:00",
                card=f"622848******{(i * 37) % 10000:04d}",
            )
        )
    return out


def unbalanced_result(atm: AtmLedger, n: int = 8, *, counted: int | None = None) -> ClearingResult:
    base = balanced_result(atm)
    ms = mismatches(n)
    ms.append(
        Mismatch(
            "LOADING_MISMATCH",
            None,
            None,
            25000000,
            24990000,
            None,
            10000,
            "双人复点加钞，更正加钞金额",
            "Recount the loading under dual custody and correct it",
        )
    )
    ms.append(
        Mismatch(
            "TOTALS_INCONSISTENT",
            None,
            None,
            None,
            None,
            None,
            0,
            "核查后台合计",
            "Check the backend's totals",
            side="host",
            item="withdrawals.amount",
        )
    )
    difference = sum(m.cash_effect for m in ms)
    base.totals[0] = TotalsItem("loaded_amount", 25000000, 24990000)
    base.totals[2] = TotalsItem("withdrawals.amount", base.totals[2].atm, base.totals[2].atm + 50000)
    cp = base.cash_position
    base.cash_position = CashPosition(cp.atm_expected, cp.atm_expected - difference, counted)
    base.mismatches = ms
    return base
