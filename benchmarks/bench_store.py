"""Benchmark: keeping banknote records and tracing a serial, against the obvious alternatives,
in the same run on the same database.

    .venv/bin/python benchmarks/bench_store.py [--cycles 10] [--notes 5000] [--db URL]

1. Keeping a cycle's ATM ledger with its banknote records (``Store.record_atm_ledger``: parse,
   evidence, batched executemany of the notes, transition, audit entry — one transaction)
   against the reference: the same note rows added as ORM objects one by one
   (``session.add(Banknote(...))``) and committed, after every fifth of our cycles (so both
   meet the same table sizes and the same spells of load).
2. ``Store.trace_note(serial)`` (index on serial) against the reference: what a store without
   a banknote table must do, parse every stored ATM ledger and scan its notes.
3. Audit appends per second (each a committed transaction) and ``Store.verify_audit()`` over
   the whole chain (entries per second); no reference.

Default database: a SQLite file in a temporary folder. ``--db`` takes a PostgreSQL URL (use
an empty database or schema: the benchmark adds rows).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import profiles  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from custodian_app.domain import formats  # noqa: E402
from custodian_app.store import models as m  # noqa: E402
from custodian_app.store import open_store
from custodian_app.store.passwords import PasswordHasher  # noqa: E402
from tests.store.documents import make_clearing  # noqa: E402

NOTES_PER_TX = 5


def reference_insert(store, session_id: int, atm: bytes) -> float:
    """Seconds to add a ledger's notes as ORM objects one by one and commit (parsing not timed)."""
    ledger = formats.parse_atm_ledger(atm)
    by_tsn = {t.tsn: t for t in ledger.transactions}
    t0 = time.perf_counter()
    with Session(store.engine) as orm, orm.begin():
        for n in ledger.notes:
            tx = by_tsn[n.tsn]
            orm.add(
                m.Banknote(
                    session_id=session_id,
                    terminal_id="REF",
                    cycle_id=ledger.cycle_id,
                    serial=n.serial,
                    serial_length=len(n.serial),
                    unreadable="?" in n.serial,
                    value=n.value,
                    currency=ledger.currency,
                    tsn=n.tsn,
                    unit=n.unit,
                    event=n.event,
                    card=tx.card,
                    card_key=tx.card[:6] + tx.card[-4:],
                    tx_time=None,
                    tx_date=None,
                )
            )
    return time.perf_counter() - t0


def run(url: str, cycles: int, notes: int) -> None:
    store = open_store(url, hasher=PasswordHasher(profiles.CHEAPEST), host="BENCH-PC")
    try:
        for name in ("alice", "bob"):
            store.add_user(name, "benchmark password", "custodian")
        alice = store.authenticate("alice", "benchmark password")
        bob = store.authenticate("bob", "benchmark password")
        clearings = [
            make_clearing(f"BM-{i:04d}", transactions=notes // NOTES_PER_TX, notes_per_tx=NOTES_PER_TX)
            for i in range(cycles)
        ]

        # 1. ours, every cycle; the reference (one ORM object per note, into the same table) after
        # every fifth, so that both meet the same table sizes and the same spells of load
        ours, ref = [], []
        for i, c in enumerate(clearings):
            s = store.open_session(c.ledger.terminal_id, alice, bob)
            t0 = time.perf_counter()
            store.record_atm_ledger(s.id, c.atm, actor=alice)
            ours.append(time.perf_counter() - t0)
            if i % 5 == 4 or (cycles < 5 and i == cycles - 1):
                ref.append(reference_insert(store, s.id, c.atm))
        o, r = statistics.median(ours), statistics.median(ref)
        print(
            f"1. keep one cycle's ATM ledger with {notes:,} banknote records ({store.dialect}), "
            f"best / median of {len(ours)} and {len(ref)}"
        )
        print(
            f"   ours  record_atm_ledger (whole step)      {min(ours) * 1000:9.1f} / {o * 1000:.1f} ms  "
            f"{notes / o:10,.0f} notes/s"
        )
        print(
            f"   ref   ORM session.add per note (notes only){min(ref) * 1000:9.1f} / {r * 1000:.1f} ms  "
            f"{notes / r:10,.0f} notes/s"
        )
        print(f"   speed-up (median) {r / o:.1f}x, (best) {min(ref) / min(ours):.1f}x")

        # 2. trace a serial
        rng = random.Random(7)
        wanted = [rng.choice(c.ledger.notes).serial for c in rng.choices(clearings, k=100)]
        t0 = time.perf_counter()
        for serial in wanted:
            assert store.trace_note(serial)
        o = (time.perf_counter() - t0) / len(wanted)
        stored = [d.content for c in range(1, cycles + 1) for d in store.evidence(c, "atm-ledger")]
        t0 = time.perf_counter()
        for serial in wanted[:5]:
            hits = [
                n for doc in stored for n in (formats.parse_atm_ledger(doc).notes or ()) if n.serial == serial
            ]
            assert hits
        r = (time.perf_counter() - t0) / 5
        total = cycles * notes
        print(f"2. trace one serial among {total:,} banknote records")
        print(f"   ours  trace_note (index)                  {o * 1000:9.2f} ms")
        print(f"   ref   parse stored ledgers and scan       {r * 1000:9.2f} ms")
        print(f"   speed-up {r / o:.0f}x")

        # 3. audit chain: appends (one transaction each, as the application makes them), verify
        appends = 300
        t0 = time.perf_counter()
        for i in range(appends):
            store.log("note_viewed", actor=alice, detail={"i": i})
        da = time.perf_counter() - t0
        t0 = time.perf_counter()
        check = store.verify_audit()
        dt = time.perf_counter() - t0
        assert check.ok
        print(
            f"3. audit: {appends / da:,.0f} appends/s (each its own committed transaction); "
            f"verify {check.entries} entries in {dt * 1000:.1f} ms ({check.entries / dt:,.0f} "
            "entries/s)"
        )
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--notes", type=int, default=5000, help="banknote records per cycle")
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    args = parser.parse_args()
    if args.db:
        run(args.db, args.cycles, args.notes)
        return
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{tmp}/bench.sqlite3", args.cycles, args.notes)


if __name__ == "__main__":
    main()
