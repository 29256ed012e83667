"""The banknote records go to the driver as plain tuples, a batch at a time, in the step's one
transaction (store/banknotes.py): the rows are those SQLAlchemy Core writes from the same
values, on SQLite and PostgreSQL, and a failure in a later batch leaves nothing behind."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import event, func, insert, select

from custodian_app.domain import formats
from custodian_app.domain.formats import NoteRecord
from custodian_app.store import banknotes
from custodian_app.store import models as m
from tests.store.documents import make_clearing

COLUMNS = ", ".join(banknotes.COLUMNS)


def _ledger():
    c = make_clearing("NJ-0001", transactions=5, notes_per_tx=3, unreadable={(2, 1): "AB12??5678"})
    # a note no transaction claims (a retract): no card, no time
    stray = NoteRecord(serial="ZX00000001", value=10000, tsn=None, unit="CST1", event="retracted")
    ledger = dataclasses.replace(c.ledger, notes=[*c.ledger.notes, stray])
    return ledger, formats.dumps(formats.atm_ledger_to_dict(ledger))


def _driver_inserts(store):
    """The banknote inserts the driver is given: (statement, parameters, executemany)."""
    seen = []

    def spy(_conn, _cursor, statement, parameters, _context, executemany):
        if "banknotes" in statement and statement.lstrip().upper().startswith("INSERT"):
            seen.append((statement, parameters, executemany))

    event.listen(store.engine, "before_cursor_execute", spy)
    return seen, lambda: event.remove(store.engine, "before_cursor_execute", spy)


def test_the_rows_are_those_sqlalchemy_core_writes(store, crew):
    ledger, data = _ledger()
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    store.record_atm_ledger(s.id, data, actor=crew.alice, parsed=ledger)
    # the reference: the same notes through Core's insert, one dict a row, under another session
    other = store.open_session("NJ-0002", crew.alice, crew.dave)
    by_tsn = {t.tsn: t for t in ledger.transactions}
    reference = []
    for n in ledger.notes:
        t = by_tsn.get(n.tsn)
        reference.append(
            {
                "session_id": other.id,
                "terminal_id": "NJ-0001",
                "cycle_id": ledger.cycle_id,
                "currency": ledger.currency,
                "card": t.card if t else None,
                "card_key": t.card[:6] + t.card[-4:] if t else None,
                "tx_time": datetime.fromisoformat(t.time).astimezone(UTC) if t else None,
                "tx_date": date.fromisoformat(t.time[:10]) if t else None,
                "serial": n.serial,
                "serial_length": len(n.serial),
                "unreadable": "?" in n.serial,
                "value": n.value,
                "tsn": n.tsn,
                "unit": n.unit,
                "event": n.event,
            }
        )
    with store.engine.begin() as conn:
        conn.execute(insert(m.Banknote.__table__), reference)
        # as the database keeps them (the driver's values, no type conversion on the way back)
        rows = conn.exec_driver_sql(f"SELECT {COLUMNS} FROM banknotes ORDER BY id").all()
    written, expected = rows[: len(ledger.notes)], rows[len(ledger.notes) :]
    assert len(written) == len(expected) == len(ledger.notes) == 16
    assert [r[1:] for r in written] == [r[1:] for r in expected]  # all but the session id
    assert {r[0] for r in written} == {s.id}
    # and read back through the model, the values the clearing had
    with store.engine.connect() as conn:
        odd = conn.execute(
            select(m.Banknote).where(m.Banknote.session_id == s.id, m.Banknote.unreadable)
        ).one()
        stray = conn.execute(
            select(m.Banknote).where(m.Banknote.session_id == s.id, m.Banknote.tsn.is_(None))
        ).one()
    assert (odd.serial, odd.serial_length, odd.card_key) == ("AB12??5678", 10, "6222021002")
    assert odd.tx_time == datetime(2026, 11, 20, 0, 2, tzinfo=UTC) and odd.tx_date == date(2026, 11, 20)
    assert (stray.card, stray.tx_time, stray.tx_date, stray.event) == (None, None, None, "retracted")


def test_the_notes_go_to_the_driver_in_batches_of_tuples(store, crew, monkeypatch):
    monkeypatch.setattr(banknotes, "BATCH", 4)
    ledger, data = _ledger()
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    seen, stop = _driver_inserts(store)
    try:
        store.record_atm_ledger(s.id, data, actor=crew.alice, parsed=ledger)
    finally:
        stop()
    assert [len(params) for _sql, params, _many in seen] == [4, 4, 4, 4]
    assert all(many for _sql, _params, many in seen)
    assert all(type(row) is tuple for _sql, params, _many in seen for row in params)


def test_a_failure_in_a_later_batch_leaves_nothing_written(store, crew, monkeypatch):
    monkeypatch.setattr(banknotes, "BATCH", 4)
    ledger, data = _ledger()
    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    calls = []

    def fail_third(_conn, _cursor, statement, _parameters, _context, _executemany):
        if "banknotes" in statement and statement.lstrip().upper().startswith("INSERT"):
            calls.append(statement)
            if len(calls) == 3:
                raise RuntimeError("the disk is full")

    event.listen(store.engine, "before_cursor_execute", fail_third)
    try:
        with pytest.raises(RuntimeError, match="disk is full"):
            store.record_atm_ledger(s.id, data, actor=crew.alice, parsed=ledger)
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_third)
    assert len(calls) == 3
    info = store.get_session(s.id)
    assert info.state == "signed_in" and info.documents == ()
    with store.engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(m.Banknote)) == 0
