"""The root of every error custodian_app raises on purpose.

Each layer has its own subtree (formats, link, backend, store, report) and translates the
errors of the libraries below it at its edge with ``raise ... from``. The GUI and the command
line show ``str(error)``: it says what went wrong and where, never a full card number or a token.
"""

from __future__ import annotations

import re

_PAN_RUN = re.compile(r"\d{12,19}")


def scrub(text: str) -> str:
    """Hide anything that could be a full card number (12 to 19 digits in a row)."""
    return _PAN_RUN.sub(lambda m: f"<{len(m.group())} digits withheld>", text)


class CustodianError(Exception):
    """Base of every deliberate error in custodian_app."""

    def __str__(self) -> str:  # every message passes through the scrubber
        return scrub(super().__str__())
