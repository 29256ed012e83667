"""Clearing sessions: dual custody, opening and resuming, the steps without documents."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodian_app.domain.states import NEXT_STATES
from custodian_app.store import models as m
from custodian_app.store.audit import AuditRecord
from custodian_app.store.base import refuse_full_pan
from custodian_app.store.errors import (
    Conflict,
    CustodyError,
    InvalidTransition,
    NotFound,
    StoreError,
    TerminalBusy,
)
from custodian_app.store.records import Remark, SessionInfo, Transition, User
from custodian_app.store.users import Users

# A sign-in proves presence for this long: opening, resuming or signing a clearing needs one.
SIGN_IN_VALID = timedelta(hours=12)

_TERMINAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")


class Sessions(Users):
    """A clearing session and the steps that move it without a document."""

    def _check_signed_in(self, s: Session, who: User, role: str, what: str) -> m.User:
        if not isinstance(who, User) or who.signed_in_at is None:
            raise CustodyError(f"{what} must sign in first (a user record from authenticate)")
        row = self._user_row(s, who.username)
        if row.disabled:
            raise CustodyError(f"{what} {who.username!r} is disabled")
        # The record's own age: a sign-in proves presence for a working day, not for ever.
        if who.signed_in_at < self._now() - SIGN_IN_VALID:
            raise CustodyError(
                f"{what} {who.username!r} must sign in again (the sign-in is more than 12 hours old)"
            )
        if row.role != role:
            raise CustodyError(f"{what} must have the {role} role; {who.username!r} is {row.role}")
        return row

    def _check_pair(self, s: Session, first: User, second: User) -> tuple[m.User, m.User]:
        a = self._check_signed_in(s, first, "custodian", "the first custodian")
        b = self._check_signed_in(s, second, "custodian", "the second custodian")
        if a.id == b.id:
            raise CustodyError(
                f"dual custody needs two different custodians; {a.username!r} "
                "signed in twice — the second custodian must sign in"
            )
        return a, b

    def open_session(
        self, terminal_id: str, first: User, second: User, *, host: str | None = None
    ) -> SessionInfo:
        """Open a clearing of ``terminal_id`` by two signed-in custodians (state ``signed_in``).

        Raises ``CustodyError`` (same person twice, wrong role, not signed in) or
        ``TerminalBusy`` naming who holds the open clearing of that ATM.
        """
        if not _TERMINAL.match(terminal_id or ""):
            raise StoreError(f"terminal id {terminal_id!r} is not valid")
        host = host or self.host
        try:
            with self._tx() as s:
                a, b = self._check_pair(s, first, second)
                self._refuse_if_busy(s, terminal_id)
                now = self._now()
                if s.get(m.Terminal, terminal_id) is None:
                    s.add(m.Terminal(terminal_id=terminal_id, first_seen_at=now))
                    s.flush()
                row = m.ClearingSession(
                    terminal_id=terminal_id,
                    state="signed_in",
                    custodian_a_id=a.id,
                    custodian_b_id=b.id,
                    host=host,
                    opened_at=now,
                    updated_at=now,
                )
                s.add(row)
                s.flush()
                s.add(
                    m.SessionTransition(
                        session_id=row.id,
                        from_state=None,
                        to_state="signed_in",
                        actor_id=a.id,
                        host=host,
                        at=now,
                    )
                )
                self._audit(
                    s,
                    "session_opened",
                    actor=a.username,
                    session_id=row.id,
                    terminal_id=terminal_id,
                    host=host,
                    detail={"custodians": [a.username, b.username]},
                )
                return self._info(s, row)
        except Conflict as exc:
            # The database's own guard (the partial unique index) fired: someone won the race.
            with self._tx(write=False) as s:
                self._refuse_if_busy(s, terminal_id)
            raise StoreError(f"the clearing of {terminal_id} could not be opened: {exc}") from exc

    def _refuse_if_busy(self, s: Session, terminal_id: str) -> None:
        holder = s.scalar(
            select(m.ClearingSession).where(
                m.ClearingSession.terminal_id == terminal_id, m.ClearingSession.state.in_(m.OPEN_STATES)
            )
        )
        if holder is not None:
            info = self._info(s, holder)
            raise TerminalBusy(
                terminal_id, holder.id, info.custodian_names, holder.host, holder.opened_at, holder.state
            )

    def resume_session(
        self, session_id: int, first: User, second: User, *, host: str | None = None
    ) -> SessionInfo:
        """Take up an open clearing again (after a crash, or on another PC) by its custodians."""
        host = host or self.host
        with self._tx() as s:
            row = self._session_row(s, session_id)
            if row.state in m.FINAL_STATES:
                raise InvalidTransition(session_id, row.state, row.state, "the clearing is finished")
            a, b = self._check_pair(s, first, second)
            if {a.id, b.id} != {row.custodian_a_id, row.custodian_b_id}:
                raise CustodyError(
                    f"session {session_id} was opened by other custodians; only "
                    "they can resume it (or a supervisor can abandon it)"
                )
            previous_host = row.host
            row.host = host
            row.updated_at = self._now()
            self._audit(
                s,
                "session_resumed",
                actor=a.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                host=host,
                detail={"state": row.state, "previous_host": previous_host},
            )
            return self._info(s, row)

    def resumable_sessions(
        self, *, terminal_id: str | None = None, host: str | None = None
    ) -> list[SessionInfo]:
        """Open clearings, oldest first, optionally of one ATM or one PC."""
        with self._tx(write=False) as s:
            q = (
                select(m.ClearingSession)
                .where(m.ClearingSession.state.in_(m.OPEN_STATES))
                .order_by(m.ClearingSession.opened_at, m.ClearingSession.id)
            )
            if terminal_id is not None:
                q = q.where(m.ClearingSession.terminal_id == terminal_id)
            if host is not None:
                q = q.where(m.ClearingSession.host == host)
            return self._infos(s, list(s.scalars(q)))

    def get_session(self, session_id: int) -> SessionInfo:
        with self._tx(write=False) as s:
            return self._info(s, self._session_row(s, session_id))

    def history(self, *, terminal_id: str | None = None, limit: int = 200) -> list[SessionInfo]:
        """Clearings, newest first."""
        with self._tx(write=False) as s:
            q = (
                select(m.ClearingSession)
                .order_by(m.ClearingSession.opened_at.desc(), m.ClearingSession.id.desc())
                .limit(limit)
            )
            if terminal_id is not None:
                q = q.where(m.ClearingSession.terminal_id == terminal_id)
            return self._infos(s, list(s.scalars(q)))

    def transitions(self, session_id: int) -> list[Transition]:
        with self._tx(write=False) as s:
            self._session_row(s, session_id)
            rows = s.execute(
                select(m.SessionTransition, m.User.username)
                .outerjoin(m.User, m.User.id == m.SessionTransition.actor_id)
                .where(m.SessionTransition.session_id == session_id)
                .order_by(m.SessionTransition.id)
            )
            return [Transition(session_id, t.from_state, t.to_state, name, t.host, t.at) for t, name in rows]

    def _session_row(self, s: Session, session_id: int, *, lock: bool = False) -> m.ClearingSession:
        q = select(m.ClearingSession).where(m.ClearingSession.id == session_id)
        row = s.scalar(q.with_for_update() if lock else q)
        if row is None:
            raise NotFound(f"no clearing session {session_id}; 'custodian-app history' lists them")
        return row

    def _info(self, s: Session, row: m.ClearingSession) -> SessionInfo:
        return self._infos(s, [row])[0]

    def _infos(self, s: Session, rows: list[m.ClearingSession]) -> list[SessionInfo]:
        """Session records for many rows with two queries, not two per row (history lists)."""
        if not rows:
            return []
        user_ids = {
            i for r in rows for i in (r.custodian_a_id, r.custodian_b_id, r.supervisor_id) if i is not None
        }
        users = {u.id: u for u in s.scalars(select(m.User).where(m.User.id.in_(user_ids)))}
        kinds: dict[int, list[str]] = {}
        for sid, kind in s.execute(
            select(m.Evidence.session_id, m.Evidence.kind)
            .distinct()
            .where(m.Evidence.session_id.in_([r.id for r in rows]))
        ):
            kinds.setdefault(sid, []).append(kind)
        out = []
        for row in rows:
            a, b = users[row.custodian_a_id], users[row.custodian_b_id]
            out.append(
                SessionInfo(
                    id=row.id,
                    terminal_id=row.terminal_id,
                    cycle_id=row.cycle_id,
                    currency=row.currency,
                    state=row.state,
                    custodians=(a.username, b.username),
                    custodian_names=(a.full_name or a.username, b.full_name or b.username),
                    supervisor=users[row.supervisor_id].username if row.supervisor_id else None,
                    host=row.host,
                    opened_at=row.opened_at,
                    updated_at=row.updated_at,
                    ended_at=row.ended_at,
                    abandon_reason=row.abandon_reason,
                    count_skip_reason=row.count_skip_reason,
                    evidence_digest=row.evidence_digest,
                    balanced=row.balanced,
                    mismatch_count=row.mismatch_count,
                    cash_difference=row.cash_difference,
                    new_cycle_id=row.new_cycle_id,
                    documents=tuple(sorted(kinds.get(row.id, ()))),
                )
            )
        return out

    def _step(
        self,
        s: Session,
        session_id: int,
        actor: User | str,
        to_state: str | None,
        *,
        roles: tuple[str, ...] = ("custodian",),
    ) -> tuple[m.ClearingSession, m.User]:
        """Load the session for a step by ``actor``; check who may do it and the transition."""
        row = self._session_row(s, session_id, lock=True)
        who = self._actor_row(s, actor)
        if who.disabled:
            raise CustodyError(f"{who.username!r} is disabled")
        is_custodian = who.id in (row.custodian_a_id, row.custodian_b_id)
        allowed = ("custodian" in roles and is_custodian) or (who.role in roles and who.role != "custodian")
        if not allowed:
            raise CustodyError(
                f"{who.username!r} ({who.role}) may not do this in session "
                f"{session_id}; it takes "
                + " or ".join("one of its custodians" if r == "custodian" else f"a {r}" for r in roles)
            )
        if to_state is not None and to_state not in NEXT_STATES[row.state]:
            raise InvalidTransition(session_id, row.state, to_state)
        return row, who

    def _move(self, s: Session, row: m.ClearingSession, who: m.User, to_state: str) -> None:
        now = self._now()
        s.add(
            m.SessionTransition(
                session_id=row.id,
                from_state=row.state,
                to_state=to_state,
                actor_id=who.id,
                host=self.host,
                at=now,
            )
        )
        row.state = to_state
        row.updated_at = now
        if to_state in m.FINAL_STATES:
            row.ended_at = now

    def skip_count(self, session_id: int, reason: str, *, actor: User | str) -> SessionInfo:
        """Complete the count step without counting, and say why (state ``counted``).

        The latest decision wins: counts entered earlier no longer count toward the evidence
        (they stay stored), and counts entered later replace the skip.
        """
        reason = refuse_full_pan((reason or "").strip(), "count-skip reason")
        if not reason:
            raise StoreError("say why the count is skipped; the reason goes on the record")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "counted")
            row.count_skip_reason = reason
            self._move(s, row, who, "counted")
            self._audit(
                s,
                "count_skipped",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"reason": reason},
            )
            return self._info(s, row)

    def add_remark(
        self, session_id: int, category: str, tsn: str | None, text: str, *, actor: User | str
    ) -> Remark:
        """A custodian's remark on one mismatch (category + TSN); the latest one is current."""
        text = refuse_full_pan((text or "").strip(), "remark")
        if not text:
            raise StoreError("a remark needs some text")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, None, roles=("custodian", "supervisor"))
            if row.state in m.FINAL_STATES:
                raise InvalidTransition(
                    session_id, row.state, row.state, "the clearing is finished; remarks are closed"
                )
            now = self._now()
            r = m.Remark(session_id=row.id, category=category, tsn=tsn, text=text, author_id=who.id, at=now)
            s.add(r)
            s.flush()
            self._audit(
                s,
                "remark",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"category": category, "tsn": tsn, "text": text},
            )
            return Remark(r.id, row.id, category, tsn, text, who.username, now)

    def remarks(self, session_id: int) -> list[Remark]:
        with self._tx(write=False) as s:
            rows = s.execute(
                select(m.Remark, m.User.username)
                .join(m.User, m.User.id == m.Remark.author_id)
                .where(m.Remark.session_id == session_id)
                .order_by(m.Remark.id)
            )
            return [Remark(r.id, r.session_id, r.category, r.tsn, r.text, name, r.at) for r, name in rows]

    def record_override(self, session_id: int, what: str, reason: str, *, actor: User | str) -> AuditRecord:
        """A decision that departs from the normal flow (e.g. accepting an unknown outcome)."""
        reason = refuse_full_pan((reason or "").strip(), "override reason")
        if not reason:
            raise StoreError("an override needs a reason")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, None, roles=("custodian", "supervisor"))
            return self._audit(
                s,
                "override",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"what": what, "reason": reason},
            )

    def mark_reviewed(self, session_id: int, *, actor: User | str) -> SessionInfo:
        """The custodians have gone through the mismatch list."""
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "reviewed")
            self._move(s, row, who, "reviewed")
            self._audit(
                s, "reviewed", actor=who.username, session_id=row.id, terminal_id=row.terminal_id, detail={}
            )
            return self._info(s, row)

    def sign_off(self, session_id: int, supervisor: User) -> SessionInfo:
        """The supervisor, a third person, signs the clearing (state ``signed``)."""
        with self._tx() as s:
            sup = self._check_signed_in(s, supervisor, "supervisor", "the signing supervisor")
            row = self._session_row(s, session_id, lock=True)
            if sup.id in (row.custodian_a_id, row.custodian_b_id):
                raise CustodyError(
                    "the supervisor who signs must be a third person, not one of the two custodians"
                )
            if "signed" not in NEXT_STATES[row.state]:
                raise InvalidTransition(
                    session_id, row.state, "signed", "the custodians must review the result first"
                )
            row.supervisor_id = sup.id
            self._move(s, row, sup, "signed")
            self._audit(
                s,
                "signed_off",
                actor=sup.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"evidence_digest": row.evidence_digest},
            )
            return self._info(s, row)

    def start_new_cycle(self, session_id: int, new_cycle_id: str, *, actor: User | str) -> SessionInfo:
        """The ATM accepted the new loading (EndExchange) and opened ``new_cycle_id``."""
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "new_cycle_started")
            row.new_cycle_id = new_cycle_id
            self._move(s, row, who, "new_cycle_started")
            self._audit(
                s,
                "new_cycle_started",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"new_cycle_id": new_cycle_id},
            )
            return self._info(s, row)

    def close_session(self, session_id: int, *, actor: User | str) -> SessionInfo:
        """Finish a signed clearing; the ATM is free for the next one."""
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "closed", roles=("custodian", "supervisor"))
            self._move(s, row, who, "closed")
            self._audit(
                s,
                "session_closed",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={},
            )
            return self._info(s, row)

    def abandon_session(self, session_id: int, reason: str, *, actor: User | str) -> SessionInfo:
        """Give up an unsigned clearing, with the reason; frees the ATM."""
        reason = refuse_full_pan((reason or "").strip(), "abandon reason")
        if not reason:
            raise StoreError("say why the clearing is abandoned; the reason goes on the record")
        with self._tx() as s:
            row, who = self._step(
                s, session_id, actor, "abandoned", roles=("custodian", "supervisor", "administrator")
            )
            row.abandon_reason = reason
            self._move(s, row, who, "abandoned")
            self._audit(
                s,
                "session_abandoned",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"reason": reason},
            )
            return self._info(s, row)
