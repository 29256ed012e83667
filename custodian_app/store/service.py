"""The store's service API: everything the GUI and the command line do with the database.

Each method is one transaction: a step of the clearing is committed as soon as it completes,
with its transition record and its audit entry, or not at all. Every write first takes the
audit chain's head (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serialises writers), so writes from several processes and PCs are applied one after
another and the chain never forks.

Methods return the plain records of ``custodian_app.store.records``; they raise the errors of
``custodian_app.store.errors``. The object is thread-safe (one engine, a session per call), but
the GUI should still call it from a worker thread: a call may wait on the database.
"""

from __future__ import annotations

import hashlib
import re
import socket
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from custodian_app.domain import fields, formats
from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.formats import FormatError
from custodian_app.domain.money import format_amount
from custodian_app.store import audit as audit_mod
from custodian_app.store import models as m
from custodian_app.store.audit import AuditRecord, AuditVerification
from custodian_app.store.database import READ_ONLY_OPTION, describe
from custodian_app.store.errors import (
    AccountDisabled,
    AccountLocked,
    CardNumberRefused,
    Conflict,
    CustodyError,
    DatabaseUnavailable,
    EvidenceError,
    InvalidTransition,
    InvalidUser,
    NotFound,
    StoreError,
    TerminalBusy,
    UnknownUser,
    WrongPassword,
)
from custodian_app.store.passwords import PasswordHasher, check_strength
from custodian_app.store.records import (
    EvidenceDoc,
    NoteTrace,
    Remark,
    SessionInfo,
    SessionVerification,
    Transition,
    User,
)

MAX_FAILED_SIGN_INS = 5
LOCKOUT = timedelta(minutes=15)
# A sign-in proves presence for this long: opening, resuming or signing a clearing needs one.
SIGN_IN_VALID = timedelta(hours=12)

# Which step may follow which. Going back is allowed where the clearing flow allows it (see
# custodian_app.domain.flow.go_back): correcting or redoing the count, fetching or importing
# the backend ledger again, reconciling again — never past the ATM read, never once signed.
NEXT_STATES: dict[str, frozenset[str]] = {
    "signed_in": frozenset({"atm_read", "abandoned"}),
    "atm_read": frozenset({"counted", "backend_fetched", "abandoned"}),
    "counted": frozenset({"counted", "backend_fetched", "reconciled", "abandoned"}),
    "backend_fetched": frozenset({"counted", "backend_fetched", "reconciled", "abandoned"}),
    "reconciled": frozenset({"reviewed", "counted", "backend_fetched", "reconciled",
                             "abandoned"}),
    "reviewed": frozenset({"signed", "counted", "backend_fetched", "reconciled", "abandoned"}),
    # A signed report is a legal record: the clearing can only be finished, not abandoned.
    "signed": frozenset({"new_cycle_started", "closed"}),
    "new_cycle_started": frozenset({"closed"}),
    "closed": frozenset(),
    "abandoned": frozenset(),
}
REPORT_STATES = frozenset({"reconciled", "reviewed", "signed", "new_cycle_started", "closed"})

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")
_TERMINAL = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}\Z")
_CARD = fields.MASKED_CARD  # a masked card, as the clearing formats define it
_SERIAL_QUERY = re.compile(r"[A-Z0-9?]{1,12}\Z")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def refuse_full_pan(text: str, where: str) -> str:
    """Refuse free text that carries a full card number (``domain.fields``' one rule)."""
    if fields.has_full_card(text):
        raise CardNumberRefused(where)
    return text


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


