"""The card rule as the journal reader uses it: a masked card is six digits, two to nine
``*``, four digits (the clearing formats' rule); a full number read from a journal is masked
at once, before anything keeps or shows it."""

from __future__ import annotations

import re

# The one import of the card rule; the lead repoints it when the rule moves to a public module.
from custodian_app.domain.formats import _CARD as MASKED_CARD

_DIGITS = re.compile(r"\d{12,19}\Z")


def mask_card(text: str) -> str | None:
    """A card as read from a journal -> its masked form, or None when it is neither a masked
    card nor a full number of 12 to 19 digits (the caller then reports the line)."""
    text = text.strip().replace(" ", "")
    if MASKED_CARD.match(text):
        return text
    if _DIGITS.match(text):
        return text[:6] + "*" * (len(text) - 10) + text[-4:]
    return None
