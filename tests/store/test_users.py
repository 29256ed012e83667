"""Users, roles, Argon2 hashes, lockout after wrong passwords, disabling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from custodian_app.store import (
    AccountDisabled,
    AccountLocked,
    InvalidUser,
    NotFound,
    UnknownUser,
    WrongPassword,
)
from tests.store.conftest import PASSWORD


def test_users_have_one_of_the_three_roles(store):
    for name, role in (("alice", "custodian"), ("carol", "supervisor"), ("root", "administrator")):
        store.add_user(name, PASSWORD, role, full_name=name.title())
    assert [(u.username, u.role) for u in store.list_users()] == [
        ("alice", "custodian"),
        ("carol", "supervisor"),
        ("root", "administrator"),
    ]
    with pytest.raises(InvalidUser, match="role 'teller' is not one of"):
        store.add_user("eve", PASSWORD, "teller")


def test_the_stored_hash_is_argon2id_never_the_password(store):
    store.add_user("alice", PASSWORD, "custodian")
    with store.engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username = 'alice'")).scalar()
        dump = " ".join(
            str(r) for t in ("users", "audit_log") for r in conn.execute(text(f"SELECT * FROM {t}"))
        )
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored and PASSWORD not in dump
    assert store.authenticate("alice", PASSWORD).signed_in_at is not None


def test_duplicate_names_and_weak_passwords_are_refused(store):
    store.add_user("alice", PASSWORD, "custodian")
    with pytest.raises(InvalidUser, match="exists already"):
        store.add_user("alice", PASSWORD, "supervisor")
    with pytest.raises(InvalidUser, match="at least 8"):
        store.add_user("bob", "short", "custodian")
    with pytest.raises(InvalidUser, match="not valid"):
        store.add_user("bob smith", PASSWORD, "custodian")


def test_wrong_password_says_how_many_attempts_are_left(store):
    store.add_user("alice", PASSWORD, "custodian")
    with pytest.raises(WrongPassword) as info:
        store.authenticate("alice", "not the password")
    assert info.value.attempts_left == 4
    assert "4 attempt(s) left" in str(info.value)
    with pytest.raises(UnknownUser):
        store.authenticate("nobody", PASSWORD)


def test_five_wrong_passwords_lock_the_account_for_a_period(clocked_store):
    store = clocked_store
    store.add_user("alice", PASSWORD, "custodian")
    for left in (4, 3, 2, 1):
        with pytest.raises(WrongPassword) as info:
            store.authenticate("alice", "guess")
        assert info.value.attempts_left == left
    with pytest.raises(AccountLocked) as locked:
        store.authenticate("alice", "guess")
    assert locked.value.until == store.clock.now + timedelta(minutes=15)
    # Even the right password is refused while locked; the lock survives a new store object.
    with pytest.raises(AccountLocked, match="locked .* until 2026-11-20 08:15 UTC"):
        store.authenticate("alice", PASSWORD)
    store.clock.advance(minutes=15, seconds=1)
    assert store.authenticate("alice", PASSWORD).username == "alice"
    # A success resets the count: four more failures do not lock.
    for _ in range(4):
        with pytest.raises(WrongPassword):
            store.authenticate("alice", "guess")


def test_an_administrator_can_lift_a_lockout(clocked_store):
    store = clocked_store
    store.add_user("alice", PASSWORD, "custodian")
    for _ in range(5):
        with pytest.raises((WrongPassword, AccountLocked)):
            store.authenticate("alice", "guess")
    store.unlock_user("alice", actor="root")
    assert store.authenticate("alice", PASSWORD).username == "alice"


def test_a_disabled_user_cannot_sign_in(store):
    store.add_user("alice", PASSWORD, "custodian")
    assert store.disable_user("alice", actor="root").disabled
    with pytest.raises(AccountDisabled, match="disabled"):
        store.authenticate("alice", PASSWORD)
    assert store.get_user("alice").disabled
    assert [u.username for u in store.list_users(include_disabled=False)] == []
    with pytest.raises(NotFound):
        store.disable_user("nobody")


def test_every_sign_in_attempt_is_audited_without_secrets(store):
    store.add_user("alice", PASSWORD, "custodian", actor="root")
    store.authenticate("alice", PASSWORD)
    with pytest.raises(WrongPassword):
        store.authenticate("alice", "hunter2hunter2")
    with pytest.raises(UnknownUser):
        store.authenticate("S3cret-typed-in-name-field", PASSWORD)
    entries = store.audit_entries()
    assert [(e.action, e.actor) for e in entries] == [
        ("user_added", "root"),
        ("sign_in", "alice"),
        ("sign_in_failed", "alice"),
        ("sign_in_failed", None),
    ]
    text_of_log = repr(entries)
    for secret in (PASSWORD, "hunter2hunter2", "S3cret-typed-in-name-field"):
        assert secret not in text_of_log
