"""Money as integer minor units (fen for CNY). A float touching money is a TypeError.

The clearing formats carry money as strings with exactly two fraction digits ("1000.00").
Everything in between is an ``int`` count of minor units, so sums are exact.
"""

from __future__ import annotations

MINOR_PER_MAJOR = 100


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

