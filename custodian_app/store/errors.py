"""The store's exception tree, rooted in ``CustodianError``.

Every SQLAlchemy / driver error is translated at the store's edge (``raise ... from``) so that
the GUI and the command line only ever see these, each saying what to do next.
"""

from __future__ import annotations

from datetime import datetime

from custodian_app.domain.errors import CustodianError


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


class StoreError(CustodianError):
    """Base of every error of the clearing-session store."""


class DatabaseUnavailable(StoreError):
    """The database cannot be opened or reached."""


class DatabaseBusy(DatabaseUnavailable):
    """A lock the step needs stayed taken past the bounded wait; says who holds it."""


class Conflict(StoreError):
    """The database refused a change that collides with another (a race another PC won)."""


class NotFound(StoreError, LookupError):
    """A user, terminal or session that does not exist."""


# --- users and sign-in ------------------------------------------------------------------------


class AuthenticationError(StoreError):
    """A sign-in was refused. ``username`` names the account."""

    def __init__(self, username: str, message: str) -> None:
        self.username = username
        super().__init__(message)


class UnknownUser(AuthenticationError):
    """No such user. The message does not repeat the typed name: it may be a password typed
    into the user-name field (``username`` keeps it, for the caller's eyes only)."""

    def __init__(self, username: str) -> None:
        super().__init__(
            username,
            "no user by the name typed; check the spelling (and that it "
            "is not the password in the name field), or ask an "
            "administrator to add you",
        )

    def __repr__(self) -> str:  # tracebacks and logs show the repr: keep the name out of it too
        return f"{type(self).__name__}({str(self)!r})"


class WrongPassword(AuthenticationError):
    def __init__(self, username: str, attempts_left: int, lockout_minutes: int) -> None:
        self.attempts_left = attempts_left
        super().__init__(
            username,
            f"wrong password for {username!r}; {attempts_left} attempt(s) left before the account "
            f"is locked for {lockout_minutes} minutes",
        )


class AccountLocked(AuthenticationError):
    def __init__(self, username: str, until: datetime) -> None:
        self.until = until
        super().__init__(
            username,
            f"account {username!r} is locked after repeated wrong passwords until {_when(until)}; "
            "wait, or ask an administrator to unlock it",
        )


class AccountDisabled(AuthenticationError):
    def __init__(self, username: str) -> None:
        super().__init__(username, f"account {username!r} is disabled; ask an administrator")


class InvalidUser(StoreError, ValueError):
    """A user that cannot be added as asked (duplicate name, bad role, weak password)."""


# --- the rules of a clearing ------------------------------------------------------------------


class CustodyError(StoreError):
    """Dual custody is not satisfied: who may do what, and with whom."""


class TerminalBusy(StoreError):
    """Another clearing of the same ATM is open (on this PC or another)."""

    def __init__(
        self,
        terminal_id: str,
        session_id: int,
        custodians: tuple[str, ...],
        host: str,
        since: datetime,
        state: str,
    ) -> None:
        self.terminal_id = terminal_id
        self.session_id = session_id
        self.custodians = custodians
        self.host = host
        self.since = since
        self.state = state
        super().__init__(
            f"ATM {terminal_id} is already being cleared: session {session_id} by "
            f"{' and '.join(custodians)} on PC {host} since {_when(since)} (step: {state}). "
            "Resume that clearing there, or have it abandoned, before starting another"
        )


class InvalidTransition(StoreError):
    """A step out of order in the clearing flow."""

    def __init__(self, session_id: int, current: str, wanted: str, why: str = "") -> None:
        self.session_id = session_id
        self.current = current
        self.wanted = wanted
        super().__init__(
            f"session {session_id} is at step {current!r}; it cannot go to {wanted!r}"
            + (f": {why}" if why else "")
        )


class EvidenceError(StoreError, ValueError):
    """A document that cannot be kept as evidence (wrong clearing, bad format, already kept)."""


class CardNumberRefused(StoreError, ValueError):
    """A card number that is not masked; it is never stored, logged or echoed."""

    def __init__(self, where: str, message: str | None = None) -> None:
        # ``message``: the reader's own words, so a document gets the same verdict everywhere
        super().__init__(
            f"{where}: "
            + (
                message
                or "card number must be masked like 622202******1234 "
                "(six digits, two to nine *, four digits); a full card number is never kept"
            )
        )
