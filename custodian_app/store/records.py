"""What the store hands out: plain frozen records, safe to pass to another thread.

No ORM object leaves the store, so the GUI can keep these after the database call returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from custodian_app.store.models import FINAL_STATES


@dataclass(frozen=True, slots=True)
class User:
    id: int
    username: str
    full_name: str
    role: str
    disabled: bool
    locked_until: datetime | None
    created_at: datetime
    last_sign_in_at: datetime | None
    # Set only on the record ``Store.authenticate`` returns: proof of a sign-in, which opening a
    # clearing and signing one off require.
    signed_in_at: datetime | None = field(default=None, compare=False)

    @property
    def display_name(self) -> str:
        return self.full_name or self.username


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    terminal_id: str
    cycle_id: str | None
    currency: str | None
    state: str
    custodians: tuple[str, str]  # usernames
    custodian_names: tuple[str, str]  # full names (or usernames)
    supervisor: str | None
    host: str
    opened_at: datetime
    updated_at: datetime
    ended_at: datetime | None
    abandon_reason: str | None
    count_skip_reason: str | None
    evidence_digest: str | None
    balanced: bool | None
    mismatch_count: int | None
    cash_difference: int | None  # minor units, atm_expected - host_expected
    new_cycle_id: str | None
    documents: tuple[str, ...] = ()  # evidence kinds kept so far

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES


@dataclass(frozen=True, slots=True)
class EvidenceDoc:
    session_id: int
    kind: str
    version: int
    sha256: str
    size: int
    received_at: datetime
    received_by: str | None
    content: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Transition:
    session_id: int
    from_state: str | None
    to_state: str
    actor: str | None
    host: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Remark:
    id: int
    session_id: int
    category: str
    tsn: str | None
    text: str
    author: str
    at: datetime


@dataclass(frozen=True, slots=True)
class NoteTrace:
    """One banknote movement found by serial or by card."""

    serial: str
    value: int  # minor units
    currency: str
    event: str
    unit: str
    tsn: str | None
    card: str | None  # masked
    tx_time: datetime | None
    terminal_id: str
    cycle_id: str
    session_id: int


@dataclass(slots=True)
class SessionVerification:
    session_id: int
    recorded_digest: str | None
    computed_digest: str | None
    pdf_version: int | None = None  # which stored report the given PDF is
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems
