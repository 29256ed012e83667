"""The four clearing documents (../shared/spec/README.md): read, validate, write.

``parse_atm_ledger``, ``parse_host_ledger``, ``parse_counts`` and ``parse_result`` take the
raw bytes (or an already decoded dict) of one document and return a plain object, or raise
``FormatError`` naming the source, the JSON path and the offending value. A document is
accepted or refused as a whole. Money becomes integer minor units; a JSON number where money
belongs is refused. A card number that is not masked is refused without being echoed.

``*_to_dict`` turn the objects back into the JSON shape of the spec; ``dumps`` encodes a dict
as UTF-8 JSON bytes (compact or indented), deterministic for the same input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from custodian_app.errors import CustodianError, scrub
from custodian_app.domain import jsoncodec
from custodian_app.domain.money import format_amount
from custodian_app.domain.recordclass import field, record

TYPE_CHECKING = False  # typing costs every command 4 ms to import; annotations are strings
if TYPE_CHECKING:
    from typing import Any

ATM_LEDGER = "atm-ledger/1"
HOST_LEDGER = "host-ledger/1"
COUNTS = "counts/1"
CLEARING_RESULT = "clearing-result/1"

TX_TYPES = ("withdrawal", "deposit")
UNIT_TYPES = ("cashOut", "cashIn", "recycling", "reject", "retract")
NOTE_EVENTS = ("taken", "retracted", "deposited", "returned", "rejected")
HOST_STATUSES = ("booked", "reversed")
TOTALS_ITEMS = (
    "loaded_amount",
    "withdrawals.count",
    "withdrawals.amount",
    "deposits.count",
    "deposits.amount",
)
CATEGORIES = (
    "DUPLICATE_BOOKING",
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
)
# XFS4IoT counters: the spec requires the first ones; the others are kept when present.
OUT_COUNTERS = ("presented", "rejected", "distributed", "unknown")
OUT_COUNTERS_OPTIONAL = ("stacked", "diverted", "transport")
IN_COUNTERS = ("deposited", "retracted", "rejected")
IN_COUNTERS_OPTIONAL = ("retractOperations", "distributed", "transport")


class FormatError(CustodianError, ValueError):
    """A clearing document that does not follow its format. Says where: file, JSON path."""

    def __init__(self, source: str, path: str, message: str) -> None:
        self.source = source
        self.path = path
        self.message = message
        super().__init__(f"{source}: {path}: {message}")


# ---------------------------------------------------------------------------------------------
# The documents as objects. Money fields are int minor units.


@record(slots=True)
class TypeTotals:
    """One type's totals: how many, and their sum in minor units."""

    count: int
    amount: int


@record(slots=True)
class Totals:
    """A ledger's totals: cash loaded, and the booked withdrawals and deposits."""

    loaded_amount: int
    withdrawals: TypeTotals
    deposits: TypeTotals


@record(slots=True)
class Unit:
    """An XFS4IoT storage unit. ``value`` is the denomination (minor units) or None (mixed)."""

    id: str
    type: str
    currency: str
    value: int | None
    initial: int
    out: dict[str, int]
    in_: dict[str, int]

    @property
    def count(self) -> int:
        """The current count is derived, never reported: initial + sum(in) - sum(out)."""
        return self.initial + sum(self.in_.values()) - sum(self.out.values())


@record(slots=True)
class AtmTransaction:
    """One ATM transaction (money in minor units): what was asked, the backend's answer as the ATM recorded it, and the cash that moved."""

    tsn: str
    time: str
    type: str
    card: str
    amount: int
    host_code: str
    host_ref: str | None
    reversed: bool
    # what physically happened to the cash (``cash`` in the document)
    taken: int = 0
    retracted: int = 0
    deposited: int = 0
    returned: int = 0


@record(slots=True)
class NoteRecord:
    """One banknote movement of the 冠字号 trail (``tsn`` None: outside any transaction)."""

    serial: str
    value: int
    tsn: str | None
    unit: str
    event: str


