"""The four clearing documents (../shared/spec/README.md, rules revision 2): read, validate, write.

``parse_atm_ledger``, ``parse_host_ledger``, ``parse_counts`` and ``parse_result`` take the
raw bytes (or an already decoded dict) of one document and return a plain object
(``documents``), or raise ``FormatError`` naming the source, the JSON path and the offending
value. A document is accepted or refused as a whole. Money becomes integer minor units; a JSON
number where money belongs is refused. A card number that is not masked is refused without
being echoed. This is the one reader of each format that gives errors their words.

For bytes, the ledgers' readers first try the optional C scanner (``_ledgerscan``): one pass
over the bytes by the same rules, no object per banknote. It returns None on anything unusual,
and this module then reads the document itself and names the fault. ``native`` is the scanner
(None when it is not built, or switched off with ``CUSTODIAN_PURE_PYTHON``).

``*_to_dict`` turn the objects back into the JSON shape of the spec; ``dumps`` encodes a dict
as UTF-8 JSON bytes (compact or indented), deterministic for the same input.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from custodian_app.domain import fields as rules
from custodian_app.domain.documents import (
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
from custodian_app.errors import CustodianError

try:  # the optional C scanner (see the module's docstring)
    from custodian_app.domain import _ledgerscan as native
except ImportError:  # pragma: no cover - depends on the build
    native = None

__all__ = [
    "AtmLedger", "AtmTransaction", "CashPosition", "ClearingResult", "Counts", "FormatError",
    "HostLedger", "HostTransaction", "Mismatch", "NoteRecord", "NoteTrail", "RetainedCard",
    "Totals", "TotalsItem", "TypeTotals", "Unit",
]

ATM_LEDGER = "atm-ledger/1"
HOST_LEDGER = "host-ledger/1"
COUNTS = "counts/1"
CLEARING_RESULT = "clearing-result/1"

TX_TYPES = ("withdrawal", "deposit")
UNIT_TYPES = ("cashOut", "cashIn", "recycling", "reject", "retract")
NOTE_EVENTS = ("taken", "retracted", "deposited", "returned", "rejected")
HOST_STATUSES = ("booked", "reversed")
RETAIN_REASONS = ("timeout", "host", "fault", "other")
TOTALS_ITEMS = (
    "loaded_amount",
    "withdrawals.count",
    "withdrawals.amount",
    "deposits.count",
    "deposits.amount",
)
CATEGORIES = (
    "DUPLICATE_BOOKING",
    "UNKNOWN_OUTCOME",
    "HOST_LOST_BOOKING",
    "DISPENSED_NOT_DEBITED",
    "DEPOSIT_NOT_CREDITED",
    "CODE_DISAGREES",
    "AMOUNT_MISMATCH",
    "RETRACTED",
    "DEBITED_NOT_DISPENSED",
    "PARTIAL_DISPENSE",
    "OVER_DISPENSE",
    "CREDITED_NOT_DEPOSITED",
    "DEPOSIT_COUNT_DIFFERS",
    "HOST_ONLY",
    "LOADING_MISMATCH",
    "NOTE_FLOW_MISMATCH",
    "TOTALS_INCONSISTENT",
    "COUNT_DIFFERS",
)
# The C scanner's transaction columns, in AtmTransaction's field order
ATM_COLUMNS = ("tsn", "time", "type", "card", "amount", "host_code", "host_ref", "reversed",
               "reversed_amount", "taken", "retracted", "deposited", "returned", "unknown")

_show = rules.show


class FormatError(CustodianError, ValueError):
    """A clearing document that does not follow its format. Says where: file, JSON path."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        super().__init__(f"{source}: {path}: {message}")


# ---------------------------------------------------------------------------------------------
# Validation helpers. Hand-written rather than a generic schema validator: each check must
# say where it failed. The shipped JSON Schemas are the same rules; tests check that both agree.