class Store:
    """The clearing-session store on one database (see ``open_store``)."""

    def __init__(self, engine: Engine, *, hasher: PasswordHasher | None = None,
                 clock: Callable[[], datetime] = _utcnow, host: str | None = None,
                 max_failed_sign_ins: int = MAX_FAILED_SIGN_INS,
                 lockout: timedelta = LOCKOUT) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(engine.execution_options(**{READ_ONLY_OPTION: True}),
                                           expire_on_commit=False)
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

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _now(self) -> datetime:
        now = self._clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return aware datetimes")
        return now.astimezone(timezone.utc)

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
            raise Conflict(f"the database refused the change: {getattr(exc, 'orig', exc)}; "
                           "nothing of this step was saved — reload and try again") from exc
        except OperationalError as exc:
            raise DatabaseUnavailable(
                f"the database {self.url} failed: {getattr(exc, 'orig', exc)}; nothing of this "
                "step was saved — check the connection and try the step again"
            ) from exc
        except SQLAlchemyError as exc:
            raise StoreError(f"the database {self.url} refused the step: "
                             f"{getattr(exc, 'orig', exc)}; nothing of it was saved") from exc

    def _lock_chain(self, s: Session) -> m.AuditHead:
        head = s.info.get("audit_head")
        if head is not None:  # already locked in this transaction
            return head
        head = s.scalar(select(m.AuditHead).where(m.AuditHead.id == 1).with_for_update())
        if head is None:
            raise StoreError("the audit chain's head record is missing: the audit log was "
                             "tampered with; run 'custodian-app audit verify' and call IT")
        s.info["audit_head"] = head
        return head

    # -- audit ---------------------------------------------------------------------------------

    def _audit(self, s: Session, action: str, *, actor: str | None = None,
               session_id: int | None = None, terminal_id: str | None = None,
               detail: dict[str, Any] | None = None, host: str | None = None) -> AuditRecord:
        head = self._lock_chain(s)  # taken when the transaction began
        seq = head.last_seq + 1
        at = self._now()
        detail_json = audit_mod.clean_detail(detail)
        host = host or self.host
        digest = audit_mod.entry_hash(seq=seq, at=at, actor=actor, action=action,
                                      session_id=session_id, terminal_id=terminal_id, host=host,
                                      detail=detail_json, prev_hash=head.last_hash)
        s.add(m.AuditEntry(seq=seq, at=at, actor=actor, action=action, session_id=session_id,
                           terminal_id=terminal_id, host=host, detail=detail_json,
                           prev_hash=head.last_hash, entry_hash=digest))
        prev_hash = head.last_hash
        head.last_seq, head.last_hash = seq, digest
        s.flush()
        return AuditRecord(seq=seq, at=at, actor=actor, action=action, session_id=session_id,
                           terminal_id=terminal_id, host=host,
                           detail=audit_mod.json.loads(detail_json), prev_hash=prev_hash,
                           entry_hash=digest)

    def log(self, action: str, *, actor: User | str | None = None, session_id: int | None = None,
            terminal_id: str | None = None, detail: dict[str, Any] | None = None) -> AuditRecord:
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
            return self._audit(s, action, actor=name, session_id=session_id,
                               terminal_id=terminal_id, detail=detail)

    def audit_entries(self, *, session_id: int | None = None, since_seq: int = 0,
                      limit: int | None = None) -> list[AuditRecord]:
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
                raise StoreError("the audit chain's head record is missing: run "
                                 "'custodian-app audit verify' and call IT")
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
                select(m.AuditEntry.seq, m.AuditEntry.at, m.AuditEntry.actor,
                       m.AuditEntry.action, m.AuditEntry.session_id, m.AuditEntry.terminal_id,
                       m.AuditEntry.host, m.AuditEntry.detail, m.AuditEntry.prev_hash,
                       m.AuditEntry.entry_hash).order_by(m.AuditEntry.seq)
                .execution_options(yield_per=2000)
            )
            return audit_mod.verify_chain(rows, head)

    # -- users ---------------------------------------------------------------------------------

    def add_user(self, username: str, password: str, role: str, *, full_name: str = "",
                 actor: User | str | None = None) -> User:
        """Add a user. Raises ``InvalidUser`` for a taken name, an unknown role, a weak password."""
        if not _USERNAME.match(username or ""):
            raise InvalidUser(f"user name {username!r} is not valid: letters, digits, '.', '_', "
                              "'-', up to 64, starting with a letter or digit")
        if role not in m.ROLES:
            raise InvalidUser(f"role {role!r} is not one of {', '.join(m.ROLES)}")
        weak = check_strength(password)
        if weak:
            raise InvalidUser(f"{weak} (user {username!r})")
        full_name = refuse_full_pan(full_name.strip(), "full name")[:200]
        password_hash = self._hasher.hash(password)  # slow on purpose: outside the transaction
        now = self._now()
        with self._tx() as s:
            if s.scalar(select(m.User.id).where(m.User.username == username)) is not None:
                raise InvalidUser(f"a user named {username!r} exists already; choose another name")
            user = m.User(username=username, full_name=full_name, role=role,
                          password_hash=password_hash, failed_attempts=0, disabled=False,
                          created_at=now)
            s.add(user)
            s.flush()
            self._audit(s, "user_added", actor=self._actor_name(s, actor),
                        detail={"username": username, "role": role})
            return _user(user)

    def get_user(self, username: str) -> User:
        with self._tx(write=False) as s:
            return _user(self._user_row(s, username))

    def list_users(self, *, include_disabled: bool = True) -> list[User]:
        with self._tx(write=False) as s:
            q = select(m.User).order_by(m.User.username)
            if not include_disabled:
                q = q.where(m.User.disabled.is_(False))
            return [_user(u) for u in s.scalars(q)]

    def disable_user(self, username: str, *, actor: User | str | None = None) -> User:
        """Disable an account for good (it stays in the records it signed)."""
        with self._tx() as s:
            user = self._user_row(s, username)
            if not user.disabled:
                user.disabled = True
                user.disabled_at = self._now()
                self._audit(s, "user_disabled", actor=self._actor_name(s, actor),
                            detail={"username": username})
            return _user(user)

    def set_password(self, username: str, password: str, *,
                     actor: User | str | None = None) -> User:
        """Give a user a new password (a forgotten one); also lifts a lockout."""
        weak = check_strength(password)
        if weak:
            raise InvalidUser(f"{weak} (user {username!r})")
        password_hash = self._hasher.hash(password)
        with self._tx() as s:
            user = self._user_row(s, username)
            user.password_hash = password_hash
            user.failed_attempts = 0
            user.locked_until = None
            self._audit(s, "password_set", actor=self._actor_name(s, actor),
                        detail={"username": username})
            return _user(user)

    def unlock_user(self, username: str, *, actor: User | str | None = None) -> User:
        """Lift a lockout after wrong passwords before its time runs out."""
        with self._tx() as s:
            user = self._user_row(s, username)
            user.locked_until = None
            user.failed_attempts = 0
            self._audit(s, "user_unlocked", actor=self._actor_name(s, actor),
                        detail={"username": username})
            return _user(user)

    def authenticate(self, username: str, password: str) -> User:
        """Sign a user in. Returns the user with ``signed_in_at`` set.

        Raises ``UnknownUser``, ``AccountDisabled``, ``AccountLocked`` (with ``until``) or
        ``WrongPassword`` (with ``attempts_left``). Every attempt is in the audit log; the
        failed-attempt count and a lockout are committed before the error is raised.
        """
        with self._tx(write=False) as s:
            row = s.scalar(select(m.User).where(m.User.username == username))
            stored_hash = row.password_hash if row is not None else None
        # Argon2 is slow on purpose; no database lock is held while it runs.
        good = stored_hash is not None and self._hasher.verify(stored_hash, password)
        new_hash = (self._hasher.hash(password)
                    if good and self._hasher.needs_rehash(stored_hash) else None)
        refusal: Exception | None = None
        with self._tx() as s:
            user = s.scalar(select(m.User).where(m.User.username == username))
            now = self._now()
            if user is None:
                # The typed name is not logged: it may be a password typed in the wrong field.
                self._audit(s, "sign_in_failed", detail={"reason": "unknown user"})
                refusal = UnknownUser(username)
            elif user.disabled:
                self._audit(s, "sign_in_failed", actor=username, detail={"reason": "disabled"})
                refusal = AccountDisabled(username)
            elif user.locked_until is not None and user.locked_until > now:
                self._audit(s, "sign_in_failed", actor=username, detail={"reason": "locked"})
                refusal = AccountLocked(username, user.locked_until)
            elif not good or user.password_hash != stored_hash:
                user.failed_attempts += 1
                if user.failed_attempts >= self.max_failed_sign_ins:
                    user.locked_until = now + self.lockout
                    user.failed_attempts = 0
                    self._audit(s, "sign_in_failed", actor=username,
                                detail={"reason": "wrong password", "locked_until":
                                        audit_mod.format_time(user.locked_until)})
                    refusal = AccountLocked(username, user.locked_until)
                else:
                    left = self.max_failed_sign_ins - user.failed_attempts
                    self._audit(s, "sign_in_failed", actor=username,
                                detail={"reason": "wrong password", "attempts_left": left})
                    refusal = WrongPassword(username, left,
                                            int(self.lockout.total_seconds() // 60))
            else:
                user.failed_attempts = 0
                user.locked_until = None
                user.last_sign_in_at = now
                if new_hash is not None:
                    user.password_hash = new_hash
                self._audit(s, "sign_in", actor=username, detail={"role": user.role})
                result = _user(user, signed_in_at=now)
        if refusal is not None:
            raise refusal
        return result

    def _user_row(self, s: Session, username: str) -> m.User:
        user = s.scalar(select(m.User).where(m.User.username == username))
        if user is None:
            raise NotFound(f"no user named {username!r}; 'custodian-app users list' shows them")
        return user

    def _actor_name(self, s: Session, actor: User | str | None) -> str | None:
        if actor is None:
            return None
        return actor.username if isinstance(actor, User) else str(actor)

    def _actor_row(self, s: Session, actor: User | str) -> m.User:
        if actor is None:
            raise CustodyError("this step needs the signed-in user who does it")
        return self._user_row(s, actor.username if isinstance(actor, User) else actor)

    # -- clearing sessions ---------------------------------------------------------------------

    def _check_signed_in(self, s: Session, who: User, role: str, what: str) -> m.User:
        if not isinstance(who, User) or who.signed_in_at is None:
            raise CustodyError(f"{what} must sign in first (a user record from authenticate)")
        row = self._user_row(s, who.username)
        if row.disabled:
            raise CustodyError(f"{what} {who.username!r} is disabled")
        # The record's own age: a sign-in proves presence for a working day, not for ever.
        if who.signed_in_at < self._now() - SIGN_IN_VALID:
            raise CustodyError(f"{what} {who.username!r} must sign in again (the sign-in is "
                               "more than 12 hours old)")
        if row.role != role:
            raise CustodyError(f"{what} must have the {role} role; {who.username!r} is "
                               f"{row.role}")
        return row

    def _check_pair(self, s: Session, first: User, second: User) -> tuple[m.User, m.User]:
        a = self._check_signed_in(s, first, "custodian", "the first custodian")
        b = self._check_signed_in(s, second, "custodian", "the second custodian")
        if a.id == b.id:
            raise CustodyError(f"dual custody needs two different custodians; {a.username!r} "
                               "signed in twice — the second custodian must sign in")
        return a, b

    def open_session(self, terminal_id: str, first: User, second: User, *,
                     host: str | None = None) -> SessionInfo:
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
                row = m.ClearingSession(terminal_id=terminal_id, state="signed_in",
                                        custodian_a_id=a.id, custodian_b_id=b.id, host=host,
                                        opened_at=now, updated_at=now)
                s.add(row)
                s.flush()
                s.add(m.SessionTransition(session_id=row.id, from_state=None, to_state="signed_in",
                                          actor_id=a.id, host=host, at=now))
                self._audit(s, "session_opened", actor=a.username, session_id=row.id,
                            terminal_id=terminal_id, host=host,
                            detail={"custodians": [a.username, b.username]})
                return self._info(s, row)
        except Conflict as exc:
            # The database's own guard (the partial unique index) fired: someone won the race.
            with self._tx(write=False) as s:
                self._refuse_if_busy(s, terminal_id)
            raise StoreError(f"the clearing of {terminal_id} could not be opened: {exc}") from exc

    def _refuse_if_busy(self, s: Session, terminal_id: str) -> None:
        holder = s.scalar(select(m.ClearingSession).where(
            m.ClearingSession.terminal_id == terminal_id,
            m.ClearingSession.state.in_(m.OPEN_STATES)))
        if holder is not None:
            info = self._info(s, holder)
            raise TerminalBusy(terminal_id, holder.id, info.custodian_names, holder.host,
                               holder.opened_at, holder.state)

    def resume_session(self, session_id: int, first: User, second: User, *,
                       host: str | None = None) -> SessionInfo:
        """Take up an open clearing again (after a crash, or on another PC) by its custodians."""
        host = host or self.host
        with self._tx() as s:
            row = self._session_row(s, session_id)
            if row.state in m.FINAL_STATES:
                raise InvalidTransition(session_id, row.state, row.state,
                                        "the clearing is finished")
            a, b = self._check_pair(s, first, second)
            if {a.id, b.id} != {row.custodian_a_id, row.custodian_b_id}:
                raise CustodyError(f"session {session_id} was opened by other custodians; only "
                                   "they can resume it (or a supervisor can abandon it)")
            previous_host = row.host
            row.host = host
            row.updated_at = self._now()
            self._audit(s, "session_resumed", actor=a.username, session_id=row.id,
                        terminal_id=row.terminal_id, host=host,
                        detail={"state": row.state, "previous_host": previous_host})
            return self._info(s, row)

    def resumable_sessions(self, *, terminal_id: str | None = None,
                           host: str | None = None) -> list[SessionInfo]:
        """Open clearings, oldest first, optionally of one ATM or one PC."""
        with self._tx(write=False) as s:
            q = (select(m.ClearingSession)
                 .where(m.ClearingSession.state.in_(m.OPEN_STATES))
                 .order_by(m.ClearingSession.opened_at, m.ClearingSession.id))
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
            q = select(m.ClearingSession).order_by(m.ClearingSession.opened_at.desc(),
                                                   m.ClearingSession.id.desc()).limit(limit)
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
                .order_by(m.SessionTransition.id))
            return [Transition(session_id, t.from_state, t.to_state, name, t.host, t.at)
                    for t, name in rows]

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
        user_ids = {i for r in rows for i in (r.custodian_a_id, r.custodian_b_id, r.supervisor_id)
                    if i is not None}
        users = {u.id: u for u in s.scalars(select(m.User).where(m.User.id.in_(user_ids)))}
        kinds: dict[int, list[str]] = {}
        for sid, kind in s.execute(select(m.Evidence.session_id, m.Evidence.kind).distinct()
                                   .where(m.Evidence.session_id.in_([r.id for r in rows]))):
            kinds.setdefault(sid, []).append(kind)
        out = []
        for row in rows:
            a, b = users[row.custodian_a_id], users[row.custodian_b_id]
            out.append(SessionInfo(
                id=row.id, terminal_id=row.terminal_id, cycle_id=row.cycle_id,
                currency=row.currency, state=row.state, custodians=(a.username, b.username),
                custodian_names=(a.full_name or a.username, b.full_name or b.username),
                supervisor=users[row.supervisor_id].username if row.supervisor_id else None,
                host=row.host, opened_at=row.opened_at, updated_at=row.updated_at,
                ended_at=row.ended_at, abandon_reason=row.abandon_reason,
                count_skip_reason=row.count_skip_reason, evidence_digest=row.evidence_digest,
                balanced=row.balanced, mismatch_count=row.mismatch_count,
                cash_difference=row.cash_difference, new_cycle_id=row.new_cycle_id,
                documents=tuple(sorted(kinds.get(row.id, ())))))
        return out

    def _step(self, s: Session, session_id: int, actor: User | str, to_state: str | None, *,
              roles: tuple[str, ...] = ("custodian",)) -> tuple[m.ClearingSession, m.User]:
        """Load the session for a step by ``actor``; check who may do it and the transition."""
        row = self._session_row(s, session_id, lock=True)
        who = self._actor_row(s, actor)
        if who.disabled:
            raise CustodyError(f"{who.username!r} is disabled")
        is_custodian = who.id in (row.custodian_a_id, row.custodian_b_id)
        allowed = ("custodian" in roles and is_custodian) or (
            who.role in roles and who.role != "custodian")
        if not allowed:
            raise CustodyError(f"{who.username!r} ({who.role}) may not do this in session "
                               f"{session_id}; it takes " + " or ".join(
                                   "one of its custodians" if r == "custodian" else f"a {r}"
                                   for r in roles))
        if to_state is not None and to_state not in NEXT_STATES[row.state]:
            raise InvalidTransition(session_id, row.state, to_state)
        return row, who

    def _move(self, s: Session, row: m.ClearingSession, who: m.User, to_state: str) -> None:
        now = self._now()
        s.add(m.SessionTransition(session_id=row.id, from_state=row.state, to_state=to_state,
                                  actor_id=who.id, host=self.host, at=now))
        row.state = to_state
        row.updated_at = now
        if to_state in m.FINAL_STATES:
            row.ended_at = now

    def _put_evidence(self, s: Session, row: m.ClearingSession, kind: str, data: bytes,
                      who: m.User) -> m.Evidence:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("evidence is kept as the bytes received")
        data = bytes(data)
        version = (s.scalar(select(func.max(m.Evidence.version)).where(
            m.Evidence.session_id == row.id, m.Evidence.kind == kind)) or 0) + 1
        doc = m.Evidence(session_id=row.id, kind=kind, version=version, content=data,
                         sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                         received_at=self._now(), received_by_id=who.id)
        s.add(doc)
        s.flush()
        return doc

    def _latest(self, s: Session, session_id: int, kind: str) -> m.Evidence | None:
        return s.scalar(select(m.Evidence).where(m.Evidence.session_id == session_id,
                                                 m.Evidence.kind == kind)
                        .order_by(m.Evidence.version.desc()).limit(1))

    def _parsed_atm(self, s: Session, row: m.ClearingSession) -> formats.AtmLedger:
        doc = self._latest(s, row.id, "atm-ledger")
        if doc is None:
            raise InvalidTransition(row.id, row.state, "?", "the ATM ledger has not been read")
        return formats.parse_atm_ledger(doc.content, f"session {row.id} atm-ledger")

    def record_atm_ledger(self, session_id: int, data: bytes, *, actor: User | str) -> SessionInfo:
        """Keep the ATM ledger as read (``atm-ledger/1`` bytes) and its banknote records."""
        ledger = _parse(formats.parse_atm_ledger, data, "ATM ledger")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "atm_read")
            if ledger.terminal_id != row.terminal_id:
                raise EvidenceError(f"the ATM ledger is of terminal {ledger.terminal_id}, but "
                                    f"session {session_id} clears {row.terminal_id}")
            doc = self._put_evidence(s, row, "atm-ledger", data, who)
            row.cycle_id, row.currency = ledger.cycle_id, ledger.currency
            notes = self._insert_banknotes(s, row, ledger)
            self._move(s, row, who, "atm_read")
            self._audit(s, "atm_read", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id,
                        detail={"cycle_id": ledger.cycle_id, "sha256": doc.sha256,
                                "transactions": len(ledger.transactions), "notes": notes})
            return self._info(s, row)

    def _insert_banknotes(self, s: Session, row: m.ClearingSession,
                          ledger: formats.AtmLedger) -> int:
        if not ledger.notes:
            return 0
        # What every note of a transaction shares, worked out once per transaction.
        no_tx = {"card": None, "card_key": None, "tx_time": None, "tx_date": None}
        by_tsn = {t.tsn: {"card": t.card, "card_key": t.card[:6] + t.card[-4:],
                          "tx_time": _parse_time(t.time),
                          # the ATM's local date, as a customer names the day
                          "tx_date": date.fromisoformat(t.time[:10])}
                  for t in ledger.transactions}
        base = {"session_id": row.id, "terminal_id": row.terminal_id,
                "cycle_id": ledger.cycle_id, "currency": ledger.currency}
        rows = [{**base, **(by_tsn.get(n.tsn, no_tx) if n.tsn is not None else no_tx),
                 "serial": n.serial, "serial_length": len(n.serial),
                 "unreadable": "?" in n.serial, "value": n.value, "tsn": n.tsn,
                 "unit": n.unit, "event": n.event}
                for n in ledger.notes]
        conn = s.connection()
        table = m.Banknote.__table__
        for start in range(0, len(rows), 5000):  # executemany in batches: bounded memory
            conn.execute(insert(table), rows[start:start + 5000])
        return len(rows)

    def record_counts(self, session_id: int, data: bytes, *, actor: User | str) -> SessionInfo:
        """Keep what the custodians counted (``counts/1`` bytes)."""
        counts = _parse(formats.parse_counts, data, "counts")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "counted")
            _same_clearing(self._parsed_atm(s, row), counts)
            doc = self._put_evidence(s, row, "counts", data, who)
            row.count_skip_reason = None
            self._move(s, row, who, "counted")
            self._audit(s, "count_entered", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id,
                        detail={"sha256": doc.sha256, "version": doc.version,
                                "units": sorted(counts.units)})
            return self._info(s, row)

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
            self._audit(s, "count_skipped", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id, detail={"reason": reason})
            return self._info(s, row)

    def record_host_ledger(self, session_id: int, data: bytes, *,
                           actor: User | str) -> SessionInfo:
        """Keep the backend's ledger as fetched (``host-ledger/1`` bytes)."""
        host = _parse(formats.parse_host_ledger, data, "backend ledger")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "backend_fetched")
            _same_clearing(self._parsed_atm(s, row), host)
            doc = self._put_evidence(s, row, "host-ledger", data, who)
            self._move(s, row, who, "backend_fetched")
            self._audit(s, "backend_fetched", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id,
                        detail={"sha256": doc.sha256, "version": doc.version,
                                "transactions": len(host.transactions)})
            return self._info(s, row)

    def record_result(self, session_id: int, data: bytes, *, actor: User | str) -> SessionInfo:
        """Keep the reconciliation's result and fix the evidence digest (state ``reconciled``).

        Needs the ATM ledger, the backend ledger, and the counts or a count-skip reason.
        """
        result = _parse(formats.parse_result, data, "clearing result")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "reconciled")
            atm = self._latest(s, row.id, "atm-ledger")
            host = self._latest(s, row.id, "host-ledger")
            # A skip decided after counts were entered leaves them out of the evidence.
            counts = None if row.count_skip_reason else self._latest(s, row.id, "counts")
            if host is None:
                raise InvalidTransition(session_id, row.state, "reconciled",
                                        "the backend ledger has not been fetched")
            if counts is None and not row.count_skip_reason:
                raise InvalidTransition(session_id, row.state, "reconciled",
                                        "enter the counts, or skip the count with a reason")
            if (result.terminal_id, result.cycle_id) != (row.terminal_id, row.cycle_id):
                raise EvidenceError(f"the result is of {result.terminal_id}/{result.cycle_id}, "
                                    f"not of this clearing {row.terminal_id}/{row.cycle_id}")
            doc = self._put_evidence(s, row, "clearing-result", data, who)
            row.evidence_digest = evidence_digest(atm.content, host.content,
                                                  counts.content if counts else None, doc.content)
            row.balanced = result.balanced
            row.mismatch_count = len(result.mismatches)
            row.cash_difference = result.cash_position.difference
            self._move(s, row, who, "reconciled")
            self._audit(s, "reconciled", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id,
                        detail={"sha256": doc.sha256, "evidence_digest": row.evidence_digest,
                                "balanced": row.balanced, "mismatches": row.mismatch_count,
                                "difference": format_amount(row.cash_difference)})
            return self._info(s, row)

    def add_remark(self, session_id: int, category: str, tsn: str | None, text: str, *,
                   actor: User | str) -> Remark:
        """A custodian's remark on one mismatch (category + TSN); the latest one is current."""
        text = refuse_full_pan((text or "").strip(), "remark")
        if not text:
            raise StoreError("a remark needs some text")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, None, roles=("custodian", "supervisor"))
            if row.state in m.FINAL_STATES:
                raise InvalidTransition(session_id, row.state, row.state,
                                        "the clearing is finished; remarks are closed")
            now = self._now()
            r = m.Remark(session_id=row.id, category=category, tsn=tsn, text=text,
                         author_id=who.id, at=now)
            s.add(r)
            s.flush()
            self._audit(s, "remark", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id,
                        detail={"category": category, "tsn": tsn, "text": text})
            return Remark(r.id, row.id, category, tsn, text, who.username, now)

    def remarks(self, session_id: int) -> list[Remark]:
        with self._tx(write=False) as s:
            rows = s.execute(select(m.Remark, m.User.username)
                             .join(m.User, m.User.id == m.Remark.author_id)
                             .where(m.Remark.session_id == session_id).order_by(m.Remark.id))
            return [Remark(r.id, r.session_id, r.category, r.tsn, r.text, name, r.at)
                    for r, name in rows]

    def record_override(self, session_id: int, what: str, reason: str, *,
                        actor: User | str) -> AuditRecord:
        """A decision that departs from the normal flow (e.g. accepting an unknown outcome)."""
        reason = refuse_full_pan((reason or "").strip(), "override reason")
        if not reason:
            raise StoreError("an override needs a reason")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, None, roles=("custodian", "supervisor"))
            return self._audit(s, "override", actor=who.username, session_id=row.id,
                               terminal_id=row.terminal_id, detail={"what": what,
                                                                    "reason": reason})

    def mark_reviewed(self, session_id: int, *, actor: User | str) -> SessionInfo:
        """The custodians have gone through the mismatch list."""
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "reviewed")
            self._move(s, row, who, "reviewed")
            self._audit(s, "reviewed", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id, detail={})
            return self._info(s, row)

    def sign_off(self, session_id: int, supervisor: User) -> SessionInfo:
        """The supervisor, a third person, signs the clearing (state ``signed``)."""
        with self._tx() as s:
            sup = self._check_signed_in(s, supervisor, "supervisor", "the signing supervisor")
            row = self._session_row(s, session_id, lock=True)
            if sup.id in (row.custodian_a_id, row.custodian_b_id):
                raise CustodyError("the supervisor who signs must be a third person, not one of "
                                   "the two custodians")
            if "signed" not in NEXT_STATES[row.state]:
                raise InvalidTransition(session_id, row.state, "signed",
                                        "the custodians must review the result first")
            row.supervisor_id = sup.id
            self._move(s, row, sup, "signed")
            self._audit(s, "signed_off", actor=sup.username, session_id=row.id,
                        terminal_id=row.terminal_id,
                        detail={"evidence_digest": row.evidence_digest})
            return self._info(s, row)

    def record_report(self, session_id: int, pdf: bytes, *, actor: User | str) -> EvidenceDoc:
        """Keep a printed report PDF. Every print after the first is recorded as a reprint."""
        if not bytes(pdf[:5]) == b"%PDF-":
            raise EvidenceError("the report is not a PDF (it does not start with %PDF-)")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, None,
                                  roles=("custodian", "supervisor", "administrator"))
            if row.state not in REPORT_STATES:
                raise InvalidTransition(session_id, row.state, row.state,
                                        "a report can be printed once the clearing is reconciled")
            doc = self._put_evidence(s, row, "report-pdf", pdf, who)
            self._audit(s, "report_printed" if doc.version == 1 else "reprint",
                        actor=who.username, session_id=row.id, terminal_id=row.terminal_id,
                        detail={"sha256": doc.sha256, "version": doc.version,
                                "evidence_digest": row.evidence_digest})
            return _evidence(doc, who.username)

    def start_new_cycle(self, session_id: int, new_cycle_id: str, *,
                        actor: User | str) -> SessionInfo:
        """The ATM accepted the new loading (EndExchange) and opened ``new_cycle_id``."""
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "new_cycle_started")
            row.new_cycle_id = new_cycle_id
            self._move(s, row, who, "new_cycle_started")
            self._audit(s, "new_cycle_started", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id, detail={"new_cycle_id": new_cycle_id})
            return self._info(s, row)

    def close_session(self, session_id: int, *, actor: User | str) -> SessionInfo:
        """Finish a signed clearing; the ATM is free for the next one."""
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "closed",
                                  roles=("custodian", "supervisor"))
            self._move(s, row, who, "closed")
            self._audit(s, "session_closed", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id, detail={})
            return self._info(s, row)

    def abandon_session(self, session_id: int, reason: str, *,
                        actor: User | str) -> SessionInfo:
        """Give up an unsigned clearing, with the reason; frees the ATM."""
        reason = refuse_full_pan((reason or "").strip(), "abandon reason")
        if not reason:
            raise StoreError("say why the clearing is abandoned; the reason goes on the record")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "abandoned",
                                  roles=("custodian", "supervisor", "administrator"))
            row.abandon_reason = reason
            self._move(s, row, who, "abandoned")
            self._audit(s, "session_abandoned", actor=who.username, session_id=row.id,
                        terminal_id=row.terminal_id, detail={"reason": reason})
            return self._info(s, row)

    # -- evidence ------------------------------------------------------------------------------

    def evidence(self, session_id: int, kind: str | None = None, *,
                 all_versions: bool = False) -> list[EvidenceDoc]:
        """The documents kept for a session (latest version of each kind unless all_versions)."""
        with self._tx(write=False) as s:
            self._session_row(s, session_id)
            q = (select(m.Evidence, m.User.username)
                 .outerjoin(m.User, m.User.id == m.Evidence.received_by_id)
                 .where(m.Evidence.session_id == session_id)
                 .order_by(m.Evidence.kind, m.Evidence.version))
            if kind is not None:
                q = q.where(m.Evidence.kind == kind)
            docs = [_evidence(e, name) for e, name in s.execute(q)]
        if not all_versions:
            latest: dict[str, EvidenceDoc] = {}
            for d in docs:
                latest[d.kind] = d
            docs = list(latest.values())
        return docs

    def document(self, session_id: int, kind: str) -> EvidenceDoc | None:
        """The latest document of ``kind`` kept for the session, or None."""
        docs = self.evidence(session_id, kind)
        return docs[-1] if docs else None

    def verify_session(self, session_id: int, *, pdf: bytes | None = None) -> SessionVerification:
        """Recompute the evidence digest and every document's SHA-256; check a report PDF."""
        info = self.get_session(session_id)
        docs = self.evidence(session_id, all_versions=True)
        result = SessionVerification(session_id, info.evidence_digest, None)
        for d in docs:
            if hashlib.sha256(d.content).hexdigest() != d.sha256 or len(d.content) != d.size:
                result.problems.append(f"{d.kind} version {d.version} does not match its recorded "
                                       "SHA-256 (the stored document was changed)")
        latest = {d.kind: d for d in docs}
        if all(k in latest for k in ("atm-ledger", "host-ledger", "clearing-result")):
            counts = None if info.count_skip_reason else latest.get("counts")
            result.computed_digest = evidence_digest(
                latest["atm-ledger"].content, latest["host-ledger"].content,
                counts.content if counts else None, latest["clearing-result"].content)
        if info.evidence_digest is None:
            result.problems.append(f"session {session_id} has no evidence digest yet (it was "
                                   f"not reconciled; step: {info.state})")
        elif result.computed_digest != info.evidence_digest:
            result.problems.append("the evidence digest recomputed from the stored documents "
                                   f"({result.computed_digest}) differs from the recorded one "
                                   f"({info.evidence_digest})")
        if pdf is not None:
            sha = hashlib.sha256(pdf).hexdigest()
            for d in docs:
                if d.kind == "report-pdf" and d.sha256 == sha:
                    result.pdf_version = d.version
            if result.pdf_version is None:
                result.problems.append(f"the PDF (SHA-256 {sha}) is not a report kept for "
                                       f"session {session_id}: it was changed or is of another "
                                       "clearing")
        return result

    def export_session(self, session_id: int, directory: str | Path, *,
                       actor: User | str | None = None) -> Path:
        """Write the evidence bundle of a session into ``directory`` (new or empty).

        The documents as received, the report PDF(s), ``audit.jsonl`` (the session's audit
        entries with their hashes) and ``manifest.json`` (session facts, SHA-256 of every file,
        the evidence digest). Returns the manifest's path.
        """
        from custodian_app.files import write_atomic

        target = Path(directory)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise StoreError(f"{target} exists and is not an empty folder; export into a new "
                             "folder so nothing is overwritten")
        info = self.get_session(session_id)
        docs = self.evidence(session_id, all_versions=True)
        check = self.verify_session(session_id)
        target.mkdir(parents=True, exist_ok=True)
        latest_version = {d.kind: d.version for d in docs}
        ext = {"report-pdf": "pdf"}
        files = []
        for d in docs:
            base = "report" if d.kind == "report-pdf" else d.kind
            suffix = ext.get(d.kind, "json")
            name = (f"{base}.{suffix}" if d.version == latest_version[d.kind]
                    else f"{base}-v{d.version}.{suffix}")
            write_atomic(target / name, d.content)
            files.append({"name": name, "kind": d.kind, "version": d.version,
                          "sha256": d.sha256, "size": d.size,
                          "received_at": audit_mod.format_time(d.received_at),
                          "received_by": d.received_by})
        exported = self.log("export", actor=actor, session_id=session_id,
                            detail={"files": len(files), "folder": target.name})
        entries = self.audit_entries(session_id=session_id)
        head_seq, head_hash = self.audit_head()
        audit_bytes = "".join(audit_mod.canonical_json(e.to_dict()) + "\n"
                              for e in entries).encode("utf-8")
        write_atomic(target / "audit.jsonl", audit_bytes)
        files.append({"name": "audit.jsonl", "kind": "audit",
                      "sha256": hashlib.sha256(audit_bytes).hexdigest(), "size": len(audit_bytes)})
        manifest = {
            "format": "custodian-evidence-bundle/1",
            "session": _session_dict(info),
            "evidence_digest": info.evidence_digest,
            "evidence_digest_recomputed": check.computed_digest,
            "verification": {"ok": check.ok, "problems": check.problems},
            "transitions": [{"from": t.from_state, "to": t.to_state, "actor": t.actor,
                             "host": t.host, "at": audit_mod.format_time(t.at)}
                            for t in self.transitions(session_id)],
            "remarks": [{"category": r.category, "tsn": r.tsn, "text": r.text,
                         "author": r.author, "at": audit_mod.format_time(r.at)}
                        for r in self.remarks(session_id)],
            "files": files,
            "exported_at": audit_mod.format_time(exported.at),
            "export_audit_seq": exported.seq,
            # The whole chain's head when exported: compare it with a later 'audit verify' to
            # show that nothing up to here was rewritten since.
            "audit_head": {"seq": head_seq, "hash": head_hash},
        }
        path = target / "manifest.json"
        write_atomic(path, (audit_mod.json.dumps(manifest, indent=2, ensure_ascii=False)
                            + "\n").encode("utf-8"))
        return path

    # -- banknote trace ------------------------------------------------------------------------

    def trace_note(self, serial: str, *, limit: int = 1000) -> list[NoteTrace]:
        """Every movement of the banknote(s) with this serial.

        ``?`` in the query stands for a character the caller cannot read; a stored serial's
        ``?`` (unreadable by the ATM) matches any character. Lengths must agree.
        """
        query = (serial or "").strip().upper()
        if not _SERIAL_QUERY.match(query):
            raise StoreError(f"serial {serial!r} is not valid: up to 12 of A–Z, 0–9 and ? for an "
                             "unreadable character")
        exact = (m.Banknote.serial == query if "?" not in query
                 else m.Banknote.serial.like(query.replace("?", "_")))
        unreadable = and_(m.Banknote.unreadable.is_(True),
                          m.Banknote.serial_length == len(query))
        with self._tx(write=False) as s:
            rows = s.scalars(select(m.Banknote).where(or_(exact, unreadable))
                             .order_by(m.Banknote.tx_time, m.Banknote.id))
            found = [_note(n) for n in rows if _serial_matches(query, n.serial)]
        return found[:limit]

    def trace_card(self, masked_card: str, start: date | datetime,
                   end: date | datetime) -> list[NoteTrace]:
        """The banknotes of a card's transactions between two days (inclusive) or moments.

        The card must be masked (``622202******1234``); matching uses its first six and last
        four digits, so a different number of ``*`` still finds it.
        """
        card = (masked_card or "").strip()
        if not _CARD.match(card):
            raise CardNumberRefused("trace-card")
        key = card[:6] + card[-4:]
        cond = [m.Banknote.card_key == key]
        if isinstance(start, datetime) or isinstance(end, datetime):
            if not (isinstance(start, datetime) and isinstance(end, datetime)):
                raise TypeError("give two dates or two datetimes")
            cond += [m.Banknote.tx_time >= start, m.Banknote.tx_time <= end]
        else:
            cond += [m.Banknote.tx_date >= start, m.Banknote.tx_date <= end]
        with self._tx(write=False) as s:
            rows = s.scalars(select(m.Banknote).where(*cond)
                             .order_by(m.Banknote.tx_time, m.Banknote.tsn, m.Banknote.id))
            return [_note(n) for n in rows]


