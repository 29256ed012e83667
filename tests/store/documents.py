"""Clearing documents for the store's tests: a small, valid, balanced clearing of one cycle.

Built by hand from the formats module (the scenario generator is another part's work); the
store only needs valid documents that belong together.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text

from custodian_app.domain import formats
from custodian_app.domain.formats import (
    AtmLedger,
    AtmTransaction,
    CashPosition,
    ClearingResult,
    Counts,
    HostLedger,
    HostTransaction,
    NoteRecord,
    Totals,
    TotalsItem,
    TypeTotals,
    Unit,
)

NOTE = 100_00  # a ¥100 note in fen
LOADED = 200_000_00


@dataclass
class Clearing:
    atm: bytes
    host: bytes
    counts: bytes
    result: bytes
    ledger: AtmLedger


def serial_for(terminal: str, tsn: int, k: int) -> str:
    """A deterministic serial per note: 2 letters + 8 digits."""
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    h = sum(map(ord, terminal))
    return f"{letters[h % 24]}{letters[(tsn + k) % 24]}{(h * 7919 + tsn * 131 + k) % 10**8:08d}"


def make_clearing(
    terminal: str = "NJ-0001",
    cycle: str | None = None,
    *,
    transactions: int = 3,
    notes_per_tx: int = 2,
    day: str = "2026-11-20",
    card_of=None,
    unreadable: dict[tuple[int, int], str] | None = None,
) -> Clearing:
    """A balanced clearing: ``transactions`` withdrawals of ``notes_per_tx`` ¥100 notes each.

    ``card_of(i)`` gives the masked card of the i-th transaction; ``unreadable`` maps
    (transaction, note) to a serial to use instead (with '?').
    """
    cycle = cycle or f"{terminal}-{day.replace('-', '')}"
    card_of = card_of or (lambda i: f"622202******{1000 + i % 9000:04d}")
    txs, host_txs, notes = [], [], []
    for i in range(1, transactions + 1):
        tsn = f"{i:06d}"
        amount = notes_per_tx * NOTE
        hh, mm = divmod(8 * 60 + i, 60)
        time = f"{day}T{hh % 24:02d}:{mm:02d}:00+08:00"
        txs.append(
            AtmTransaction(
                tsn=tsn,
                time=time,
                type="withdrawal",
                card=card_of(i),
                amount=amount,
                host_code="00",
                host_ref=f"R{i:08d}",
                reversed=False,
                taken=amount,
            )
        )
        host_txs.append(
            HostTransaction(
                host_ref=f"R{i:08d}",
                tsn=tsn,
                time=time,
                type="withdrawal",
                card=card_of(i),
                amount=amount,
                status="booked",
            )
        )
        for k in range(notes_per_tx):
            serial = (unreadable or {}).get((i, k)) or serial_for(terminal, i, k)
            notes.append(NoteRecord(serial=serial, value=NOTE, tsn=tsn, unit="CST1", event="taken"))
    spent = sum(t.amount for t in txs)
    totals = Totals(LOADED, TypeTotals(len(txs), spent), TypeTotals(0, 0))
    count_out = transactions * notes_per_tx
    unit = Unit(
        id="CST1",
        type="cashOut",
        currency="CNY",
        value=NOTE,
        initial=LOADED // NOTE,
        out={"presented": count_out, "rejected": 0, "distributed": count_out, "unknown": 0},
        in_={"deposited": 0, "retracted": 0, "rejected": 0},
    )
    ledger = AtmLedger(
        terminal, cycle, "CNY", f"{day}T07:00:00+08:00", f"{day}T23:00:00+08:00", totals, [unit], txs, notes
    )
    host = HostLedger(terminal, cycle, "CNY", totals, host_txs)
    expected = LOADED - spent
    counts = Counts(terminal, cycle, "CNY", ["alice", "bob"], {"CST1": expected})
    result = ClearingResult(
        terminal,
        cycle,
        "CNY",
        [
            TotalsItem("loaded_amount", LOADED, LOADED),
            TotalsItem("withdrawals.count", len(txs), len(txs)),
            TotalsItem("withdrawals.amount", spent, spent),
            TotalsItem("deposits.count", 0, 0),
            TotalsItem("deposits.amount", 0, 0),
        ],
        CashPosition(expected, expected, expected),
        [],
    )
    return Clearing(
        atm=formats.dumps(formats.atm_ledger_to_dict(ledger)),
        host=formats.dumps(formats.host_ledger_to_dict(host)),
        counts=formats.dumps(formats.counts_to_dict(counts)),
        result=formats.dumps(formats.result_to_dict(result)),
        ledger=ledger,
    )


PDF = b"%PDF-1.4\n% a stand-in for the clearing report\n%%EOF\n"


def run_to_reconciled(store, crew, terminal="NJ-0001", *, count=True):
    c = make_clearing(terminal)
    s = store.open_session(terminal, crew.alice, crew.bob)
    store.record_atm_ledger(s.id, c.atm, actor=crew.alice)
    if count:
        store.record_counts(s.id, c.counts, actor=crew.bob)
    else:
        store.skip_count(s.id, "cash sealed for the cash centre", actor=crew.bob)
    store.record_host_ledger(s.id, c.host, actor=crew.alice)
    return store.record_result(s.id, c.result, actor=crew.alice), c


def drop_guards(store):
    """Do what someone with full database rights could: remove the append-only guards."""
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            for t in ("evidence", "audit_log"):
                for w in ("update", "delete"):
                    conn.execute(text(f"DROP TRIGGER {t}_no_{w}"))
        else:
            for t in ("evidence", "audit_log"):
                conn.execute(text(f"DROP TRIGGER {t}_append_only ON {t}"))
