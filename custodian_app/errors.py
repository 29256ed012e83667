"""The root of every error custodian_app raises on purpose.

Each layer has its own subtree (formats, link, backend, store, report) and translates the
errors of the libraries below it at its edge with ``raise ... from``. The GUI and the command
line show ``str(error)``: it says what went wrong and where, never a full card number or a token.
"""

from __future__ import annotations

from custodian_app.domain.fields import withhold_cards


def scrub(text: str) -> str:
    """Hide anything that could be a full card number (``domain.fields``: 12 to 19 digits, in a
    row or grouped by spaces or dashes)."""
    return withhold_cards(text)


class CustodianError(Exception):
    """Base of every deliberate error in custodian_app."""

    def __str__(self) -> str:  # every message passes through the scrubber
        return scrub(super().__str__())
