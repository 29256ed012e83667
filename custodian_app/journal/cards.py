"""The card rule as the journal reader uses it (``custodian_app.domain.fields``): a full number
read from a journal is masked at once, before anything keeps or shows it."""

from __future__ import annotations

from custodian_app.domain import fields


def mask_card(text: str) -> str | None:
    """A card as read from a journal -> its masked form, or None when it is neither a masked
    card nor a full card number (the caller then reports the line)."""
    text = text.strip().replace(" ", "")
    if fields.is_masked_card(text):
        return text
    if fields.is_full_card(text):
        return fields.mask_card(text)
    return None
