"""The rules of the clearing formats' fields, in one place (docs/formats.md).

Every part that checks, masks or shows a field of a clearing document uses these: the readers
(``formats``), the C scanner's twin rules (``_ledgerscan.c`` says which of these it mirrors),
the settlement import, the backend connector, the store, the report and the logs.

Card numbers. A **masked card** is six digits, two to nine ``*``, four digits
(``622202******1234``): the only form a card may take in a document. A **full card number** is
13 to 19 digits (the lengths of the card numbers banks issue under ISO/IEC 7812; UnionPay's are
16 to 19), in a row or written in groups of four separated by single spaces or dashes
(``6222 0212 3456 7890``, ``6222-0212-3456-7890-123``), as people and receipts write them.
Twelve digits are not enough: the backend's references (ISO 8583 retrieval reference numbers,
``host_ref``) are 12 digits and must stay readable. The Luhn check digit is deliberately *not*
required: what is withheld must not depend on a checksum (a mistyped card number is still a
customer's card number, and test cards need not pass it). Groups other than fours
(``NJ-0001-20261120``, dates) are not card numbers.

This module imports nothing of the project, so that ``custodian_app.domain.errors`` can use it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

MONEY = re.compile(r"(?:0|[1-9][0-9]{0,14})\.[0-9]{2}\Z")
SIGNED_MONEY = re.compile(r"-?(?:0|[1-9][0-9]{0,14})\.[0-9]{2}\Z")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:[+-]\d\d:\d\d|Z)\Z")
CURRENCY = re.compile(r"[A-Z]{3}\Z")
TSN = re.compile(r"[0-9A-Za-z-]{1,20}\Z")
HOST_CODE = re.compile(r"[0-9A-Z]{2,3}\Z")
SERIAL = re.compile(r"[A-Z0-9?]{6,12}\Z")
UNIT_ID = re.compile(r".{1,5}\Z", re.S)
MASKED_CARD = re.compile(r"[0-9]{6}\*{2,9}[0-9]{4}\Z")
# a candidate: digits in a row, or groups of four (the last may be short) with spaces or dashes;
# it is a full card number when it holds 13 to 19 digits (see the module's docstring)
FULL_CARD = re.compile(r"[0-9]{13,19}|(?<![0-9])[0-9]{4}(?:[ -][0-9]{4}){2,3}(?:[ -]?[0-9]{1,3})?(?![0-9])")
CARD_DIGITS = (13, 19)


def is_masked_card(value: object) -> bool:
    """``value`` is a card as the formats allow it: masked."""
    return type(value) is str and MASKED_CARD.match(value) is not None


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _is_card(text: str) -> bool:
    return CARD_DIGITS[0] <= _digit_count(text) <= CARD_DIGITS[1]


def is_full_card(value: object) -> bool:
    """``value`` is, as a whole, a full card number (see the module's docstring)."""
    return type(value) is str and FULL_CARD.fullmatch(value) is not None and _is_card(value)


def has_full_card(text: str) -> bool:
    """``text`` holds a full card number somewhere."""
    return any(_is_card(m.group()) for m in FULL_CARD.finditer(text))


def first_full_card(values: Iterable[str | None]) -> int | None:
    """The index of the first of ``values`` that holds a full card number, or None. A ledger's
    ten thousand TSNs and references are mostly shorter than the shortest card number: their
    lengths alone clear them, and the rest take one regex pass over them joined by a newline
    (which no card candidate spans)."""
    values = values if isinstance(values, (list, tuple)) else list(values)
    if max(map(len, filter(None, values)), default=0) < CARD_DIGITS[0] or not has_full_card(
        "\n".join(filter(None, values))
    ):
        return None
    return next(i for i, v in enumerate(values) if v and has_full_card(v))


def mask_card(digits: str) -> str:
    """A full card number masked as the formats write it: first six, '*', last four."""
    plain = re.sub(r"[ -]", "", digits)
    return plain[:6] + "*" * (len(plain) - 10) + plain[-4:]


def withhold_cards(text: str) -> str:
    """``text`` with every full card number replaced by ``<N digits withheld>``."""

    def withhold(m: re.Match[str]) -> str:
        found = m.group()
        return f"<{_digit_count(found)} digits withheld>" if _is_card(found) else found

    return FULL_CARD.sub(withhold, text)


def show(value: Any) -> str:
    """A short, safe rendering of an offending value for an error message: JSON words for
    JSON values, at most 60 characters, card numbers withheld."""
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
    text = withhold_cards(text)  # before cutting: a cut card number would no longer be found
    return text if len(text) <= 60 else text[:57] + "..."
