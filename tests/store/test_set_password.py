"""Only an administrator, or the user with their current password, may set a password; the
change is audited as that person (issue 18: ``users set-password carol`` needed nothing)."""

from __future__ import annotations

import pytest

from custodian_app.store import CustodyError, WrongPassword
from tests.store.conftest import PASSWORD

NEW = "a brand new password"


def _password_entries(store):
    return [(e.actor, e.detail) for e in store.audit_entries() if e.action == "password_set"]


def test_no_credential_no_new_password(cli, db_url, store, crew):
    for actor in (None, "cli:someone", "carol"):
        with pytest.raises(CustodyError, match="current password or an administrator"):
            store.set_password("carol", NEW, actor=actor)
    typed_wrong = cli(
        db_url, "users", "set-password", "carol", "--password-stdin", stdin=f"not her password\n{NEW}\n"
    )
    assert typed_wrong.returncode == 2 and "wrong password" in typed_wrong.stderr
    nothing = cli(db_url, "users", "set-password", "carol", "--password-stdin", stdin="")
    assert nothing.returncode == 2 and "nothing was changed" in nothing.stderr
    assert store.authenticate("carol", PASSWORD).username == "carol"  # unchanged
    assert _password_entries(store) == []


def test_the_user_with_the_old_password_sets_their_own(cli, db_url, store, crew):
    done = cli(db_url, "users", "set-password", "carol", "--password-stdin", stdin=f"{PASSWORD}\n{NEW}\n")
    assert done.returncode == 0, done.stderr
    assert store.authenticate("carol", NEW).username == "carol"
    assert _password_entries(store) == [("carol", {"username": "carol"})]


def test_only_an_administrator_sets_another_users(cli, db_url, store, crew):
    with pytest.raises(CustodyError, match="may not set another user's password"):
        store.set_password("bob", NEW, actor=store.authenticate("carol", PASSWORD))
    refused = cli(
        db_url,
        "users",
        "set-password",
        "bob",
        "--by",
        "carol",
        "--password-stdin",
        stdin=f"{PASSWORD}\n{NEW}\n",
    )
    assert refused.returncode == 2 and "ask an administrator" in refused.stderr
    with pytest.raises(WrongPassword):
        store.authenticate("bob", NEW)
    done = cli(
        db_url,
        "users",
        "set-password",
        "bob",
        "--by",
        "root",
        "--password-stdin",
        stdin=f"{PASSWORD}\n{NEW}\n",
    )
    assert done.returncode == 0, done.stderr
    assert store.authenticate("bob", NEW).username == "bob"
    assert _password_entries(store) == [("root", {"username": "bob"})]