# -- helpers -----------------------------------------------------------------------------------


def _parse(parser, data: bytes, what: str):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"the {what} is kept as the bytes received")
    try:
        return parser(bytes(data), what)
    except FormatError as exc:
        raise EvidenceError(f"the {what} is not valid, nothing was saved: {exc}") from exc


def _same_clearing(atm: formats.AtmLedger, other) -> None:
    try:
        formats.check_same_clearing(atm, other)
    except FormatError as exc:
        raise EvidenceError(f"this document is not of the clearing being done: {exc}") from exc


def _serial_matches(query: str, serial: str) -> bool:
    return len(query) == len(serial) and all(
        q == "?" or c == "?" or q == c for q, c in zip(query, serial))


def _user(u: m.User, signed_in_at: datetime | None = None) -> User:
    return User(id=u.id, username=u.username, full_name=u.full_name, role=u.role,
                disabled=u.disabled, locked_until=u.locked_until, created_at=u.created_at,
                last_sign_in_at=u.last_sign_in_at, signed_in_at=signed_in_at)


def _evidence(e: m.Evidence, received_by: str | None) -> EvidenceDoc:
    return EvidenceDoc(session_id=e.session_id, kind=e.kind, version=e.version, sha256=e.sha256,
                       size=e.size, received_at=e.received_at, received_by=received_by,
                       content=bytes(e.content))


