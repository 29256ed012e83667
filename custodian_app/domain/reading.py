"""What the readers of the four clearing documents share (formats.py, results.py): the format
names and enumerations, ``FormatError``, the ``Reader`` that walks a decoded document and names
the JSON path of the first fault, JSON decoding and encoding (orjson), and the retained cards
that both the ATM ledger and the result carry."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import orjson

from custodian_app.domain import fields as rules
from custodian_app.domain.documents import RetainedCard, Totals, TypeTotals
from custodian_app.domain.errors import CustodianError
from custodian_app.domain.money import format_amount

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


class FullCardNumber(FormatError):
    """A full card number in free text that is stored and printed (a TSN, a host_ref,
    counted_by …); a card field that is not masked is a plain FormatError. The value is never
    echoed. The store refuses it as ``CardNumberRefused``."""

    def __init__(self, source: str, path: str) -> None:
        super().__init__(source, path, CARD_IN_TEXT)


CARD_IN_TEXT = (
    "looks like a full card number (the value is withheld); a clearing document must "
    "never carry one; ask for a corrected file"
)


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

    def string(
        self,
        value: Any,
        path: str,
        pattern: Any | None = None,
        what: str = "a string",
        max_len: int | None = None,
    ) -> str:
        if type(value) is not str:
            raise self.fail(path, f"expected {what}, found {show(value)}")
        if pattern is not None and pattern.match(value) is None:
            raise self.fail(path, f"expected {what}, found {show(value)}")
        if max_len is not None and not (1 <= len(value) <= max_len):
            raise self.fail(path, f"expected {what} of 1 to {max_len} characters, found {show(value)}")
        return value

    def text(
        self,
        value: Any,
        path: str,
        pattern: Any | None = None,
        what: str = "a string",
        max_len: int | None = None,
    ) -> str:
        """A string that is stored or printed (a TSN, a reference, a name): ``string``, and no
        full card number in it (``fields``' rule; the one place the readers apply it)."""
        text = self.string(value, path, pattern, what, max_len)
        if rules.has_full_card(text):
            raise FullCardNumber(self.source, path)
        return text

    def money(self, value: Any, path: str) -> int:
        if type(value) is not str:
            raise self.fail(
                path, f'money must be a string with two decimals like "1000.00", found {show(value)}'
            )
        if rules.MONEY.match(value) is None:
            raise self.fail(
                path, f'money must have exactly two decimals, like "1000.00", found {show(value)}'
            )
        return int(value.replace(".", "", 1))

    def integer(self, value: Any, path: str) -> int:
        if type(value) is not int or value < 0:
            raise self.fail(path, f"expected a whole number >= 0, found {show(value)}")
        return value

    def card(self, value: Any, path: str) -> str:
        if type(value) is not str or rules.MASKED_CARD.match(value) is None:
            # Never echo: whatever is there may be a full card number.
            raise self.fail(
                path,
                "card number must be masked like 622202******1234 "
                "(six digits, 2 to 9 '*', four digits); the value is withheld",
            )
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
            self.text(self.key(doc, "terminal_id", "$"), "$.terminal_id", None, "a terminal id", 32),
            self.text(self.key(doc, "cycle_id", "$"), "$.cycle_id", None, "a cycle id", 32),
            self.string(
                self.key(doc, "currency", "$"), "$.currency", rules.CURRENCY, "an ISO 4217 code like CNY"
            ),
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
    """JSON bytes -> dict, or FormatError saying where the JSON breaks, or which key an object
    gives twice. orjson decodes (its strictness is the formats' JSON), but it keeps the last of
    two equal keys without a word; the standard library's decoder, given a hook that sees each
    object's pairs, tells. That second pass costs about as much as the decoding: the C scanner
    (formats) vouches for the big arrays itself, so it runs on a ledger's small head only."""
    if isinstance(data, dict):
        return data
    try:
        if isinstance(data, (bytes, bytearray, str)):
            doc = orjson.loads(data)
        else:  # a view, a memory-mapped file or another buffer: a view, released right after
            with memoryview(data) as view:
                doc = orjson.loads(view)
                data = bytes(view)  # the standard library's decoder wants bytes or str
    except orjson.JSONDecodeError as exc:
        if bytes(data[:3]) == b"\xef\xbb\xbf" if not isinstance(data, str) else data[:1] == "\ufeff":
            raise FormatError(
                source,
                "$",
                "the file starts with a byte order mark (BOM), which "
                "JSON does not allow; save it as UTF-8 without BOM",
            ) from None
        raise FormatError(source, "$", f"not valid JSON: {exc}") from None
    if type(doc) is not dict:
        raise FormatError(source, "$", f"expected a JSON object, found {show(doc)}")
    _refuse_repeated_keys(data, source)
    return doc


class _Repeated(dict):  # type: ignore[type-arg]
    """An object that gave ``key`` twice (the decoder's hook marks it; the walk names it)."""

    key: str


def _count_pairs(pairs: list[tuple[str, Any]]) -> Any:
    if len(pairs) > 1 and len(dict(pairs)) != len(pairs):
        raise _RepeatedKey
    return None  # the values are orjson's; this pass only counts


class _RepeatedKey(Exception):
    pass


def _mark_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    marked = _Repeated(obj)
    marked.key = next(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
    return marked


def _refuse_repeated_keys(data: bytes | bytearray | str, source: str) -> None:
    """FormatError naming the JSON path of the first object (in reading order) that gives a
    key twice: which of the two values was meant cannot be known, so neither is taken."""
    try:
        json.loads(data, object_pairs_hook=_count_pairs)
        return
    except _RepeatedKey:
        pass
    except RecursionError:  # deeper than the standard library's decoder goes: nothing to trust
        raise FormatError(source, "$", "the JSON is nested too deeply to be a clearing document") from None
    stack: list[tuple[Any, str]] = [(json.loads(data, object_pairs_hook=_mark_pairs), "$")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, _Repeated):
            raise FormatError(
                source,
                f"{path}.{value.key}",
                f"the key {show(value.key)} is given twice in one object; which "
                "value was meant cannot be known, so the document is refused; ask "
                "for a corrected file",
            )
        if type(value) is list:
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(value))))
        elif isinstance(value, dict):
            stack.extend((v, f"{path}.{k}") for k, v in reversed(list(value.items())))


def retained_cards(r: Reader, doc: dict[str, Any]) -> list[RetainedCard]:
    out = []
    for i, c in enumerate(r.arr(doc.get("retained_cards", []), "$.retained_cards")):
        p = f"$.retained_cards[{i}]"
        c = r.obj(c, p)
        tsn = r.key(c, "tsn", p)
        out.append(
            RetainedCard(
                time=r.string(r.key(c, "time", p), p + ".time", rules.TIME, "an RFC 3339 time"),
                card=r.card(r.key(c, "card", p), p + ".card"),
                tsn=None if tsn is None else r.text(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
                reason=r.enum(r.key(c, "reason", p), p + ".reason", RETAIN_REASONS),
            )
        )
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