@record(slots=True)
class AtmLedger:
    """atm-ledger/1: the ATM's books for one cycle (the reference)."""

    terminal_id: str
    cycle_id: str
    currency: str
    opened_at: str
    closed_at: str | None
    totals: Totals
    units: list[Unit]
    transactions: list[AtmTransaction]
    notes: list[NoteRecord] | None = None
    source: str = field(default="<atm ledger>", compare=False)


@record(slots=True)
class HostTransaction:
    """One backend record; only ``booked`` ones count."""

    host_ref: str
    tsn: str | None
    time: str
    type: str
    card: str
    amount: int
    status: str


@record(slots=True)
class HostLedger:
    """host-ledger/1: the backend's books for the same cycle."""

    terminal_id: str
    cycle_id: str
    currency: str
    totals: Totals
    transactions: list[HostTransaction]
    source: str = field(default="<host ledger>", compare=False)


@record(slots=True)
class Counts:
    """counts/1: the cash the custodians found in each unit (minor units)."""

    terminal_id: str
    cycle_id: str
    currency: str
    counted_by: list[str]
    units: dict[str, int]
    source: str = field(default="<counts>", compare=False)

    @property
    def total(self) -> int:
        return sum(self.units.values())


@record(slots=True)
class TotalsItem:
    """One line of the totals check: the ATM's figure and the backend's."""

    item: str
    atm: int  # minor units for amounts, a plain count for counts
    host: int

    @property
    def equal(self) -> bool:
        return self.atm == self.host

    @property
    def is_amount(self) -> bool:
        return not self.item.endswith(".count")


@record(slots=True)
class CashPosition:
    """What the cash should be by each side's books, and what was counted."""

    atm_expected: int
    host_expected: int
    counted: int | None = None

    @property
    def difference(self) -> int:
        """Positive: overage (长款) against the backend's books; negative: shortage (短款)."""
        return self.atm_expected - self.host_expected

    @property
    def counted_vs_atm(self) -> int | None:
        return None if self.counted is None else self.counted - self.atm_expected

    @property
    def counted_vs_host(self) -> int | None:
        return None if self.counted is None else self.counted - self.host_expected


@record(slots=True)
class Mismatch:
    """One entry of the mismatch list: its category, the figures of both sides, its cash effect and what to do."""

    category: str
    tsn: str | None
    type: str | None
    atm_amount: int | None
    host_amount: int | None
    reject_code: str | None
    cash_effect: int
    action: str = ""  # what to do, Chinese
    action_en: str = ""  # the same in English
    host_refs: list[str] = field(default_factory=list)
    side: str | None = None  # TOTALS_INCONSISTENT only
    item: str | None = None  # TOTALS_INCONSISTENT only
    time: str | None = None  # the ATM transaction's time, when there is one
    card: str | None = None  # masked card, when there is one


@record(slots=True)
class ClearingResult:
    """clearing-result/1: the reconciliation's conclusion."""

    terminal_id: str
    cycle_id: str
    currency: str
    totals: list[TotalsItem]
    cash_position: CashPosition
    mismatches: list[Mismatch]
    source: str = field(default="<clearing result>", compare=False)

    @property
    def balanced(self) -> bool:
        cp = self.cash_position
        if self.mismatches or not all(t.equal for t in self.totals):
            return False
        if cp.counted is not None and not (cp.counted == cp.atm_expected == cp.host_expected):
            return False
        return True


# ---------------------------------------------------------------------------------------------
# Validation helpers. Hand-written rather than a generic schema validator: the ledgers can
# hold a million records, and each check must say where it failed. The shipped JSON Schemas
# are the same rules; tests check that both agree.

