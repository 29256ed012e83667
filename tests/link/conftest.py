"""Shared pieces for the link tests: small hand-made ledgers, simulators that always stop."""

from __future__ import annotations

import random
import threading
import time

import pytest

from custodian_app.domain.formats import (
    AtmLedger,
    AtmTransaction,
    NoteRecord,
    RetainedCard,
    Totals,
    TypeTotals,
    Unit,
)
from custodian_app.link.simulator import AtmSimulator

FAST = 4_000_000  # baud for functional tests: paced, but fast


def wait_for(predicate, timeout: float = 15.0) -> bool:
    """Poll a condition until it holds or the deadline passes (a condition wait, like
    qtbot.waitUntil, for things that signal nothing: a symlink appearing, a process ending)."""
    deadline, tick = time.monotonic() + timeout, threading.Event()
    while time.monotonic() < deadline:
        if predicate():
            return True
        tick.wait(0.02)
    return predicate()


def make_ledger(transactions: int = 40, notes_per: int = 5, seed: int = 7, notes: bool = True) -> AtmLedger:
    """A small but varied cycle: withdrawals and deposits, a retract, a decline, notes per TSN."""
    rng = random.Random(seed)
    units = [
        Unit(
            "CST1",
            "cashOut",
            "CNY",
            10000,
            2000,
            {"presented": 120, "rejected": 2, "distributed": 118, "unknown": 0},
            {"deposited": 0, "retracted": 0, "rejected": 0},
        ),
        Unit(
            "CST2",
            "cashOut",
            "CNY",
            5000,
            1000,
            {"presented": 10, "rejected": 0, "distributed": 10, "unknown": 1, "stacked": 0},
            {"deposited": 0, "retracted": 0, "rejected": 0},
        ),
        Unit(
            "CIN1",
            "cashIn",
            "CNY",
            None,
            0,
            {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0},
            {"deposited": 30, "retracted": 0, "rejected": 1, "retractOperations": 0},
        ),
        Unit(
            "RTR1",
            "retract",
            "CNY",
            None,
            0,
            {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0},
            {"deposited": 0, "retracted": 3, "rejected": 0},
        ),
    ]
    txs: list[AtmTransaction] = []
    notes_list: list[NoteRecord] = []
    w = d = 0
    wa = da = 0
    for i in range(transactions):
        tsn = f"{101 + i:06d}"
        kind = "deposit" if i % 5 == 4 else "withdrawal"
        amount = rng.choice([10000, 50000, 100000, 200000])
        code = "00" if i % 13 else "68"
        tx = AtmTransaction(
            tsn,
            f"2026-11-20T{9 + i // 60 % 10:02d}:{i % 60:02d}:0{i % 10}+08:00",
            kind,
            f"6222{rng.randrange(10, 99)}******{rng.randrange(1000, 9999)}",
            amount,
            code,
            None if code != "00" else f"6324{i:08d}",
            False,
        )
        event = "taken"
        if kind == "withdrawal":
            if i % 17 == 3:
                tx.retracted = amount
                event = "retracted"
            elif i == 6:  # rules revision 2: a partial reversal, half paid out
                tx.reversed_amount = tx.taken = amount // 2
            elif i == 7:  # rules revision 2: power lost mid-dispense, notes of unknown fate
                tx.unknown = amount
            else:
                tx.taken = amount
        else:
            tx.deposited = amount
            event = "deposited"
        if code == "00":
            if kind == "withdrawal":
                w, wa = w + 1, wa + amount - (tx.reversed_amount or 0)
            else:
                d, da = d + 1, da + amount
        txs.append(tx)
        for _ in range(notes_per):
            serial = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(2)) + "".join(
                rng.choice("0123456789?") for _ in range(8)
            )
            notes_list.append(NoteRecord(serial, 10000, tsn, "CIN1" if kind == "deposit" else "CST1", event))
    notes_list.append(NoteRecord("ZZ00000001", 5000, None, "RTR1", "rejected"))
    retained = [
        RetainedCard("2026-11-20T10:05:00+08:00", "622202******4321", "000108", "host"),
        RetainedCard("2026-11-21T02:00:00+08:00", "621700******0042", None, "timeout"),
    ]
    return AtmLedger(
        "NJ-0001",
        "NJ-0001-20261120",
        "CNY",
        "2026-11-20T08:00:00+08:00",
        None,
        Totals(25000000, TypeTotals(w, wa), TypeTotals(d, da)),
        units,
        txs,
        notes_list if notes else None,
        retained_cards=retained,
    )


@pytest.fixture
def ledger() -> AtmLedger:
    return make_ledger()


@pytest.fixture
def simulators():
    """Make simulators with ``simulators(ledger, **kw)``; every one is stopped after the test,
    and a simulator that failed on its thread fails the test."""
    made: list[AtmSimulator] = []

    def factory(ledger: AtmLedger, **kw) -> AtmSimulator:
        kw.setdefault("baud", FAST)
        sim = AtmSimulator(ledger, **kw)
        made.append(sim)
        return sim

    yield factory
    for sim in made:
        sim.stop()
    for sim in made:
        assert sim.error is None, f"the simulator failed: {sim.error!r}"
