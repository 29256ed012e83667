"""Users: adding, disabling, passwords, lockouts and signing in."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from custodian_app.store import audit as audit_mod
from custodian_app.store import models as m
from custodian_app.store.base import StoreBase, refuse_full_pan
from custodian_app.store.errors import (
    AccountDisabled,
    AccountLocked,
    CustodyError,
    InvalidUser,
    NotFound,
    UnknownUser,
    WrongPassword,
)
from custodian_app.store.passwords import check_strength
from custodian_app.store.records import User

_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")


class Users(StoreBase):
    """The accounts that sign in, and signing in itself."""

    def add_user(
        self, username: str, password: str, role: str, *, full_name: str = "", actor: User | str | None = None
    ) -> User:
        """Add a user. Raises ``InvalidUser`` for a taken name, an unknown role, a weak password."""
        if not _USERNAME.match(username or ""):
            raise InvalidUser(
                f"user name {username!r} is not valid: letters, digits, '.', '_', "
                "'-', up to 64, starting with a letter or digit"
            )
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
            user = m.User(
                username=username,
                full_name=full_name,
                role=role,
                password_hash=password_hash,
                failed_attempts=0,
                disabled=False,
                created_at=now,
            )
            s.add(user)
            s.flush()
            self._audit(
                s, "user_added", actor=self._actor_name(s, actor), detail={"username": username, "role": role}
            )
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
                self._audit(
                    s, "user_disabled", actor=self._actor_name(s, actor), detail={"username": username}
                )
            return _user(user)

    def set_password(self, username: str, password: str, *, actor: User) -> User:
        """Give a user a new password; also lifts a lockout. ``actor``, signed in (a record
        from ``authenticate``), is an administrator or the user themself (who thereby gave the
        old password); the change is audited as theirs."""
        if not isinstance(actor, User) or actor.signed_in_at is None:
            raise CustodyError(
                "setting a password needs the user's current password or an administrator's sign-in"
            )
        if actor.role != "administrator" and actor.username != username:
            raise CustodyError(f"{actor.username} may not set another user's password; ask an administrator")
        weak = check_strength(password)
        if weak:
            raise InvalidUser(f"{weak} (user {username!r})")
        password_hash = self._hasher.hash(password)
        with self._tx() as s:
            user = self._user_row(s, username)
            user.password_hash = password_hash
            user.failed_attempts = 0
            user.locked_until = None
            self._audit(s, "password_set", actor=self._actor_name(s, actor), detail={"username": username})
            return _user(user)

    def unlock_user(self, username: str, *, actor: User | str | None = None) -> User:
        """Lift a lockout after wrong passwords before its time runs out."""
        with self._tx() as s:
            user = self._user_row(s, username)
            user.locked_until = None
            user.failed_attempts = 0
            self._audit(s, "user_unlocked", actor=self._actor_name(s, actor), detail={"username": username})
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
        new_hash = self._hasher.hash(password) if good and self._hasher.needs_rehash(stored_hash) else None
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
                    self._audit(
                        s,
                        "sign_in_failed",
                        actor=username,
                        detail={
                            "reason": "wrong password",
                            "locked_until": audit_mod.format_time(user.locked_until),
                        },
                    )
                    refusal = AccountLocked(username, user.locked_until)
                else:
                    left = self.max_failed_sign_ins - user.failed_attempts
                    self._audit(
                        s,
                        "sign_in_failed",
                        actor=username,
                        detail={"reason": "wrong password", "attempts_left": left},
                    )
                    refusal = WrongPassword(username, left, int(self.lockout.total_seconds() // 60))
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

    def _actor_row(self, s: Session, actor: User | str) -> m.User:
        if actor is None:
            raise CustodyError("this step needs the signed-in user who does it")
        return self._user_row(s, actor.username if isinstance(actor, User) else actor)


def _user(u: m.User, signed_in_at: datetime | None = None) -> User:
    return User(
        id=u.id,
        username=u.username,
        full_name=u.full_name,
        role=u.role,
        disabled=u.disabled,
        locked_until=u.locked_until,
        created_at=u.created_at,
        last_sign_in_at=u.last_sign_in_at,
        signed_in_at=signed_in_at,
    )