def _note(n: m.Banknote) -> NoteTrace:
    return NoteTrace(serial=n.serial, value=n.value, currency=n.currency, event=n.event,
                     unit=n.unit, tsn=n.tsn, card=n.card, tx_time=n.tx_time,
                     terminal_id=n.terminal_id, cycle_id=n.cycle_id, session_id=n.session_id)


def _audit_record(e: m.AuditEntry) -> AuditRecord:
    return AuditRecord(seq=e.seq, at=e.at, actor=e.actor, action=e.action,
                       session_id=e.session_id, terminal_id=e.terminal_id, host=e.host,
                       detail=audit_mod.json.loads(e.detail), prev_hash=e.prev_hash,
                       entry_hash=e.entry_hash)


def _session_dict(info: SessionInfo) -> dict[str, Any]:
    t = audit_mod.format_time
    return {
        "id": info.id, "terminal_id": info.terminal_id, "cycle_id": info.cycle_id,
        "currency": info.currency, "state": info.state, "custodians": list(info.custodians),
        "supervisor": info.supervisor, "host": info.host, "opened_at": t(info.opened_at),
        "ended_at": t(info.ended_at) if info.ended_at else None,
        "abandon_reason": info.abandon_reason, "count_skip_reason": info.count_skip_reason,
        "balanced": info.balanced, "mismatch_count": info.mismatch_count,
        "cash_difference": (None if info.cash_difference is None
                            else format_amount(info.cash_difference)),
        "new_cycle_id": info.new_cycle_id,
    }
