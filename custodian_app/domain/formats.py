"""The four clearing documents (docs/formats.md, rules revision 2): read, validate, write.

``parse_atm_ledger``, ``parse_host_ledger``, ``parse_counts`` and ``parse_result`` take the
raw bytes (or an already decoded dict) of one document and return a plain object
(``documents``), or raise ``FormatError`` naming the source, the JSON path and the offending
value. A document is accepted or refused as a whole. Money becomes integer minor units; a JSON
number where money belongs is refused. A card number that is not masked is refused without
being echoed, and so is a full card number in free text (a TSN, a reference, a name: the
reader's rule, which every path relies on); so is a key given twice in one object. This is
the one reader of each format that gives errors their words.

For bytes, the ledgers' readers first try the optional C scanner (``_ledgerscan``): one pass
over the bytes by the same rules, no object per banknote. It returns None on anything unusual,
and this module then reads the document itself and names the fault. ``native`` is the scanner
(None when it is not built, or switched off with ``CUSTODIAN_PURE_PYTHON``).

``*_to_dict`` turn the objects back into the JSON shape of the spec; ``dumps`` encodes a dict
as UTF-8 JSON bytes (compact or indented), deterministic for the same input. What the readers
share is in ``reading``; clearing-result/1 is in ``results`` (both offered here as well).

Why this module stays whole at ~600 lines (a quarter of them imports and ``__all__``): the
three ledger readers consult one module global, ``native``, which ``CUSTODIAN_PURE_PYTHON`` and
the tests switch off by assigning ``formats.native``; readers in another module would keep
their own binding and ignore the switch. The scanned readers also share ``_scanned_head``, and
``parse_any`` and ``check_same_clearing`` need every reader, so no part leaves cleanly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from custodian_app.domain import fields as rules
from custodian_app.domain.documents import (  # noqa: F401 - the documents, as formats always offered them
    IN_COUNTERS,
    IN_COUNTERS_OPTIONAL,
    OUT_COUNTERS,
    OUT_COUNTERS_OPTIONAL,
    AtmLedger,
    AtmTransaction,
    CashPosition,
    ClearingResult,
    Counts,
    HostLedger,
    HostTransaction,
    Mismatch,
    NoteRecord,
    NoteTrail,
    RetainedCard,
    Totals,
    TotalsItem,
    TypeTotals,
    Unit,
)
from custodian_app.domain.money import format_amount
from custodian_app.domain.reading import (  # noqa: F401 - the shared names, offered here too
    ATM_LEDGER,
    CATEGORIES,
    CLEARING_RESULT,
    COUNTS,
    HOST_LEDGER,
    HOST_STATUSES,
    NOTE_EVENTS,
    RETAIN_REASONS,
    TOTALS_ITEMS,
    TX_TYPES,
    UNIT_TYPES,
    FormatError,
    FullCardNumber,
    Reader,
    decode,
    dumps,
    retained_card_dict,
    retained_cards,
    totals_to_dict,
)
from custodian_app.domain.reading import show as _show
from custodian_app.domain.results import parse_result, result_to_dict  # noqa: F401

native: Any
try:  # the optional C scanner (see the module's docstring)
    from custodian_app.domain import _ledgerscan as native  # type: ignore[attr-defined,no-redef]
except ImportError:  # pragma: no cover - depends on the build
    native = None

__all__ = [
    "ATM_COLUMNS",
    "ATM_LEDGER",
    "CATEGORIES",
    "CLEARING_RESULT",
    "COUNTS",
    "HOST_LEDGER",
    "HOST_STATUSES",
    "IN_COUNTERS",
    "IN_COUNTERS_OPTIONAL",
    "NOTE_EVENTS",
    "OUT_COUNTERS",
    "OUT_COUNTERS_OPTIONAL",
    "RETAIN_REASONS",
    "TOTALS_ITEMS",
    "TX_TYPES",
    "UNIT_TYPES",
    "AtmLedger",
    "AtmTransaction",
    "CashPosition",
    "ClearingResult",
    "Counts",
    "FormatError",
    "FullCardNumber",
    "HostLedger",
    "HostTransaction",
    "Mismatch",
    "NoteRecord",
    "NoteTrail",
    "RetainedCard",
    "Totals",
    "TotalsItem",
    "TypeTotals",
    "Unit",
    "atm_ledger_to_dict",
    "check_host_refs",
    "check_same_clearing",
    "check_transaction",
    "counts_to_dict",
    "decode",
    "dumps",
    "host_ledger_to_dict",
    "native",
    "parse_any",
    "parse_atm_ledger",
    "parse_counts",
    "parse_host_ledger",
    "parse_result",
    "result_to_dict",
    "retained_card_dict",
]

# The C scanner's transaction columns, in AtmTransaction's field order
ATM_COLUMNS = (
    "tsn",
    "time",
    "type",
    "card",
    "amount",
    "host_code",
    "host_ref",
    "reversed",
    "reversed_amount",
    "taken",
    "retracted",
    "deposited",
    "returned",
    "unknown",
)


# ---------------------------------------------------------------------------------------------
# atm-ledger/1


def parse_atm_ledger(data: bytes | str | dict[str, Any], source: str = "<atm ledger>") -> AtmLedger:
    """An atm-ledger/1 document. For bytes (or a memory map) the C scanner is tried first;
    its ``notes`` are then a ``NoteTrail`` (records built when looked at)."""
    if native is not None and not isinstance(data, (str, dict)):
        ledger = _scanned_atm_ledger(data, source)
        if ledger is not None:
            return ledger
    r = Reader(source)
    doc = decode(data, source)
    r.fmt(doc, ATM_LEDGER)
    terminal_id, cycle_id, currency = r.header(doc)
    opened_at = r.string(r.key(doc, "opened_at", "$"), "$.opened_at", rules.TIME, "an RFC 3339 time")
    closed_raw = r.key(doc, "closed_at", "$")
    closed_at = (
        None
        if closed_raw is None
        else r.string(closed_raw, "$.closed_at", rules.TIME, "an RFC 3339 time or null")
    )
    totals = r.totals(r.key(doc, "totals", "$"), "$.totals")

    units: list[Unit] = []
    for i, u in enumerate(r.arr(r.key(doc, "units", "$"), "$.units")):
        p = f"$.units[{i}]"
        u = r.obj(u, p)
        value = r.key(u, "value", p)
        units.append(
            Unit(
                id=r.string(r.key(u, "id", p), p + ".id", rules.UNIT_ID, "a unit id of 1 to 5 characters"),
                type=r.enum(r.key(u, "type", p), p + ".type", UNIT_TYPES),
                currency=r.string(
                    r.key(u, "currency", p), p + ".currency", rules.CURRENCY, "an ISO 4217 code"
                ),
                value=None if value is None else r.money(value, p + ".value"),
                initial=r.integer(r.key(u, "initial", p), p + ".initial"),
                out=_counters(r, r.key(u, "out", p), p + ".out", OUT_COUNTERS, OUT_COUNTERS_OPTIONAL),
                in_=_counters(r, r.key(u, "in", p), p + ".in", IN_COUNTERS, IN_COUNTERS_OPTIONAL),
            )
        )

    transactions = [
        _atm_transaction(r, t, f"$.transactions[{i}]")
        for i, t in enumerate(r.arr(r.key(doc, "transactions", "$"), "$.transactions"))
    ]
    seen: set[str] = set()
    for i, t in enumerate(transactions):
        if t.tsn in seen:
            raise r.fail(
                f"$.transactions[{i}].tsn", f"TSN {t.tsn!r} appears twice; a TSN is unique within a cycle"
            )
        seen.add(t.tsn)

    notes: list[NoteRecord] | None = None
    if "notes" in doc:
        notes = []
        for i, n in enumerate(r.arr(doc["notes"], "$.notes")):
            p = f"$.notes[{i}]"
            n = r.obj(n, p)
            tsn = r.key(n, "tsn", p)
            notes.append(
                NoteRecord(
                    serial=r.string(
                        r.key(n, "serial", p), p + ".serial", rules.SERIAL, "a serial of 6 to 12 of A-Z 0-9 ?"
                    ),
                    value=r.money(r.key(n, "value", p), p + ".value"),
                    tsn=None if tsn is None else r.text(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
                    unit=r.string(
                        r.key(n, "unit", p), p + ".unit", rules.UNIT_ID, "a unit id of 1 to 5 characters"
                    ),
                    event=r.enum(r.key(n, "event", p), p + ".event", NOTE_EVENTS),
                )
            )

    return AtmLedger(
        terminal_id,
        cycle_id,
        currency,
        opened_at,
        closed_at,
        totals,
        units,
        transactions,
        notes,
        source,
        retained_cards(r, doc),
    )


def _atm_transaction(r: Reader, t: Any, p: str) -> AtmTransaction:
    t = r.obj(t, p)
    cash = r.obj(r.key(t, "cash", p), p + ".cash")
    host_ref = r.key(t, "host_ref", p)
    reversed_ = r.key(t, "reversed", p)
    if type(reversed_) is not bool:
        raise r.fail(p + ".reversed", f"expected true or false, found {_show(reversed_)}")
    rev_raw = t.get("reversed_amount")
    tx = AtmTransaction(
        tsn=r.text(r.key(t, "tsn", p), p + ".tsn", rules.TSN, "a TSN (1 to 20 of 0-9 A-Z a-z -)"),
        time=r.string(r.key(t, "time", p), p + ".time", rules.TIME, "an RFC 3339 time"),
        type=r.enum(r.key(t, "type", p), p + ".type", TX_TYPES),
        card=r.card(r.key(t, "card", p), p + ".card"),
        amount=r.money(r.key(t, "amount", p), p + ".amount"),
        host_code=r.string(
            r.key(t, "host_code", p), p + ".host_code", rules.HOST_CODE, 'a response code like "00"'
        ),
        host_ref=None
        if host_ref is None
        else r.text(host_ref, p + ".host_ref", None, "a backend reference", 32),
        reversed=reversed_,
        reversed_amount=None if rev_raw is None else r.money(rev_raw, p + ".reversed_amount"),
        taken=r.money(r.key(cash, "taken", p + ".cash"), p + ".cash.taken"),
        retracted=r.money(r.key(cash, "retracted", p + ".cash"), p + ".cash.retracted"),
        deposited=r.money(r.key(cash, "deposited", p + ".cash"), p + ".cash.deposited"),
        returned=r.money(r.key(cash, "returned", p + ".cash"), p + ".cash.returned"),
        unknown=r.money(cash.get("unknown", "0.00"), p + ".cash.unknown"),
    )
    check_transaction(tx, lambda name, message: r.fail(f"{p}.{name}", message))
    return tx


def check_transaction(t: AtmTransaction, fail: Callable[[str, str], FormatError]) -> None:
    """The rules that tie a transaction's fields together; ``fail(field path, message)`` makes
    the error. The engine calls it too, for ledgers built in code."""
    # The spec: a withdrawal's deposited/returned and a deposit's taken/retracted are "0.00",
    # and only a withdrawal loses notes (rev 2). Else a cent could move that no row explains.
    wrong = (
        (("deposited", t.deposited), ("returned", t.returned))
        if t.type == "withdrawal"
        else (("taken", t.taken), ("retracted", t.retracted), ("unknown", t.unknown))
    )
    for name, value in wrong:
        if value:
            raise fail(
                f"cash.{name}",
                f'a {t.type} cannot have cash {name}; expected "0.00" or no such key, '
                f"found {_show(format_amount(value))}",
            )
    ra = t.reversed_amount
    if ra is not None:
        if t.reversed:
            raise fail(
                "reversed_amount",
                f"{_show(format_amount(ra))} with reversed: true; a partial "
                "reversal is recorded with reversed: false",
            )
        if not 0 < ra < t.amount:
            raise fail(
                "reversed_amount",
                f"{_show(format_amount(ra))} is outside its bounds: a partial "
                f"reversal is more than 0.00 and less than the amount "
                f"{format_amount(t.amount)}",
            )


def _scanned_head(head: bytes, source: str, fmt: str) -> dict[str, Any] | None:
    """The C scanner's head (the document with its big arrays replaced by []), decoded; None
    if it is not a ``fmt`` document of that shape (the Python reader then decides)."""
    try:
        doc = decode(head, source)
    except FormatError:
        return None
    if doc.get("format") != fmt or doc.get("transactions") != []:
        return None
    return doc


def _scanned_atm_ledger(data: Any, source: str) -> AtmLedger | None:
    scanned = native.scan_atm(data)
    if scanned is None:
        return None
    head, columns, notes = scanned
    doc = _scanned_head(head, source, ATM_LEDGER)
    if doc is None:
        return None
    doc.pop("notes", None)
    try:  # header, totals, units, retained cards: few, read here
        ledger = parse_atm_ledger(doc, source)
    except FormatError:
        return None
    # the C scanner checks patterns only; a full card number in a TSN or a reference: the
    # general reader names it (``Reader.text``)
    if rules.first_full_card(columns[0]) is not None or rules.first_full_card(columns[6]) is not None:
        return None
    if notes is not None and rules.first_full_card(notes[2]) is not None:  # TSNs the notes name
        return None
    ledger.transactions = list(map(AtmTransaction, *columns))
    if notes is not None:
        count, (start, end), flows, into_units = notes
        ledger.notes = NoteTrail(bytes(data[start:end]), count, flows, into_units)
    return ledger


def _counters(
    r: Reader, value: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]
) -> dict[str, int]:
    obj = r.obj(value, path)
    out = {name: r.integer(r.key(obj, name, path), f"{path}.{name}") for name in required}
    for name in optional:
        if name in obj:
            out[name] = r.integer(obj[name], f"{path}.{name}")
    return out


def atm_ledger_to_dict(ledger: AtmLedger) -> dict[str, Any]:
    fa = format_amount
    doc = {
        "format": ATM_LEDGER,
        "terminal_id": ledger.terminal_id,
        "cycle_id": ledger.cycle_id,
        "currency": ledger.currency,
        "opened_at": ledger.opened_at,
        "closed_at": ledger.closed_at,
        "totals": totals_to_dict(ledger.totals),
        "units": [
            {
                "id": u.id,
                "type": u.type,
                "currency": u.currency,
                "value": None if u.value is None else fa(u.value),
                "initial": u.initial,
                "out": dict(u.out),
                "in": dict(u.in_),
            }
            for u in ledger.units
        ],
        "transactions": [_atm_transaction_dict(t) for t in ledger.transactions],
    }
    if ledger.notes is not None:
        doc["notes"] = [
            {"serial": n.serial, "value": fa(n.value), "tsn": n.tsn, "unit": n.unit, "event": n.event}
            for n in ledger.notes
        ]
    if ledger.retained_cards:
        doc["retained_cards"] = [retained_card_dict(c) for c in ledger.retained_cards]
    return doc


def _atm_transaction_dict(t: AtmTransaction) -> dict[str, Any]:
    """Rev-2 keys only when they say something, so a revision-1 ledger is written as it was."""
    fa = format_amount
    d: dict[str, Any] = {
        "tsn": t.tsn,
        "time": t.time,
        "type": t.type,
        "card": t.card,
        "amount": fa(t.amount),
        "host_code": t.host_code,
        "host_ref": t.host_ref,
        "reversed": t.reversed,
    }
    if t.reversed_amount is not None:
        d["reversed_amount"] = fa(t.reversed_amount)
    cash = {
        "taken": fa(t.taken),
        "retracted": fa(t.retracted),
        "deposited": fa(t.deposited),
        "returned": fa(t.returned),
    }
    if t.unknown:
        cash["unknown"] = fa(t.unknown)
    d["cash"] = cash
    return d


# ---------------------------------------------------------------------------------------------
# host-ledger/1


def parse_host_ledger(data: bytes | str | dict[str, Any], source: str = "<host ledger>") -> HostLedger:
    """A host-ledger/1 document; for bytes the C scanner is tried first."""
    if native is not None and not isinstance(data, (str, dict)):
        ledger = _scanned_host_ledger(data, source)
        if ledger is not None:
            return ledger
    r = Reader(source)
    doc = decode(data, source)
    r.fmt(doc, HOST_LEDGER)
    terminal_id, cycle_id, currency = r.header(doc)
    totals = r.totals(r.key(doc, "totals", "$"), "$.totals")
    transactions: list[HostTransaction] = []
    for i, t in enumerate(r.arr(r.key(doc, "transactions", "$"), "$.transactions")):
        p = f"$.transactions[{i}]"
        t = r.obj(t, p)
        tsn = r.key(t, "tsn", p)
        transactions.append(
            HostTransaction(
                host_ref=r.text(r.key(t, "host_ref", p), p + ".host_ref", None, "a backend reference", 32),
                tsn=None if tsn is None else r.text(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
                time=r.string(r.key(t, "time", p), p + ".time", rules.TIME, "an RFC 3339 time"),
                type=r.enum(r.key(t, "type", p), p + ".type", TX_TYPES),
                card=r.card(r.key(t, "card", p), p + ".card"),
                amount=r.money(r.key(t, "amount", p), p + ".amount"),
                status=r.enum(r.key(t, "status", p), p + ".status", HOST_STATUSES),
            )
        )
    check_host_refs(transactions, lambda j, message: r.fail(f"$.transactions[{j}].host_ref", message))
    return HostLedger(terminal_id, cycle_id, currency, totals, transactions, source)


def check_host_refs(
    transactions: list[HostTransaction],
    fail: Callable[[int, str], Exception],
    where: Callable[[int], str] = lambda i: f"record {i + 1}",
) -> None:
    """Two booked records with one ``host_ref`` are refused: the reconciliation ties records by
    it (rev 2), and a backend's reference names one booking. ``fail(index, message)`` makes the
    error for the second record, ``where(index)`` names the first (a record, a CSV line). A
    reversed record may share its reference with the booking that replaced it: it counts
    nowhere."""
    booked = [t.host_ref for t in transactions if t.status == "booked"]
    if len(set(booked)) == len(booked):
        return
    first: dict[str, int] = {}
    for j, t in enumerate(transactions):
        if t.status != "booked":
            continue
        i = first.setdefault(t.host_ref, j)
        if i != j:
            raise fail(
                j,
                f"backend reference {_show(t.host_ref)} is booked twice (also {where(i)}); "
                "the ledger is damaged; ask the bank's IT for a corrected one",
            )


def _scanned_host_ledger(data: Any, source: str) -> HostLedger | None:
    scanned = native.scan_host(data)
    if scanned is None:
        return None
    head, columns = scanned
    doc = _scanned_head(head, source, HOST_LEDGER)
    if doc is None:
        return None
    if rules.first_full_card(columns[0]) is not None or rules.first_full_card(columns[1]) is not None:
        return None  # a card number in a host_ref or TSN: the general reader names it
    try:
        ledger = parse_host_ledger(doc, source)
    except FormatError:
        return None  # read whole by the caller, which names the fault
    ledger.transactions = list(map(HostTransaction, *columns))
    try:  # booked twice: the general reader names it
        check_host_refs(ledger.transactions, lambda j, message: FormatError(source, "", message))
    except FormatError:
        return None
    return ledger


def host_ledger_to_dict(ledger: HostLedger) -> dict[str, Any]:
    fa = format_amount
    return {
        "format": HOST_LEDGER,
        "terminal_id": ledger.terminal_id,
        "cycle_id": ledger.cycle_id,
        "currency": ledger.currency,
        "totals": totals_to_dict(ledger.totals),
        "transactions": [
            {
                "host_ref": t.host_ref,
                "tsn": t.tsn,
                "time": t.time,
                "type": t.type,
                "card": t.card,
                "amount": fa(t.amount),
                "status": t.status,
            }
            for t in ledger.transactions
        ],
    }


# ---------------------------------------------------------------------------------------------
# counts/1


def parse_counts(data: bytes | str | dict[str, Any], source: str = "<counts>") -> Counts:
    r = Reader(source)
    doc = decode(data, source)
    r.fmt(doc, COUNTS)
    terminal_id, cycle_id, currency = r.header(doc)
    by = r.arr(r.key(doc, "counted_by", "$"), "$.counted_by")
    counted_by = [r.text(v, f"$.counted_by[{i}]", None, "a user name", 32) for i, v in enumerate(by)]
    if len(counted_by) < 2:
        raise r.fail("$.counted_by", "dual custody: at least two custodians must be named")
    if len(set(counted_by)) != len(counted_by):
        raise r.fail("$.counted_by", "dual custody: the custodians must be different people")
    units_raw = r.obj(r.key(doc, "units", "$"), "$.units")
    units = {}
    for uid, amount in units_raw.items():
        if rules.UNIT_ID.match(uid) is None:
            raise r.fail("$.units", f"unit id must be 1 to 5 characters, found {_show(uid)}")
        units[uid] = r.money(amount, f"$.units.{uid}")
    return Counts(terminal_id, cycle_id, currency, counted_by, units, source)


def counts_to_dict(counts: Counts) -> dict[str, Any]:
    return {
        "format": COUNTS,
        "terminal_id": counts.terminal_id,
        "cycle_id": counts.cycle_id,
        "currency": counts.currency,
        "counted_by": list(counts.counted_by),
        "units": {uid: format_amount(v) for uid, v in counts.units.items()},
    }


# ---------------------------------------------------------------------------------------------
# Any document; one clearing


def parse_any(
    data: bytes | str | dict[str, Any], source: str = "<document>"
) -> AtmLedger | HostLedger | Counts | ClearingResult:
    """Parse a document of whichever of the four formats its ``format`` key names."""
    doc = decode(data, source)
    parsers: dict[str, Callable[[dict[str, Any], str], AtmLedger | HostLedger | Counts | ClearingResult]] = {
        ATM_LEDGER: parse_atm_ledger,
        HOST_LEDGER: parse_host_ledger,
        COUNTS: parse_counts,
        CLEARING_RESULT: parse_result,
    }
    fmt = doc.get("format")
    if fmt not in parsers:
        raise FormatError(source, "$.format", f"expected one of {', '.join(parsers)}; found {_show(fmt)}")
    return parsers[fmt](doc, source)


def check_same_clearing(atm: AtmLedger, *others: HostLedger | Counts | None) -> None:
    """All documents of one clearing share terminal, cycle and currency, and a count names only
    units the ATM has, or the clearing is refused."""
    for other in others:
        if other is None:
            continue
        for name in ("terminal_id", "cycle_id", "currency"):
            mine, theirs = getattr(atm, name), getattr(other, name)
            if mine != theirs:
                raise FormatError(
                    other.source,
                    f"$.{name}",
                    f"{_show(theirs)} does not match {_show(mine)} of the ATM ledger {atm.source}",
                )
        if isinstance(other, Counts):
            have = {u.id for u in atm.units}
            for uid in other.units:
                if uid not in have:
                    raise FormatError(
                        other.source,
                        f"$.units.{uid}",
                        f"the ATM ledger {atm.source} has no unit {_show(uid)} "
                        f"(its units: {', '.join(sorted(have)) or 'none'})",
                    )
