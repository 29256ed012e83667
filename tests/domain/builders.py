"""Small builders for ledgers in tests: amounts in yuan for readability, totals made consistent."""

from __future__ import annotations

from custodian_app.domain.formats import (
    AtmLedger,
    AtmTransaction,
    Counts,
    HostLedger,
    HostTransaction,
    NoteRecord,
    Totals,
    TypeTotals,
    Unit,
)

TERMINAL, CYCLE, CURRENCY = "NJ-0001", "NJ-0001-20261120", "CNY"
SUCCESS = frozenset({"00"})


def y(yuan: int | float) -> int:
    """Yuan -> fen, for test tables only (ints, or x.5 written as a literal)."""
    return int(round(yuan * 100))


def atx(
    tsn: str,
    typ: str = "withdrawal",
    amount: int = 1000,
    code: str = "00",
    *,
    reversed_=False,
    T: int = 0,
    R: int = 0,
    C: int = 0,
    ret: int = 0,
    U: int = 0,
    ref: str | None = None,
    partial: int | None = None,
    time: str = "2026-11-20T09:00:00+08:00",
    card: str = "622202******1234",
) -> AtmTransaction:
    """``partial``: a partial reversal (``reversed_amount``), ``U``: cash of unknown fate."""
    return AtmTransaction(
        tsn,
        time,
        typ,
        card,
        y(amount),
        code,
        ref,
        reversed_,
        None if partial is None else y(partial),
        taken=y(T),
        retracted=y(R),
        deposited=y(C),
        returned=y(ret),
        unknown=y(U),
    )


def unit(
    uid: str,
    value: int | None,
    initial: int = 0,
    *,
    presented: int = 0,
    rejected_out: int = 0,
    unknown: int = 0,
    distributed: int = 0,
    deposited: int = 0,
    retracted: int = 0,
    rejected_in: int = 0,
    typ: str = "cashOut",
) -> Unit:
    """A storage unit; ``value`` in yuan (None: a mixed bin), counters in notes."""
    return Unit(
        uid,
        typ,
        CURRENCY,
        None if value is None else y(value),
        initial,
        {"presented": presented, "rejected": rejected_out, "distributed": distributed, "unknown": unknown},
        {"deposited": deposited, "retracted": retracted, "rejected": rejected_in},
    )


def htx(
    ref: str,
    tsn: str | None,
    typ: str = "withdrawal",
    amount: int = 1000,
    status: str = "booked",
    time: str = "2026-11-20T09:00:01+08:00",
    card: str = "622202******1234",
) -> HostTransaction:
    return HostTransaction(ref, tsn, time, typ, card, y(amount), status)


def atm_totals(txs, loaded: int, success=SUCCESS) -> Totals:
    w = [t for t in txs if t.type == "withdrawal" and t.host_code in success and not t.reversed]
    d = [t for t in txs if t.type == "deposit" and t.host_code in success and not t.reversed]
    return Totals(
        loaded,
        TypeTotals(len(w), sum(t.booked_amount for t in w)),
        TypeTotals(len(d), sum(t.booked_amount for t in d)),
    )


def host_totals(txs, loaded: int) -> Totals:
    w = [t for t in txs if t.type == "withdrawal" and t.status == "booked"]
    d = [t for t in txs if t.type == "deposit" and t.status == "booked"]
    return Totals(
        loaded, TypeTotals(len(w), sum(t.amount for t in w)), TypeTotals(len(d), sum(t.amount for t in d))
    )


def ledgers(
    atm_txs,
    host_txs,
    *,
    notes=None,
    loaded: int = 200000,
    host_loaded: int | None = None,
    success=SUCCESS,
    units=(),
):
    loaded_f = y(loaded)
    host_loaded_f = loaded_f if host_loaded is None else y(host_loaded)
    atm = AtmLedger(
        TERMINAL,
        CYCLE,
        CURRENCY,
        "2026-11-20T08:00:00+08:00",
        None,
        atm_totals(atm_txs, loaded_f, success),
        list(units),
        list(atm_txs),
        notes,
    )
    host = HostLedger(TERMINAL, CYCLE, CURRENCY, host_totals(host_txs, host_loaded_f), list(host_txs))
    return atm, host


def note(
    tsn: str | None, value: int, event: str, serial: str = "AB12345678", unit: str = "CST1"
) -> NoteRecord:
    return NoteRecord(serial, y(value), tsn, unit, event)


def counts(amounts: dict[str, int]) -> Counts:
    return Counts(TERMINAL, CYCLE, CURRENCY, ["alice", "bob"], {k: y(v) for k, v in amounts.items()})


def mutate(raw: bytes, where: float, op: str, byte: int, *, skip: int = 0) -> bytes:
    """``raw`` with one byte replaced, deleted or inserted at ``where`` (0..1) of its length,
    after its first ``skip`` bytes: the fuzz tests' one change."""
    doc = bytearray(raw)
    at = skip + int(where * (len(doc) - skip - 2 if skip else len(doc) - 1))
    if op == "replace":
        doc[at] = byte
    elif op == "delete":
        del doc[at]
    else:
        doc.insert(at, byte)
    return bytes(doc)
