"""What a full card number (PAN) looks like inside free text: the one rule.

13 to 19 digits in a row, possibly written in groups separated by spaces or dashes, that pass
the Luhn check (ISO/IEC 7812-1). A masked card (622202******1234) is not one, nor is a 12-digit
retrieval reference (ISO 8583 field 37, what backends use as ``host_ref``). Free text that
holds one is refused wherever it would be stored or printed; messages and logs hide any long
digit run anyway (``errors.scrub``).
"""

from __future__ import annotations

import re

_CANDIDATE = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def has_full_pan(text: str) -> bool:
    """True when ``text`` carries what looks like a full card number."""
    for match in _CANDIDATE.finditer(text):
        digits = re.sub(r"\D", "", match.group())
        if 13 <= len(digits) <= 19 and luhn_ok(digits):
            return True
    return False