_MONEY = re.compile(r"(?:0|[1-9][0-9]{0,14})\.[0-9]{2}\Z")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)\Z")
_CURRENCY = re.compile(r"[A-Z]{3}\Z")
_TSN = re.compile(r"[0-9A-Za-z-]{1,20}\Z")
_CARD = re.compile(r"[0-9]{6}\*{2,9}[0-9]{4}\Z")
_HOST_CODE = re.compile(r"[0-9A-Z]{2,3}\Z")
_SERIAL = re.compile(r"[A-Z0-9?]{6,12}\Z")
_UNIT_ID = re.compile(r".{1,5}\Z", re.S)


def _show(value: Any) -> str:
    """A short, safe rendering of an offending value for an error message."""
    if isinstance(value, float):
        text = f"the number {value!r}"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = "null"
    elif isinstance(value, (dict, list)):
        text = "an object" if isinstance(value, dict) else "an array"
    else:
        text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return scrub(text)


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

    def string(self, value: Any, path: str, pattern: re.Pattern | None = None,
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
        if _MONEY.match(value) is None:
            raise self.fail(path, f"money must have exactly two decimals, like \"1000.00\", found {_show(value)}")
        return int(value.replace(".", "", 1))

    def integer(self, value: Any, path: str) -> int:
        if type(value) is not int or value < 0:
            raise self.fail(path, f"expected a whole number >= 0, found {_show(value)}")
        return value

    def card(self, value: Any, path: str) -> str:
        if type(value) is not str or _CARD.match(value) is None:
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
            self.string(self.key(doc, "currency", "$"), "$.currency", _CURRENCY, "an ISO 4217 code like CNY"),
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
            doc = jsoncodec.loads(data)
        else:  # a memory-mapped file or another buffer: a view, released right after
            with memoryview(data) as view:
                doc = jsoncodec.loads(view)
    except ValueError as exc:  # orjson.JSONDecodeError
        raise FormatError(source, "$", f"not valid JSON: {exc}") from None
    if type(doc) is not dict:
        raise FormatError(source, "$", f"expected a JSON object, found {_show(doc)}")
    return doc


# ---------------------------------------------------------------------------------------------
# atm-ledger/1


def parse_atm_ledger(data: bytes | str | dict, source: str = "<atm ledger>", *,
                     lazy: bool = False) -> AtmLedger:
    """``lazy``: keep the fast reader's columns and note count instead of building a record
    object per transaction and per banknote (``transactions`` and ``notes`` are then list-like
    ``fastpath.AtmTransactions`` / ``NoteTrail`` that build the records when first looked at).
    For the command line and big cycles; by default they are plain lists."""
    if not isinstance(data, (str, dict)):
        # Big ledgers: the same rules checked a column at a time; None means "use the
        # general reader", which names any fault exactly. A memory-mapped file is read in
        # place (``find`` and slices), saving a copy of a ledger that can be a gigabyte.
        from custodian_app.domain import fastpath

        fast = fastpath.parse_atm_ledger(data if hasattr(data, "find") else bytes(data), source)
        if fast is not None:
            if not lazy:
                fast.transactions = list(fast.transactions)
                fast.notes = None if fast.notes is None else list(fast.notes)
            return fast
    r = _Reader(source)
    doc = decode(data, source)
    r.fmt(doc, ATM_LEDGER)
    terminal_id, cycle_id, currency = r.header(doc)
    opened_at = r.string(r.key(doc, "opened_at", "$"), "$.opened_at", _TIME, "an RFC 3339 time")
    closed_raw = r.key(doc, "closed_at", "$")
    closed_at = None if closed_raw is None else r.string(closed_raw, "$.closed_at", _TIME, "an RFC 3339 time or null")
    totals = r.totals(r.key(doc, "totals", "$"), "$.totals")

    units: list[Unit] = []
    for i, u in enumerate(r.arr(r.key(doc, "units", "$"), "$.units")):
        p = f"$.units[{i}]"
        u = r.obj(u, p)
        value = r.key(u, "value", p)
        units.append(Unit(
            id=r.string(r.key(u, "id", p), p + ".id", _UNIT_ID, "a unit id of 1 to 5 characters"),
            type=r.enum(r.key(u, "type", p), p + ".type", UNIT_TYPES),
            currency=r.string(r.key(u, "currency", p), p + ".currency", _CURRENCY, "an ISO 4217 code"),
            value=None if value is None else r.money(value, p + ".value"),
            initial=r.integer(r.key(u, "initial", p), p + ".initial"),
            out=_counters(r, r.key(u, "out", p), p + ".out", OUT_COUNTERS, OUT_COUNTERS_OPTIONAL),
            in_=_counters(r, r.key(u, "in", p), p + ".in", IN_COUNTERS, IN_COUNTERS_OPTIONAL),
        ))

    transactions: list[AtmTransaction] = []
    seen: set[str] = set()
    for i, t in enumerate(r.arr(r.key(doc, "transactions", "$"), "$.transactions")):
        p = f"$.transactions[{i}]"
        t = r.obj(t, p)
        tsn = r.string(r.key(t, "tsn", p), p + ".tsn", _TSN, "a TSN (1 to 20 of 0-9 A-Z a-z -)")
        if tsn in seen:
            raise r.fail(p + ".tsn", f"TSN {tsn!r} appears twice; a TSN is unique within a cycle")
        seen.add(tsn)
        cash = r.obj(r.key(t, "cash", p), p + ".cash")
        host_ref = r.key(t, "host_ref", p)
        reversed_ = r.key(t, "reversed", p)
        if type(reversed_) is not bool:
            raise r.fail(p + ".reversed", f"expected true or false, found {_show(reversed_)}")
        transactions.append(AtmTransaction(
            tsn=tsn,
            time=r.string(r.key(t, "time", p), p + ".time", _TIME, "an RFC 3339 time"),
            type=r.enum(r.key(t, "type", p), p + ".type", TX_TYPES),
            card=r.card(r.key(t, "card", p), p + ".card"),
            amount=r.money(r.key(t, "amount", p), p + ".amount"),
            host_code=r.string(r.key(t, "host_code", p), p + ".host_code", _HOST_CODE, "a response code like \"00\""),
            host_ref=None if host_ref is None else r.string(host_ref, p + ".host_ref", None, "a backend reference", 32),
            reversed=reversed_,
            taken=r.money(r.key(cash, "taken", p + ".cash"), p + ".cash.taken"),
            retracted=r.money(r.key(cash, "retracted", p + ".cash"), p + ".cash.retracted"),
            deposited=r.money(r.key(cash, "deposited", p + ".cash"), p + ".cash.deposited"),
            returned=r.money(r.key(cash, "returned", p + ".cash"), p + ".cash.returned"),
        ))
        _check_cash_fits_type(r, transactions[-1], p)

    notes: list[NoteRecord] | None = None
    if "notes" in doc:
        notes = []
        for i, n in enumerate(r.arr(doc["notes"], "$.notes")):
            p = f"$.notes[{i}]"
            n = r.obj(n, p)
            tsn = r.key(n, "tsn", p)
            notes.append(NoteRecord(
                serial=r.string(r.key(n, "serial", p), p + ".serial", _SERIAL, "a serial of 6 to 12 of A-Z 0-9 ?"),
                value=r.money(r.key(n, "value", p), p + ".value"),
                tsn=None if tsn is None else r.string(tsn, p + ".tsn", _TSN, "a TSN or null"),
                unit=r.string(r.key(n, "unit", p), p + ".unit", _UNIT_ID, "a unit id of 1 to 5 characters"),
                event=r.enum(r.key(n, "event", p), p + ".event", NOTE_EVENTS),
            ))

    return AtmLedger(terminal_id, cycle_id, currency, opened_at, closed_at, totals, units,
                     transactions, notes, source)


def _check_cash_fits_type(r: _Reader, t: AtmTransaction, path: str) -> None:
    # The spec: a withdrawal's deposited/returned and a deposit's taken/retracted are "0.00".
    # Without this a cent could move that no reconciliation row accounts for.
    wrong = (("deposited", t.deposited), ("returned", t.returned)) if t.type == "withdrawal" \
        else (("taken", t.taken), ("retracted", t.retracted))
    for name, value in wrong:
        if value:
            raise r.fail(f"{path}.cash.{name}",
                         f"a {t.type} cannot have cash {name}; expected \"0.00\", found {_show(format_amount(value))}")


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
        "transactions": [
            {"tsn": t.tsn, "time": t.time, "type": t.type, "card": t.card, "amount": fa(t.amount),
             "host_code": t.host_code, "host_ref": t.host_ref, "reversed": t.reversed,
             "cash": {"taken": fa(t.taken), "retracted": fa(t.retracted),
                      "deposited": fa(t.deposited), "returned": fa(t.returned)}}
            for t in ledger.transactions
        ],
    }
    if ledger.notes is not None:
        doc["notes"] = [
            {"serial": n.serial, "value": fa(n.value), "tsn": n.tsn, "unit": n.unit, "event": n.event}
            for n in ledger.notes
        ]
    return doc


