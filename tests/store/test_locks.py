"""A process frozen inside a transaction (SIGSTOP: a hung driver, a PC gone to sleep) holding
the store's write lock: readers do not wait at all, writers wait a bounded time and are then
told who holds the lock (issue 18). On SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from custodian_app.store import DatabaseBusy, database, open_store

from .conftest import CHEAP_HASHER

# The frozen holder: takes the write lock the way a step of the store does (SQLite: BEGIN
# IMMEDIATE; PostgreSQL: the audit head's row, FOR UPDATE), says so, and stops itself.
HOLDER = """
import os, signal, sys
from sqlalchemy import text
from custodian_app.store import open_store
store = open_store(sys.argv[1])
with store.engine.begin() as conn:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT last_seq FROM audit_head WHERE id = 1 FOR UPDATE"))
    else:
        conn.execute(text("SELECT last_seq FROM audit_head WHERE id = 1"))
    print("holding", flush=True)
    os.kill(os.getpid(), signal.SIGSTOP)
"""

# Long enough for any honest wait on a loaded machine; only a wait that never ends reaches it.
NEVER = 90.0


def _stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat", encoding="ascii") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0] == "T"


@pytest.fixture
def frozen_holder(db_url, store, monkeypatch):
    """Start the holder; yield its process once it is stopped with the lock; kill it after."""
    monkeypatch.setattr(database, "BUSY_TIMEOUT_MS", 1000)
    monkeypatch.setattr(database, "LOCK_TIMEOUT_MS", 1000)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, db_url],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        line = proc.stdout.readline()  # blocks until the holder has the lock (or died)
        assert line.strip() == "holding", proc.stderr.read()
        stopped = threading.Event()
        while not _stopped(proc.pid):
            stopped.wait(0.01)
        yield proc
    finally:
        proc.kill()  # SIGKILL also ends a stopped process; its locks go with it
        proc.communicate(timeout=30)


def _with_watchdog(holder: subprocess.Popen, call):
    """Run ``call``; should it wait for ever (the bug), kill the holder after NEVER seconds so
    that the call returns and the test fails instead of hanging."""
    timer = threading.Timer(NEVER, holder.kill)
    timer.start()
    try:
        return call()
    finally:
        timer.cancel()


def test_readers_do_not_wait_for_a_frozen_writer(db_url, frozen_holder):
    def read() -> tuple:
        reader = open_store(db_url, hasher=CHEAP_HASHER)  # checks the schema: must not lock
        try:
            return reader.verify_audit().ok, reader.audit_head(), reader.history()
        finally:
            reader.close()

    ok, head, history = _with_watchdog(frozen_holder, read)
    assert frozen_holder.poll() is None, "the reader waited until the holder was killed"
    assert ok and head[0] >= 0 and history == []


def test_a_writer_waits_a_bounded_time_and_is_told_who_holds_the_lock(db_url, frozen_holder):
    writer = open_store(db_url, hasher=CHEAP_HASHER, host="BRANCH-PC-2")
    try:
        with pytest.raises(DatabaseBusy) as info:
            _with_watchdog(frozen_holder, lambda: writer.log("heartbeat", detail={"n": 1}))
        assert frozen_holder.poll() is None, "the writer waited until the holder was killed"
    finally:
        writer.close()
    text = str(info.value)
    assert "is busy" in text and "nothing of this step was saved" in text and "try it again" in text
    assert f"pid {frozen_holder.pid}" in text  # the holder, by its process id ...
    assert "custodian-app" in text  # ... and its program
    if db_url.startswith("postgresql"):
        assert "audit_head" in text and "idle in transaction" in text
