"""Money as integer minor units (fen for CNY). A float touching money is a TypeError.

The clearing formats carry money as strings with exactly two fraction digits ("1000.00").
Everything in between is an ``int`` count of minor units, so sums are exact.
"""

from __future__ import annotations

from custodian_app.domain.fields import MONEY, SIGNED_MONEY

MINOR_PER_MAJOR = 100


def parse_amount(text: str, *, signed: bool = False) -> int:
    """ "1000.05" -> 100005. Raises ValueError for anything that is not a money string of the
    clearing formats, and TypeError for a float (or any non-string)."""
    if type(text) is not str:
        raise TypeError(f'money must be a string like "1000.00", not {type(text).__name__}')
    if (SIGNED_MONEY if signed else MONEY).match(text) is None:
        raise ValueError(f"not an amount with two decimals: {text!r}")
    return int(text.replace(".", "", 1))


def format_amount(minor: int) -> str:
    """100005 -> "1000.05"; -5000 -> "-50.00"."""
    if type(minor) is not int:
        raise TypeError(f"money must be integer minor units, not {type(minor).__name__}")
    whole, cents = divmod(abs(minor), MINOR_PER_MAJOR)
    return f"{'-' if minor < 0 else ''}{whole}.{cents:02d}"


def format_grouped(minor: int, currency: str | None = None, *, plus: bool = False) -> str:
    """For people: 123456789 -> "1,234,567.89" (with "CNY " in front when a currency is given).
    Negative amounts carry a minus sign; ``plus`` marks positive ones with "+"."""
    if type(minor) is not int:
        raise TypeError(f"money must be integer minor units, not {type(minor).__name__}")
    whole, cents = divmod(abs(minor), MINOR_PER_MAJOR)
    sign = "-" if minor < 0 else ("+" if plus and minor > 0 else "")
    body = f"{sign}{whole:,}.{cents:02d}"
    return f"{currency} {body}" if currency else body
