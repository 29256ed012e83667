"""What every part of the store shares: the engine, the clock, one transaction per call, the
audit chain's append, and the refusal of full card numbers in text typed into the store.

Each method of the store is one transaction: a step of the clearing is committed as soon as it
completes, with its transition record and its audit entry, or not at all. Every write first
takes the audit chain's head (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN
IMMEDIATE`` already serialises writers), so writes from several processes and PCs are applied
one after another and the chain never forks.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from custodian_app.domain.fields import has_full_card
from custodian_app.store import audit as audit_mod
from custodian_app.store import models as m
from custodian_app.store.audit import AuditRecord
from custodian_app.store.database import READ_ONLY_OPTION, describe
from custodian_app.store.errors import CardNumberRefused, Conflict, DatabaseUnavailable, StoreError
from custodian_app.store.passwords import PasswordHasher
from custodian_app.store.records import User

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def refuse_full_pan(text: str, where: str) -> str:
    """Refuse free text typed into the store (a remark, a reason, a name) that carries what
    looks like a full card number (``domain.fields``). A document's fields are the reader's
    (``domain.formats``): the store relies on it."""
    if has_full_card(text):
        raise CardNumberRefused(where)
    return text


class StoreBase:
    """The engine, the clock, one transaction per call and the audit chain's append."""

    def __init__(
        self,
        engine: Engine,
        *,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = _utcnow,
        host: str | None = None,
        max_failed_sign_ins: int = MAX_FAILED_SIGN_INS,
        lockout: timedelta = LOCKOUT,
    ) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            engine.execution_options(**{READ_ONLY_OPTION: True}), expire_on_commit=False
        )
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self.host = host or socket.gethostname() or "unknown-pc"
        self.max_failed_sign_ins = max_failed_sign_ins
        self.lockout = lockout

    # -- lifecycle -----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL without its password."""
        return describe(str(self.engine.url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return aware datetimes")
        return now.astimezone(UTC)

    @contextmanager
    def _tx(self, *, write: bool = True) -> Iterator[Session]:
        """One transaction; commits at the end, rolls back on any error."""
        try:
            with (self._sessions if write else self._read_sessions).begin() as s:
                if write:
                    self._lock_chain(s)
                yield s
        except StoreError:
            raise
        except IntegrityError as exc:
            raise Conflict(
                f"the database refused the change: {getattr(exc, 'orig', exc)}; "
                "nothing of this step was saved — reload and try again"
            ) from exc
        except OperationalError as exc:
            raise DatabaseUnavailable(
                f"the database {self.url} failed: {getattr(exc, 'orig', exc)}; nothing of this "
                "step was saved — check the connection and try the step again"
            ) from exc
        except SQLAlchemyError as exc:
            raise StoreError(
                f"the database {self.url} refused the step: "
                f"{getattr(exc, 'orig', exc)}; nothing of it was saved"
            ) from exc

    def _lock_chain(self, s: Session) -> m.AuditHead:
        head = s.info.get("audit_head")
        if head is not None:  # already locked in this transaction
            return head
        head = s.scalar(select(m.AuditHead).where(m.AuditHead.id == 1).with_for_update())
        if head is None:
            raise StoreError(
                "the audit chain's head record is missing: the audit log was "
                "tampered with; run 'custodian-app audit verify' and call IT"
            )
        s.info["audit_head"] = head
        return head

    # -- audit ---------------------------------------------------------------------------------

    def _audit(
        self,
        s: Session,
        action: str,
        *,
        actor: str | None = None,
        session_id: int | None = None,
        terminal_id: str | None = None,
        detail: dict[str, Any] | None = None,
        host: str | None = None,
    ) -> AuditRecord:
        head = self._lock_chain(s)  # taken when the transaction began
        seq = head.last_seq + 1
        at = self._now()
        detail_json = audit_mod.clean_detail(detail)
        host = host or self.host
        digest = audit_mod.entry_hash(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            session_id=session_id,
            terminal_id=terminal_id,
            host=host,
            detail=detail_json,
            prev_hash=head.last_hash,
        )
        s.add(
            m.AuditEntry(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                session_id=session_id,
                terminal_id=terminal_id,
                host=host,
                detail=detail_json,
                prev_hash=head.last_hash,
                entry_hash=digest,
            )
        )
        prev_hash = head.last_hash
        head.last_seq, head.last_hash = seq, digest
        s.flush()
        return AuditRecord(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            session_id=session_id,
            terminal_id=terminal_id,
            host=host,
            detail=audit_mod.json.loads(detail_json),
            prev_hash=prev_hash,
            entry_hash=digest,
        )

    def _actor_name(self, s: Session, actor: User | str | None) -> str | None:
        if actor is None:
            return None
        return actor.username if isinstance(actor, User) else str(actor)
