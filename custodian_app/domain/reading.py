"""What the readers of the four clearing documents share (formats.py, results.py): the format
names and enumerations, ``FormatError``, the ``Reader`` that walks a decoded document and names
the JSON path of the first fault, JSON decoding and encoding (orjson), and the retained cards
that both the ATM ledger and the result carry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from custodian_app.domain import fields as rules
from custodian_app.domain.documents import RetainedCard, Totals, TypeTotals
from custodian_app.domain.money import format_amount
from custodian_app.errors import CustodianError

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
show = rules.show


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

class Reader:
    """Walks one decoded document, raising FormatError with the JSON path on the first fault."""

    __slots__ = ("source",)

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, message: str) -> FormatError:
        return FormatError(self.source, path, message)

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if type(value) is not dict:
            raise self.fail(path, f"expected an object, found {show(value)}")
        return value

    def arr(self, value: Any, path: str) -> list[Any]:
        if type(value) is not list:
            raise self.fail(path, f"expected an array, found {show(value)}")
        return value

    def key(self, obj: dict[str, Any], name: str, path: str) -> Any:
        try:
            return obj[name]
        except KeyError:
            raise self.fail(path, f"required key {name!r} is missing") from None

    def string(self, value: Any, path: str, pattern: Any | None = None,
               what: str = "a string", max_len: int | None = None) -> str:
        if type(value) is not str:
            raise self.fail(path, f"expected {what}, found {show(value)}")
        if pattern is not None and pattern.match(value) is None:
            raise self.fail(path, f"expected {what}, found {show(value)}")
        if max_len is not None and not (1 <= len(value) <= max_len):
            raise self.fail(path, f"expected {what} of 1 to {max_len} characters, found {show(value)}")
        return value

    def money(self, value: Any, path: str) -> int:
        if type(value) is not str:
            raise self.fail(path, f"money must be a string with two decimals like \"1000.00\", found {show(value)}")
        if rules.MONEY.match(value) is None:
            raise self.fail(path, f"money must have exactly two decimals, like \"1000.00\", found {show(value)}")
        return int(value.replace(".", "", 1))

    def integer(self, value: Any, path: str) -> int:
        if type(value) is not int or value < 0:
            raise self.fail(path, f"expected a whole number >= 0, found {show(value)}")
        return value

    def card(self, value: Any, path: str) -> str:
        if type(value) is not str or rules.MASKED_CARD.match(value) is None:
            # Never echo: whatever is there may be a full card number.
            raise self.fail(path, "card number must be masked like 622202******1234 "
                                  "(six digits, 2 to 9 '*', four digits); the value is withheld")
        return value

    def enum(self, value: Any, path: str, allowed: Iterable[str]) -> str:
        if type(value) is not str or value not in allowed:
            raise self.fail(path, f"expected one of {', '.join(allowed)}; found {show(value)}")
        return value

    def fmt(self, doc: dict[str, Any], expected: str) -> None:
        value = doc.get("format")
        if value == expected:
            return
        if type(value) is str and value.split("/")[0] == expected.split("/")[0]:
            raise self.fail("$.format", f"unsupported version {show(value)}; this program reads {expected}")
        if value is None:
            raise self.fail("$.format", f"required key 'format' is missing (expected {expected!r})")
        raise self.fail("$.format", f"expected {expected!r}, found {show(value)}")

    def header(self, doc: dict[str, Any]) -> tuple[str, str, str]:
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


def decode(data: bytes | bytearray | memoryview | str | dict[str, Any], source: str) -> dict[str, Any]:
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
        raise FormatError(source, "$", f"expected a JSON object, found {show(doc)}")
    return doc


def retained_cards(r: Reader, doc: dict[str, Any]) -> list[RetainedCard]:
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


def retained_card_dict(c: RetainedCard) -> dict[str, Any]:
    return {"time": c.time, "card": c.card, "tsn": c.tsn, "reason": c.reason}


def totals_to_dict(t: Totals) -> dict[str, Any]:
    return {
        "loaded_amount": format_amount(t.loaded_amount),
        "withdrawals": {"count": t.withdrawals.count, "amount": format_amount(t.withdrawals.amount)},
        "deposits": {"count": t.deposits.count, "amount": format_amount(t.deposits.amount)},
    }


def dumps(doc: dict[str, Any], *, indent: bool = False) -> bytes:
    """UTF-8 JSON; Chinese stays readable; the same dict always gives the same bytes."""
    option = orjson.OPT_APPEND_NEWLINE | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(doc, option=option)