# ---------------------------------------------------------------------------------------------
# host-ledger/1


def parse_host_ledger(data: bytes | str | dict, source: str = "<host ledger>", *,
                      lazy: bool = False) -> HostLedger:
    """``lazy``: as for ``parse_atm_ledger``."""
    if not isinstance(data, (str, dict)):
        from custodian_app.domain import fastpath

        fast = fastpath.parse_host_ledger(data if hasattr(data, "find") else bytes(data), source)
        if fast is not None:
            if not lazy:
                fast.transactions = list(fast.transactions)
            return fast
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
            tsn=None if tsn is None else r.string(tsn, p + ".tsn", _TSN, "a TSN or null"),
            time=r.string(r.key(t, "time", p), p + ".time", _TIME, "an RFC 3339 time"),
            type=r.enum(r.key(t, "type", p), p + ".type", TX_TYPES),
            card=r.card(r.key(t, "card", p), p + ".card"),
            amount=r.money(r.key(t, "amount", p), p + ".amount"),
            status=r.enum(r.key(t, "status", p), p + ".status", HOST_STATUSES),
        ))
    return HostLedger(terminal_id, cycle_id, currency, totals, transactions, source)


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
        if _UNIT_ID.match(uid) is None:
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

_SIGNED_MONEY = re.compile(r"-?(?:0|[1-9][0-9]{0,14})\.[0-9]{2}\Z")


def _signed(r: _Reader, value: Any, path: str) -> int:
    if type(value) is not str or _SIGNED_MONEY.match(value) is None:
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
            tsn=None if tsn is None else r.string(tsn, p + ".tsn", _TSN, "a TSN or null"),
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
            time=None if m.get("time") is None else r.string(m["time"], p + ".time", _TIME, "an RFC 3339 time"),
            card=None if card is None else r.card(card, p + ".card"),
        ))
    result = ClearingResult(terminal_id, cycle_id, currency, totals, cp, mismatches, source)
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
    """All documents of one clearing share terminal, cycle and currency, or it is refused."""
    for other in others:
        if other is None:
            continue
        for name in ("terminal_id", "cycle_id", "currency"):
            mine, theirs = getattr(atm, name), getattr(other, name)
            if mine != theirs:
                raise FormatError(other.source, f"$.{name}",
                                  f"{_show(theirs)} does not match {_show(mine)} of the ATM ledger {atm.source}")


def dumps(doc: dict, *, indent: bool = False) -> bytes:
    """UTF-8 JSON; Chinese stays readable; the same dict always gives the same bytes."""
    return jsoncodec.dumps(doc, indent=indent)
