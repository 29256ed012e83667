"""The tables of the clearing-session store (SQLAlchemy 2 typed declarative).

The schema is created and changed only by the Alembic migrations in ``migrations/``; a test
checks that upgrading to head yields exactly these models on SQLite and PostgreSQL.

Rules that must hold across processes and PCs live in the database itself:
- one open clearing per terminal: a partial unique index on ``clearing_sessions.terminal_id``
  over the open states;
- dual custody: check constraints that the two custodians and the supervisor are three people;
- evidence and audit entries are never updated or deleted: triggers refuse it (the migration
  creates them; the hash chain still detects a tamperer who drops them).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from custodian_app.domain import flow

# ROLES is defined once, in the package module, which imports no SQLAlchemy.
from custodian_app.store import ROLES

# The clearing flow's states, as the strings the database keeps.
STATES = tuple(s.value for s in flow.State)
FINAL_STATES = tuple(s.value for s in flow.State if s in flow.FINAL_STATES)
OPEN_STATES = tuple(s for s in STATES if s not in FINAL_STATES)

EVIDENCE_KINDS = ("atm-ledger", "host-ledger", "counts", "clearing-result", "report-pdf")

# The predicate of the one-open-clearing-per-terminal index, identical in models and migration.
OPEN_PREDICATE = "state NOT IN ('closed', 'abandoned')"

# Keys of 64-bit columns that SQLite must see as INTEGER to alias the rowid.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """A moment in time, always returned as an aware UTC datetime.

    SQLite keeps no offset, so values are stored as naive UTC there; PostgreSQL keeps
    ``timestamptz``. Both keep microseconds, so a value reads back exactly as written (the
    audit chain hashes it).
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware UTC datetime")
        if value.tzinfo is not UTC:  # thousands per cycle: skip the no-op conversion
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class User(Base):
    __tablename__ = "users"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Terminal(Base):
    __tablename__ = "terminals"

    terminal_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ClearingSession(Base):
    __tablename__ = "clearing_sessions"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="state"),
        CheckConstraint("custodian_a_id <> custodian_b_id", name="two_custodians"),
        CheckConstraint(
            "supervisor_id IS NULL OR (supervisor_id <> custodian_a_id AND supervisor_id <> custodian_b_id)",
            name="supervisor_third_person",
        ),
        Index(
            "uq_clearing_sessions_open_terminal",
            "terminal_id",
            unique=True,
            sqlite_where=text(OPEN_PREDICATE),
            postgresql_where=text(OPEN_PREDICATE),
        ),
        Index("ix_clearing_sessions_terminal_opened", "terminal_id", "opened_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    terminal_id: Mapped[str] = mapped_column(ForeignKey("terminals.terminal_id"))
    cycle_id: Mapped[str | None] = mapped_column(String(64))
    currency: Mapped[str | None] = mapped_column(String(3))
    state: Mapped[str] = mapped_column(String(24))
    custodian_a_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    custodian_b_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    supervisor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    host: Mapped[str] = mapped_column(String(255))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    abandon_reason: Mapped[str | None] = mapped_column(Text)
    count_skip_reason: Mapped[str | None] = mapped_column(Text)
    evidence_digest: Mapped[str | None] = mapped_column(String(64))
    balanced: Mapped[bool | None] = mapped_column(Boolean)
    mismatch_count: Mapped[int | None] = mapped_column(Integer)
    cash_difference: Mapped[int | None] = mapped_column(BigInteger)  # minor units
    new_cycle_id: Mapped[str | None] = mapped_column(String(64))


class SessionTransition(Base):
    __tablename__ = "session_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clearing_sessions.id"), index=True)
    from_state: Mapped[str | None] = mapped_column(String(24))
    to_state: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    host: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Evidence(Base):
    """A document exactly as it was received. Never updated; a new version is a new row."""

    __tablename__ = "evidence"
    __table_args__ = (
        CheckConstraint(_in("kind", EVIDENCE_KINDS), name="kind"),
        UniqueConstraint("session_id", "kind", "version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clearing_sessions.id"))
    kind: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Remark(Base):
    """A custodian's remark on one mismatch. Append-only: the latest per mismatch is current."""

    __tablename__ = "remarks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clearing_sessions.id"), index=True)
    category: Mapped[str] = mapped_column(String(40))
    tsn: Mapped[str | None] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class Banknote(Base):
    """One banknote movement (冠字号 record) of a cycle, with its transaction's card and time."""

    __tablename__ = "banknotes"
    __table_args__ = (
        Index("ix_banknotes_card_key_tx_date", "card_key", "tx_date"),
        Index("ix_banknotes_unreadable_length", "unreadable", "serial_length"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("clearing_sessions.id"), index=True)
    terminal_id: Mapped[str] = mapped_column(String(32))
    cycle_id: Mapped[str] = mapped_column(String(64))
    serial: Mapped[str] = mapped_column(String(12), index=True)
    serial_length: Mapped[int] = mapped_column(Integer)
    unreadable: Mapped[bool] = mapped_column(Boolean)  # the serial has a '?'
    value: Mapped[int] = mapped_column(BigInteger)  # minor units
    currency: Mapped[str] = mapped_column(String(3))
    tsn: Mapped[str | None] = mapped_column(String(20), index=True)
    unit: Mapped[str] = mapped_column(String(5))
    event: Mapped[str] = mapped_column(String(12))
    card: Mapped[str | None] = mapped_column(String(19))  # masked, as the ATM recorded it
    card_key: Mapped[str | None] = mapped_column(String(10))  # first six + last four digits
    tx_time: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tx_date: Mapped[date | None] = mapped_column(Date)  # the ATM's local date


class AuditEntry(Base):
    """One link of the audit chain. ``entry_hash`` = SHA-256 of the canonical entry + prev_hash."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    session_id: Mapped[int | None] = mapped_column(Integer, index=True)
    terminal_id: Mapped[str | None] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON, hashed as stored
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row that names the chain's last entry, so deleting the tail is detected."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))
