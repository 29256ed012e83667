"""Code run in the spawned processes of test_concurrency (kept apart so a child imports little)."""

from __future__ import annotations

import traceback


def clearing_worker(url: str, n: int, shared: list[str], rounds: int, barrier, results) -> None:
    """One branch PC: races for a common ATM, then clears shared and own ATMs in a loop."""
    from custodian_app.store import TerminalBusy, open_store
    from tests.store.conftest import CHEAP_HASHER, PASSWORD

    out: dict = {"worker": n, "opened": [], "busy": [], "logged": 0, "race": None}
    try:
        store = open_store(url, hasher=CHEAP_HASHER, host=f"PC-{n}")
        try:
            a = store.authenticate(f"c{n}a", PASSWORD)
            b = store.authenticate(f"c{n}b", PASSWORD)
            # Phase 1: everyone tries the same ATM at the same moment and holds on to it.
            barrier.wait(timeout=120)
            try:
                won = store.open_session("NJ-RACE", a, b)
                out["race"] = ("won", won.id)
            except TerminalBusy as busy:
                out["race"] = ("busy", busy.session_id, busy.host, busy.custodians)
            barrier.wait(timeout=120)
            if out["race"][0] == "won":
                store.abandon_session(out["race"][1], "race over", actor=a)
            barrier.wait(timeout=120)
            # Phase 2: clear shared ATMs and this PC's own, appending audit entries throughout.
            for r in range(rounds):
                terminal = shared[(n + r) % len(shared)] if r % 3 else f"NJ-OWN{n}"
                try:
                    s = store.open_session(terminal, a, b)
                except TerminalBusy as busy:
                    out["busy"].append((terminal, busy.session_id))
                else:
                    out["opened"].append((terminal, s.id))
                    store.log("note_viewed", actor=a, session_id=s.id, detail={"round": r})
                    out["logged"] += 1
                    store.abandon_session(s.id, f"round {r} done", actor=b)
                store.log("heartbeat", actor=a, detail={"worker": n, "round": r})
                out["logged"] += 1
        finally:
            store.close()
    except BaseException:
        out["error"] = traceback.format_exc()
    results.put(out)


def first_open_worker(url: str, n: int, barrier, results) -> None:
    """A PC starting the application on a database nobody has opened yet."""
    from custodian_app.store import open_store
    from tests.store.conftest import CHEAP_HASHER, PASSWORD

    out: dict = {"worker": n}
    try:
        barrier.wait(timeout=120)
        store = open_store(url, hasher=CHEAP_HASHER, host=f"PC-{n}")
        try:
            store.add_user(f"user{n}", PASSWORD, "custodian")
        finally:
            store.close()
    except BaseException:
        out["error"] = traceback.format_exc()
    results.put(out)
