"""The banknote records (冠字号) of an ATM ledger, written into the ``banknotes`` table.

A 20,000-transaction cycle has ~180,000 notes. Through SQLAlchemy Core's executemany every row
is a dict that the engine checks, binds and converts column by column: ~3 s of Python holding
the interpreter lock on the database thread while the wizard's window waits for it. Here each
value is converted once where it is shared (the session's, the transaction's) with the very
bind processors SQLAlchemy would apply (so SQLite and PostgreSQL get the same values as before),
and the rows go to the driver's ``executemany`` as plain tuples, a batch at a time, inside the
caller's transaction (nothing is committed here).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import Connection

from custodian_app.domain import formats
from custodian_app.store import models as m

# Rows per executemany: bounded memory, and the lock changes hands between batches.
BATCH = 5000

# What every note of one transaction shares (the transaction's card and time).
_TX_COLUMNS = ("card", "card_key", "tx_time", "tx_date")
# The note's own values, in the order written below.
_NOTE_COLUMNS = ("serial", "serial_length", "unreadable", "value", "tsn", "unit", "event")
_SESSION_COLUMNS = ("session_id", "terminal_id", "cycle_id", "currency")
COLUMNS = _SESSION_COLUMNS + _TX_COLUMNS + _NOTE_COLUMNS

_PLACEHOLDER = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def insert_banknotes(conn: Connection, session_id: int, terminal_id: str, ledger: formats.AtmLedger) -> int:
    """Insert the ledger's notes for the session; the number of rows written."""
    if not ledger.notes:
        return 0
    dialect = conn.dialect
    placeholder = _PLACEHOLDER.get(dialect.paramstyle)
    if placeholder is None:  # the two databases supported both have one of these
        raise NotImplementedError(f"the {dialect.name} driver's paramstyle {dialect.paramstyle!r}")
    columns = m.Banknote.__table__.c
    # the conversions SQLAlchemy applies to each column's values for this driver (None: none)
    convert = {name: columns[name].type.dialect_impl(dialect).bind_processor(dialect) for name in COLUMNS}

    def bound(name: str, value):
        process = convert[name]
        return value if value is None or process is None else process(value)

    shared = tuple(
        bound(k, v)
        for k, v in zip(
            _SESSION_COLUMNS, (session_id, terminal_id, ledger.cycle_id, ledger.currency), strict=True
        )
    )
    no_tx = shared + (None,) * len(_TX_COLUMNS)
    by_tsn = {
        t.tsn: shared
        + (
            bound("card", t.card),
            bound("card_key", t.card[:6] + t.card[-4:]),
            bound("tx_time", _parse_time(t.time)),
            # the ATM's local date, as a customer names the day
            bound("tx_date", date.fromisoformat(t.time[:10])),
        )
        for t in ledger.transactions
    }
    unreadable = {flag: bound("unreadable", flag) for flag in (False, True)}
    # The rest are text and integers, which neither driver converts; should a type ever need
    # converting, it is done per note (correct, only slower).
    per_note = [
        (i, convert[name])
        for i, name in enumerate(_NOTE_COLUMNS)
        if name != "unreadable" and convert[name] is not None
    ]

    preparer = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {preparer.format_table(m.Banknote.__table__)} "
        f"({', '.join(preparer.quote(c) for c in COLUMNS)}) VALUES ({', '.join([placeholder] * len(COLUMNS))})"
    )
    notes = ledger.notes
    for start in range(0, len(notes), BATCH):
        rows = [
            (by_tsn.get(n.tsn, no_tx) if n.tsn is not None else no_tx)
            + (n.serial, len(n.serial), unreadable["?" in n.serial], n.value, n.tsn, n.unit, n.event)
            for n in notes[start : start + BATCH]
        ]
        if per_note:
            rows = [_converted(r, per_note) for r in rows]
        conn.exec_driver_sql(sql, rows)
    return len(notes)


def _converted(row: tuple, per_note: list) -> tuple:
    values = list(row)
    offset = len(_SESSION_COLUMNS) + len(_TX_COLUMNS)
    for i, process in per_note:
        if values[offset + i] is not None:
            values[offset + i] = process(values[offset + i])
    return tuple(values)
