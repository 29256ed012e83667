"""Reading and appending the audit log: entries, the chain's head, verifying the chain."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from custodian_app.store import audit as audit_mod
from custodian_app.store import models as m
from custodian_app.store.audit import AuditRecord, AuditVerification
from custodian_app.store.base import StoreBase
from custodian_app.store.errors import StoreError
from custodian_app.store.records import User


class AuditLog(StoreBase):
    """The audit log as the store's users read and extend it."""

    def log(
        self,
        action: str,
        *,
        actor: User | str | None = None,
        session_id: int | None = None,
        terminal_id: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditRecord:
        """Append an audit entry for an action the store does not see itself (export, a view).

        ``detail`` is JSON-able; passwords, tokens and full card numbers are refused or hidden.
        """
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", action):
            raise ValueError(f"audit action {action!r}: lower-case words joined by _")
        with self._tx() as s:
            name = self._actor_name(s, actor) if actor is not None else None
            if session_id is not None and terminal_id is None:
                row = s.get(m.ClearingSession, session_id)
                terminal_id = row.terminal_id if row else None
            return self._audit(
                s, action, actor=name, session_id=session_id, terminal_id=terminal_id, detail=detail
            )

    def audit_entries(
        self, *, session_id: int | None = None, since_seq: int = 0, limit: int | None = None
    ) -> list[AuditRecord]:
        with self._tx(write=False) as s:
            q = select(m.AuditEntry).where(m.AuditEntry.seq > since_seq).order_by(m.AuditEntry.seq)
            if session_id is not None:
                q = q.where(m.AuditEntry.session_id == session_id)
            if limit is not None:
                q = q.limit(limit)
            return [_audit_record(e) for e in s.scalars(q)]

    def audit_head(self) -> tuple[int, str]:
        """The chain's last entry number and hash: an anchor to keep outside the database."""
        with self._tx(write=False) as s:
            head = s.get(m.AuditHead, 1)
            if head is None:
                raise StoreError(
                    "the audit chain's head record is missing: run 'custodian-app audit verify' and call IT"
                )
            return head.last_seq, head.last_hash

    def verify_audit(self) -> AuditVerification:
        """Recompute the whole chain; see ``AuditVerification.problems`` for what is wrong."""
        with self._tx(write=False) as s:
            if self.dialect == "postgresql":
                # One snapshot for the head and the entries: an append committed in between
                # must not look like an entry added behind the store's back. (SQLite's deferred
                # read transaction is a snapshot already.)
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            head_row = s.get(m.AuditHead, 1)
            head = None if head_row is None else (head_row.last_seq, head_row.last_hash)
            rows = s.execute(
                select(
                    m.AuditEntry.seq,
                    m.AuditEntry.at,
                    m.AuditEntry.actor,
                    m.AuditEntry.action,
                    m.AuditEntry.session_id,
                    m.AuditEntry.terminal_id,
                    m.AuditEntry.host,
                    m.AuditEntry.detail,
                    m.AuditEntry.prev_hash,
                    m.AuditEntry.entry_hash,
                )
                .order_by(m.AuditEntry.seq)
                .execution_options(yield_per=2000)
            )
            return audit_mod.verify_chain(rows, head)


def _audit_record(e: m.AuditEntry) -> AuditRecord:
    return AuditRecord(
        seq=e.seq,
        at=e.at,
        actor=e.actor,
        action=e.action,
        session_id=e.session_id,
        terminal_id=e.terminal_id,
        host=e.host,
        detail=audit_mod.json.loads(e.detail),
        prev_hash=e.prev_hash,
        entry_hash=e.entry_hash,
    )