class _Reader:
    """Walks one decoded document, raising FormatError with the JSON path on the first fault."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> FormatError:
        return FormatError(self.source, path, message)

    def obj(self, value: Any, path: str) -> dict:
        if type(value) is not dict:
            raise self.fail(path, f"expected an object, found {_show(value)}")
        return value

    def arr(self, value: Any, path: str) -> list:
        if type(value) is not list:
            raise self.fail(path, f"expected an array, found {_show(value)}")
        return value

    def key(self, obj: dict, name: str, path: str) -> Any:
        try:
            return obj[name]
        except KeyError:
            raise self.fail(path, f"required key {name!r} is missing") from None

    def string(self, value: Any, path: str, pattern: Any | None = None,
               what: str = "a string", max_len: int | None = None) -> str:
        if type(value) is not str:
            raise self.fail(path, f"expected {what}, found {_show(value)}")
        if pattern is not None and pattern.match(value) is None:
            raise self.fail(path, f"expected {what}, found {_show(value)}")
        if max_len is not None and not (1 <= len(value) <= max_len):
            raise self.fail(path, f"expected {what} of 1 to {max_len} characters, found {_show(value)}")
        return value

    def money(self, value: Any, path: str) -> int:
        if type(value) is not str:
            raise self.fail(path, f"money must be a string with two decimals like \"1000.00\", found {_show(value)}")
        if rules.MONEY.match(value) is None:
            raise self.fail(path, f"money must have exactly two decimals, like \"1000.00\", found {_show(value)}")
        return int(value.replace(".", "", 1))

    def integer(self, value: Any, path: str) -> int:
        if type(value) is not int or value < 0:
            raise self.fail(path, f"expected a whole number >= 0, found {_show(value)}")
        return value

    def card(self, value: Any, path: str) -> str:
        if type(value) is not str or rules.MASKED_CARD.match(value) is None:
            # Never echo: whatever is there may be a full card number.
            raise self.fail(path, "card number must be masked like 622202******1234 "
                                  "(six digits, 2 to 9 '*', four digits); the value is withheld")
        return value

    def enum(self, value: Any, path: str, allowed: Iterable[str]) -> str:
        if type(value) is not str or value not in allowed:
            raise self.fail(path, f"expected one of {', '.join(allowed)}; found {_show(value)}")
        return value

    def fmt(self, doc: dict, expected: str) -> None:
        value = doc.get("format")
        if value == expected:
            return
        if type(value) is str and value.split("/")[0] == expected.split("/")[0]:
            raise self.fail("$.format", f"unsupported version {_show(value)}; this program reads {expected}")
        if value is None:
            raise self.fail("$.format", f"required key 'format' is missing (expected {expected!r})")
        raise self.fail("$.format", f"expected {expected!r}, found {_show(value)}")

    def header(self, doc: dict) -> tuple[str, str, str]:
        return (
            self.string(self.key(doc, "terminal_id", "$"), "$.terminal_id", None, "a terminal id", 32),
            self.string(self.key(doc, "cycle_id", "$"), "$.cycle_id", None, "a cycle id", 32),
            self.string(self.key(doc, "currency", "$"), "$.currency", rules.CURRENCY, "an ISO 4217 code like CNY"),
        )

    def totals(self, value: Any, path: str) -> Totals:
        t = self.obj(value, path)

        def type_totals(name: str) -> TypeTotals:
            p = f"{path}.{name}"
            tt = self.obj(self.key(t, name, path), p)
            return TypeTotals(
                self.integer(self.key(tt, "count", p), p + ".count"),
                self.money(self.key(tt, "amount", p), p + ".amount"),
            )

        return Totals(
            self.money(self.key(t, "loaded_amount", path), path + ".loaded_amount"),
            type_totals("withdrawals"),
            type_totals("deposits"),
        )


def decode(data: bytes | bytearray | memoryview | str | dict, source: str) -> dict:
    """JSON bytes -> dict, or FormatError saying where the JSON breaks."""
    if isinstance(data, dict):
        return data
    try:
        if isinstance(data, (bytes, bytearray, memoryview, str)):
            doc = orjson.loads(data)
        else:  # a memory-mapped file or another buffer: a view, released right after
            with memoryview(data) as view:
                doc = orjson.loads(view)
    except orjson.JSONDecodeError as exc:
        raise FormatError(source, "$", f"not valid JSON: {exc}") from None
    if type(doc) is not dict:
        raise FormatError(source, "$", f"expected a JSON object, found {_show(doc)}")
    return doc


# ---------------------------------------------------------------------------------------------
# atm-ledger/1


def parse_atm_ledger(data: bytes | str | dict, source: str = "<atm ledger>") -> AtmLedger:
    """An atm-ledger/1 document. For bytes (or a memory map) the C scanner is tried first;
    its ``notes`` are then a ``NoteTrail`` (records built when looked at)."""
    if native is not None and not isinstance(data, (str, dict)):
        ledger = _scanned_atm_ledger(data, source)
        if ledger is not None:
            return ledger
    r = _Reader(source)
    doc = decode(data, source)
    r.fmt(doc, ATM_LEDGER)
    terminal_id, cycle_id, currency = r.header(doc)
    opened_at = r.string(r.key(doc, "opened_at", "$"), "$.opened_at", rules.TIME, "an RFC 3339 time")
    closed_raw = r.key(doc, "closed_at", "$")
    closed_at = None if closed_raw is None else r.string(closed_raw, "$.closed_at", rules.TIME, "an RFC 3339 time or null")
    totals = r.totals(r.key(doc, "totals", "$"), "$.totals")

    units: list[Unit] = []
    for i, u in enumerate(r.arr(r.key(doc, "units", "$"), "$.units")):
        p = f"$.units[{i}]"
        u = r.obj(u, p)
        value = r.key(u, "value", p)
        units.append(Unit(
            id=r.string(r.key(u, "id", p), p + ".id", rules.UNIT_ID, "a unit id of 1 to 5 characters"),
            type=r.enum(r.key(u, "type", p), p + ".type", UNIT_TYPES),
            currency=r.string(r.key(u, "currency", p), p + ".currency", rules.CURRENCY, "an ISO 4217 code"),
            value=None if value is None else r.money(value, p + ".value"),
            initial=r.integer(r.key(u, "initial", p), p + ".initial"),
            out=_counters(r, r.key(u, "out", p), p + ".out", OUT_COUNTERS, OUT_COUNTERS_OPTIONAL),
            in_=_counters(r, r.key(u, "in", p), p + ".in", IN_COUNTERS, IN_COUNTERS_OPTIONAL),
        ))

    transactions = [_atm_transaction(r, t, f"$.transactions[{i}]")
                    for i, t in enumerate(r.arr(r.key(doc, "transactions", "$"), "$.transactions"))]
    seen: set[str] = set()
    for i, t in enumerate(transactions):
        if t.tsn in seen:
            raise r.fail(f"$.transactions[{i}].tsn",
                         f"TSN {t.tsn!r} appears twice; a TSN is unique within a cycle")
        seen.add(t.tsn)

    notes: list[NoteRecord] | None = None
    if "notes" in doc:
        notes = []
        for i, n in enumerate(r.arr(doc["notes"], "$.notes")):
            p = f"$.notes[{i}]"
            n = r.obj(n, p)
            tsn = r.key(n, "tsn", p)
            notes.append(NoteRecord(
                serial=r.string(r.key(n, "serial", p), p + ".serial", rules.SERIAL, "a serial of 6 to 12 of A-Z 0-9 ?"),
                value=r.money(r.key(n, "value", p), p + ".value"),
                tsn=None if tsn is None else r.string(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
                unit=r.string(r.key(n, "unit", p), p + ".unit", rules.UNIT_ID, "a unit id of 1 to 5 characters"),
                event=r.enum(r.key(n, "event", p), p + ".event", NOTE_EVENTS),
            ))

    return AtmLedger(terminal_id, cycle_id, currency, opened_at, closed_at, totals, units,
                     transactions, notes, source, _retained_cards(r, doc))


def _atm_transaction(r: _Reader, t: Any, p: str) -> AtmTransaction:
    t = r.obj(t, p)
    cash = r.obj(r.key(t, "cash", p), p + ".cash")
    host_ref = r.key(t, "host_ref", p)
    reversed_ = r.key(t, "reversed", p)
    if type(reversed_) is not bool:
        raise r.fail(p + ".reversed", f"expected true or false, found {_show(reversed_)}")
    rev_raw = t.get("reversed_amount")
    tx = AtmTransaction(
        tsn=r.string(r.key(t, "tsn", p), p + ".tsn", rules.TSN, "a TSN (1 to 20 of 0-9 A-Z a-z -)"),
        time=r.string(r.key(t, "time", p), p + ".time", rules.TIME, "an RFC 3339 time"),
        type=r.enum(r.key(t, "type", p), p + ".type", TX_TYPES),
        card=r.card(r.key(t, "card", p), p + ".card"),
        amount=r.money(r.key(t, "amount", p), p + ".amount"),
        host_code=r.string(r.key(t, "host_code", p), p + ".host_code", rules.HOST_CODE, "a response code like \"00\""),
        host_ref=None if host_ref is None else r.string(host_ref, p + ".host_ref", None, "a backend reference", 32),
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


def check_transaction(t: AtmTransaction, fail) -> None:
    """The rules that tie a transaction's fields together; ``fail(field path, message)`` makes
    the error. The engine calls it too, for ledgers built in code."""
    # The spec: a withdrawal's deposited/returned and a deposit's taken/retracted are "0.00",
    # and only a withdrawal loses notes (rev 2). Else a cent could move that no row explains.
    wrong = (("deposited", t.deposited), ("returned", t.returned)) if t.type == "withdrawal" \
        else (("taken", t.taken), ("retracted", t.retracted), ("unknown", t.unknown))
    for name, value in wrong:
        if value:
            raise fail(f"cash.{name}",
                       f"a {t.type} cannot have cash {name}; expected \"0.00\" or no such key, "
                       f"found {_show(format_amount(value))}")
    ra = t.reversed_amount
    if ra is not None:
        if t.reversed:
            raise fail("reversed_amount", f"{_show(format_amount(ra))} with reversed: true; a partial "
                                          "reversal is recorded with reversed: false")
        if not 0 < ra < t.amount:
            raise fail("reversed_amount", f"{_show(format_amount(ra))} is outside its bounds: a partial "
                                          f"reversal is more than 0.00 and less than the amount "
                                          f"{format_amount(t.amount)}")


def _retained_cards(r: _Reader, doc: dict) -> list[RetainedCard]:
    out = []
    for i, c in enumerate(r.arr(doc.get("retained_cards", []), "$.retained_cards")):
        p = f"$.retained_cards[{i}]"
        c = r.obj(c, p)
        tsn = r.key(c, "tsn", p)
        out.append(RetainedCard(
            time=r.string(r.key(c, "time", p), p + ".time", rules.TIME, "an RFC 3339 time"),
            card=r.card(r.key(c, "card", p), p + ".card"),
            tsn=None if tsn is None else r.string(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
            reason=r.enum(r.key(c, "reason", p), p + ".reason", RETAIN_REASONS),
        ))
    return out


def _scanned_head(head: bytes, source: str, fmt: str) -> dict | None:
    """The C scanner's head (the document with its big arrays replaced by []), decoded; None
    if it is not a ``fmt`` document of that shape (the Python reader then decides)."""
    try:
        doc = decode(head, source)
    except FormatError:
        return None
    if doc.get("format") != fmt or doc.get("transactions") != []:
        return None
    return doc


def _scanned_atm_ledger(data, source: str) -> AtmLedger | None:
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
    ledger.transactions = list(map(AtmTransaction, *columns))
    if notes is not None:
        count, (start, end), flows, into_units = notes
        ledger.notes = NoteTrail(bytes(data[start:end]), count, flows, into_units)
    return ledger


def _counters(r: _Reader, value: Any, path: str, required: tuple, optional: tuple) -> dict[str, int]:
    obj = r.obj(value, path)
    out = {name: r.integer(r.key(obj, name, path), f"{path}.{name}") for name in required}
    for name in optional:
        if name in obj:
            out[name] = r.integer(obj[name], f"{path}.{name}")
    return out


def _totals_to_dict(t: Totals) -> dict:
    return {
        "loaded_amount": format_amount(t.loaded_amount),
        "withdrawals": {"count": t.withdrawals.count, "amount": format_amount(t.withdrawals.amount)},
        "deposits": {"count": t.deposits.count, "amount": format_amount(t.deposits.amount)},
    }


def atm_ledger_to_dict(ledger: AtmLedger) -> dict:
    fa = format_amount
    doc = {
        "format": ATM_LEDGER,
        "terminal_id": ledger.terminal_id,
        "cycle_id": ledger.cycle_id,
        "currency": ledger.currency,
        "opened_at": ledger.opened_at,
        "closed_at": ledger.closed_at,
        "totals": _totals_to_dict(ledger.totals),
        "units": [
            {"id": u.id, "type": u.type, "currency": u.currency,
             "value": None if u.value is None else fa(u.value), "initial": u.initial,
             "out": dict(u.out), "in": dict(u.in_)}
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


def _atm_transaction_dict(t: AtmTransaction) -> dict:
    """Rev-2 keys only when they say something, so a revision-1 ledger is written as it was."""
    fa = format_amount
    d: dict[str, Any] = {"tsn": t.tsn, "time": t.time, "type": t.type, "card": t.card,
                         "amount": fa(t.amount), "host_code": t.host_code, "host_ref": t.host_ref,
                         "reversed": t.reversed}
    if t.reversed_amount is not None:
        d["reversed_amount"] = fa(t.reversed_amount)
    cash = {"taken": fa(t.taken), "retracted": fa(t.retracted), "deposited": fa(t.deposited),
            "returned": fa(t.returned)}
    if t.unknown:
        cash["unknown"] = fa(t.unknown)
    d["cash"] = cash
    return d


def retained_card_dict(c: RetainedCard) -> dict:
    return {"time": c.time, "card": c.card, "tsn": c.tsn, "reason": c.reason}


# ---------------------------------------------------------------------------------------------
# host-ledger/1


def parse_host_ledger(data: bytes | str | dict, source: str = "<host ledger>") -> HostLedger:
    """A host-ledger/1 document; for bytes the C scanner is tried first."""
    if native is not None and not isinstance(data, (str, dict)):
        ledger = _scanned_host_ledger(data, source)
        if ledger is not None:
            return ledger
    r = _Reader(source)
    doc = decode(data, source)
    r.fmt(doc, HOST_LEDGER)
    terminal_id, cycle_id, currency = r.header(doc)
    totals = r.totals(r.key(doc, "totals", "$"), "$.totals")
    transactions: list[HostTransaction] = []
    for i, t in enumerate(r.arr(r.key(doc, "transactions", "$"), "$.transactions")):
        p = f"$.transactions[{i}]"
        t = r.obj(t, p)
        tsn = r.key(t, "tsn", p)
        transactions.append(HostTransaction(
            host_ref=r.string(r.key(t, "host_ref", p), p + ".host_ref", None, "a backend reference", 32),
            tsn=None if tsn is None else r.string(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
            time=r.string(r.key(t, "time", p), p + ".time", rules.TIME, "an RFC 3339 time"),
            type=r.enum(r.key(t, "type", p), p + ".type", TX_TYPES),
            card=r.card(r.key(t, "card", p), p + ".card"),
            amount=r.money(r.key(t, "amount", p), p + ".amount"),
            status=r.enum(r.key(t, "status", p), p + ".status", HOST_STATUSES),
        ))
    return HostLedger(terminal_id, cycle_id, currency, totals, transactions, source)


def _scanned_host_ledger(data, source: str) -> HostLedger | None:
    scanned = native.scan_host(data)
    if scanned is None:
        return None
    head, columns = scanned
    doc = _scanned_head(head, source, HOST_LEDGER)
    if doc is None:
        return None
    try:
        ledger = parse_host_ledger(doc, source)
    except FormatError:
        return None  # read whole by the caller, which names the fault
    ledger.transactions = list(map(HostTransaction, *columns))
    return ledger


def host_ledger_to_dict(ledger: HostLedger) -> dict:
    fa = format_amount
    return {
        "format": HOST_LEDGER,
        "terminal_id": ledger.terminal_id,
        "cycle_id": ledger.cycle_id,
        "currency": ledger.currency,
        "totals": _totals_to_dict(ledger.totals),
        "transactions": [
            {"host_ref": t.host_ref, "tsn": t.tsn, "time": t.time, "type": t.type, "card": t.card,
             "amount": fa(t.amount), "status": t.status}
            for t in ledger.transactions
        ],
    }


# ---------------------------------------------------------------------------------------------
# counts/1


def parse_counts(data: bytes | str | dict, source: str = "<counts>") -> Counts:
    r = _Reader(source)
    doc = decode(data, source)
    r.fmt(doc, COUNTS)
    terminal_id, cycle_id, currency = r.header(doc)
    by = r.arr(r.key(doc, "counted_by", "$"), "$.counted_by")
    counted_by = [r.string(v, f"$.counted_by[{i}]", None, "a user name", 32) for i, v in enumerate(by)]
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


def counts_to_dict(counts: Counts) -> dict:
    return {
        "format": COUNTS,
        "terminal_id": counts.terminal_id,
        "cycle_id": counts.cycle_id,
        "currency": counts.currency,
        "counted_by": list(counts.counted_by),
        "units": {uid: format_amount(v) for uid, v in counts.units.items()},
    }


# ---------------------------------------------------------------------------------------------
# clearing-result/1

def _signed(r: _Reader, value: Any, path: str) -> int:
    if type(value) is not str or rules.SIGNED_MONEY.match(value) is None:
        raise r.fail(path, f"expected a signed amount like \"-50.00\", found {_show(value)}")
    return int(value.replace(".", "", 1))


def parse_result(data: bytes | str | dict, source: str = "<clearing result>") -> ClearingResult:
    r = _Reader(source)
    doc = decode(data, source)
    r.fmt(doc, CLEARING_RESULT)
    terminal_id, cycle_id, currency = r.header(doc)
    totals_raw = r.arr(r.key(doc, "totals", "$"), "$.totals")
    if len(totals_raw) != 5:
        raise r.fail("$.totals", f"expected the 5 totals items, found {len(totals_raw)}")
    totals = []
    for i, t in enumerate(totals_raw):
        p = f"$.totals[{i}]"
        t = r.obj(t, p)
        item = r.enum(r.key(t, "item", p), p + ".item", TOTALS_ITEMS)
        conv = r.integer if item.endswith(".count") else r.money
        ti = TotalsItem(item, conv(r.key(t, "atm", p), p + ".atm"), conv(r.key(t, "host", p), p + ".host"))
        if r.key(t, "equal", p) is not ti.equal:
            raise r.fail(p + ".equal", "does not agree with the atm and host figures")
        totals.append(ti)
    cp_raw = r.obj(r.key(doc, "cash_position", "$"), "$.cash_position")
    p = "$.cash_position"
    counted_raw = r.key(cp_raw, "counted", p)
    cp = CashPosition(
        _signed(r, r.key(cp_raw, "atm_expected", p), p + ".atm_expected"),
        _signed(r, r.key(cp_raw, "host_expected", p), p + ".host_expected"),
        None if counted_raw is None else r.money(counted_raw, p + ".counted"),
    )
    for name in ("difference", "counted_vs_atm", "counted_vs_host"):
        raw = r.key(cp_raw, name, p)
        want = getattr(cp, name)
        got = None if raw is None else _signed(r, raw, f"{p}.{name}")
        if got != want:
            raise r.fail(f"{p}.{name}", f"{_show(raw)} does not follow from the other figures")
    mismatches = []
    for i, m in enumerate(r.arr(r.key(doc, "mismatches", "$"), "$.mismatches")):
        p = f"$.mismatches[{i}]"
        m = r.obj(m, p)
        tsn = r.key(m, "tsn", p)
        typ = r.key(m, "type", p)
        atm_amount = r.key(m, "atm_amount", p)
        host_amount = r.key(m, "host_amount", p)
        reject_code = r.key(m, "reject_code", p)
        refs = r.arr(r.key(m, "host_refs", p), p + ".host_refs")
        side = m.get("side")
        card = m.get("card")
        mismatches.append(Mismatch(
            category=r.enum(r.key(m, "category", p), p + ".category", CATEGORIES),
            tsn=None if tsn is None else r.string(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
            type=None if typ is None else r.enum(typ, p + ".type", TX_TYPES),
            atm_amount=None if atm_amount is None else r.money(atm_amount, p + ".atm_amount"),
            host_amount=None if host_amount is None else r.money(host_amount, p + ".host_amount"),
            reject_code=None if reject_code is None else r.string(reject_code, p + ".reject_code"),
            cash_effect=_signed(r, r.key(m, "cash_effect", p), p + ".cash_effect"),
            action=r.string(r.key(m, "action", p), p + ".action"),
            action_en=r.string(m.get("action_en", ""), p + ".action_en"),
            host_refs=[r.string(v, f"{p}.host_refs[{j}]", None, "a backend reference", 32) for j, v in enumerate(refs)],
            side=None if side is None else r.enum(side, p + ".side", ("atm", "host")),
            item=None if m.get("item") is None else r.string(m["item"], p + ".item"),
            time=None if m.get("time") is None else r.string(m["time"], p + ".time", rules.TIME, "an RFC 3339 time"),
            card=None if card is None else r.card(card, p + ".card"),
            unit=None if m.get("unit") is None else r.string(m["unit"], p + ".unit", rules.UNIT_ID, "a unit id"),
            counted=None if m.get("counted") is None else r.money(m["counted"], p + ".counted"),
            derived=None if m.get("derived") is None else r.money(m["derived"], p + ".derived"),
            reversed_amount=(None if m.get("reversed_amount") is None
                             else r.money(m["reversed_amount"], p + ".reversed_amount")),
        ))
    result = ClearingResult(terminal_id, cycle_id, currency, totals, cp, mismatches, source,
                            _retained_cards(r, doc))
    if r.key(doc, "balanced", "$") is not result.balanced:
        raise r.fail("$.balanced", "does not follow from the totals, the mismatches and the cash position")
    return result


def result_to_dict(result: ClearingResult) -> dict:
    fa = format_amount
    cp = result.cash_position

    def opt(v: int | None) -> str | None:
        return None if v is None else fa(v)

    mismatches = []
    for m in result.mismatches:
        d = {
            "category": m.category, "tsn": m.tsn, "host_refs": list(m.host_refs), "type": m.type,
            "atm_amount": opt(m.atm_amount), "host_amount": opt(m.host_amount),
            "reject_code": m.reject_code, "cash_effect": fa(m.cash_effect),
            "action": m.action, "action_en": m.action_en,
        }
        if m.side is not None:
            d["side"] = m.side
        if m.item is not None:
            d["item"] = m.item
        if m.time is not None:
            d["time"] = m.time
        if m.card is not None:
            d["card"] = m.card
        if m.unit is not None:
            d["unit"] = m.unit
        if m.counted is not None:
            d["counted"] = fa(m.counted)
        if m.derived is not None:
            d["derived"] = fa(m.derived)
        if m.reversed_amount is not None:
            d["reversed_amount"] = fa(m.reversed_amount)
        mismatches.append(d)
    return {
        "format": CLEARING_RESULT,
        "terminal_id": result.terminal_id,
        "cycle_id": result.cycle_id,
        "currency": result.currency,
        "totals": [
            {"item": t.item,
             "atm": fa(t.atm) if t.is_amount else t.atm,
             "host": fa(t.host) if t.is_amount else t.host,
             "equal": t.equal}
            for t in result.totals
        ],
        "cash_position": {
            "atm_expected": fa(cp.atm_expected), "host_expected": fa(cp.host_expected),
            "difference": fa(cp.difference), "counted": opt(cp.counted),
            "counted_vs_atm": opt(cp.counted_vs_atm), "counted_vs_host": opt(cp.counted_vs_host),
        },
        "balanced": result.balanced,
        "mismatches": mismatches,
        "retained_cards": [retained_card_dict(c) for c in result.retained_cards],
    }


# ---------------------------------------------------------------------------------------------
# Any document; one clearing


def parse_any(data: bytes | str | dict, source: str = "<document>"):
    """Parse a document of whichever of the four formats its ``format`` key names."""
    doc = decode(data, source)
    parsers = {ATM_LEDGER: parse_atm_ledger, HOST_LEDGER: parse_host_ledger,
               COUNTS: parse_counts, CLEARING_RESULT: parse_result}
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
                raise FormatError(other.source, f"$.{name}",
                                  f"{_show(theirs)} does not match {_show(mine)} of the ATM ledger {atm.source}")
        if isinstance(other, Counts):
            have = {u.id for u in atm.units}
            for uid in other.units:
                if uid not in have:
                    raise FormatError(other.source, f"$.units.{uid}",
                                      f"the ATM ledger {atm.source} has no unit {_show(uid)} "
                                      f"(its units: {', '.join(sorted(have)) or 'none'})")


def dumps(doc: dict, *, indent: bool = False) -> bytes:
    """UTF-8 JSON; Chinese stays readable; the same dict always gives the same bytes."""
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(doc, option=option)
