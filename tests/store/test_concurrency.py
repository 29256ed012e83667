"""Several processes (spawned, like separate branch PCs) write to one database at once:
no session is lost or duplicated, the per-terminal lock holds, the audit chain stays whole."""

from __future__ import annotations

import multiprocessing
import queue
import time

import pytest

from tests.store.conftest import PASSWORD
from tests.store.workers import clearing_worker, first_open_worker

WORKERS = 4
ROUNDS = 9
SHARED = ["NJ-0001", "NJ-0002"]


def _run(ctx, target, args_of, n, meanwhile=None):
    """Start n spawned workers, collect their reports; ``meanwhile()`` runs while they work."""
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*args_of(i), barrier, results)) for i in range(n)]
    for p in procs:
        p.start()
    outs = []
    deadline = time.monotonic() + 300
    try:
        while len(outs) < n:
            if time.monotonic() > deadline:
                pytest.fail(f"only {len(outs)} of {n} workers reported")
            try:
                outs.append(results.get(timeout=0.2))
            except queue.Empty:
                if meanwhile is not None:
                    meanwhile()
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join()
        results.close()
        results.join_thread()
    errors = [o["error"] for o in outs if "error" in o]
    assert not errors, errors[0]
    assert all(p.exitcode == 0 for p in procs)
    return outs


@pytest.mark.slow
def test_several_pcs_opening_a_new_database_at_once_create_it_once(db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from custodian_app.store import open_store
    from custodian_app.store.models import Base

    _run(multiprocessing.get_context("spawn"), first_open_worker, lambda i: (db_url, i), 3)
    store = open_store(db_url)
    try:
        assert sorted(u.username for u in store.list_users()) == ["user0", "user1", "user2"]
        assert store.verify_audit().entries == 3
        with store.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    finally:
        store.close()


@pytest.mark.slow
def test_processes_racing_for_terminals_lose_nothing_and_never_share_one(db_url, store):
    for n in range(WORKERS):
        store.add_user(f"c{n}a", PASSWORD, "custodian")
        store.add_user(f"c{n}b", PASSWORD, "custodian")
    before = store.verify_audit().entries
    checks = []

    def verify_while_they_write():
        # A reader checking the chain during the appends must see a consistent snapshot.
        result = store.verify_audit()
        assert result.ok, result.problems
        checks.append(result.entries)

    outs = _run(
        multiprocessing.get_context("spawn"),
        clearing_worker,
        lambda n: (db_url, n, SHARED, ROUNDS),
        WORKERS,
        meanwhile=verify_while_they_write,
    )
    assert checks, "the chain was never checked while the workers wrote"

    # Phase 1: exactly one PC got the ATM; every other was told who holds it.
    winners = [o for o in outs if o["race"][0] == "won"]
    assert len(winners) == 1
    winner = winners[0]
    for o in outs:
        if o is not winner:
            _, held_by, host, custodians = o["race"]
            assert (held_by, host) == (winner["race"][1], f"PC-{winner['worker']}")
            assert custodians == (f"c{winner['worker']}a", f"c{winner['worker']}b")

    # No session lost or duplicated: what the workers opened is exactly what the database holds.
    opened = [sid for o in outs for _, sid in o["opened"]] + [winner["race"][1]]
    assert len(opened) == len(set(opened))
    history = store.history(limit=10_000)
    assert sorted(s.id for s in history) == sorted(opened)
    assert all(s.state == "abandoned" for s in history)
    own = [t for o in outs for t, _ in o["opened"] if t.startswith("NJ-OWN")]
    assert len(own) == WORKERS * len(range(0, ROUNDS, 3))  # nobody else touches a PC's own ATM

    # The lock held: in the audit chain's total order, no ATM was ever open twice at once.
    entries = store.audit_entries()
    opened_at = {e.session_id: e.seq for e in entries if e.action == "session_opened"}
    ended_at = {e.session_id: e.seq for e in entries if e.action == "session_abandoned"}
    by_terminal: dict[str, list[tuple[int, int]]] = {}
    for s in history:
        by_terminal.setdefault(s.terminal_id, []).append((opened_at[s.id], ended_at[s.id]))
    for terminal, spans in by_terminal.items():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start > end, f"{terminal} was opened again before its clearing ended"

    # Every audit append of every process is in one unbroken chain.
    logged = sum(o["logged"] for o in outs)
    steps = 2 * len(opened)  # opened + abandoned per session
    check = store.verify_audit()
    assert check.ok, check.problems
    assert check.entries == before + WORKERS * 2 + logged + steps  # 2 sign-ins per worker


def test_one_store_shared_by_threads_keeps_one_chain(store):
    import threading

    errors = []

    def writer(n):
        try:
            for i in range(15):
                store.log("note_viewed", actor=f"t{n}", detail={"i": i})
        except Exception as exc:  # reported below, the thread must not die silently
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and not any(t.is_alive() for t in threads)
    check = store.verify_audit()
    assert check.ok and check.entries == 60
    assert sorted(e.seq for e in store.audit_entries()) == list(range(1, 61))
