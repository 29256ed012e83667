"""The root of every error custodian_app raises on purpose.

It lives in the domain core, which every layer builds on; each layer has its own subtree
(formats, link, backend, store, report) and translates the
errors of the libraries below it at its edge with ``raise ... from``. The GUI and the command
line show ``str(error)``: it says what went wrong and where, never a full card number or a token.
"""

from __future__ import annotations

from custodian_app.domain.fields import withhold_cards

# The values to withhold. set.add and tuple(set) are each one step under the interpreter lock,
# so threads may register and scrub at once without a lock of our own.
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Withhold ``value`` (a backend token, a password) from every message and log line from
    now on, whatever their source: a server's error text that repeats the token included."""
    if value and len(value) >= 4:  # a 1-3 character "secret" would mangle every line
        _secrets.add(value)


def withhold_secrets(text: str) -> str:
    """``text`` with every value given to ``add_secret`` replaced by "<secret withheld>".
    The one place that scrubs known secrets: messages (``scrub``) and the log filter call it.
    Longest first, so a secret inside another goes with it."""
    for secret in sorted(tuple(_secrets), key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, "<secret withheld>")
    return text


def scrub(text: str) -> str:
    """Hide the known secrets and anything that could be a full card number (``domain.fields``:
    13 to 19 digits, in a row or grouped by spaces or dashes)."""
    return withhold_cards(withhold_secrets(text))


class CustodianError(Exception):
    """Base of every deliberate error in custodian_app."""

    def __str__(self) -> str:  # every message passes through the scrubber
        return scrub(super().__str__())
