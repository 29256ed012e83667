"""The users the QA fixtures put in the store: two custodians and a supervisor."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QaUsers:
    """``custodians``: the two who sign in; ``supervisor``: who signs the report off.
    ``passwords``: user name -> password (the demo's, see docs/qa.md)."""

    custodians: tuple[str, str]
    supervisor: str
    passwords: dict[str, str]

    def password(self, name: str) -> str:
        return self.passwords[name]


def demo_users() -> QaUsers:
    from custodian_app.demo import DEMO_USERS

    custodians = tuple(u for u, _p, r in DEMO_USERS if r == "custodian")
    supervisor = next(u for u, _p, r in DEMO_USERS if r == "supervisor")
    return QaUsers(
        custodians=(custodians[0], custodians[1]),
        supervisor=supervisor,
        passwords={u: p for u, p, _r in DEMO_USERS},
    )


def seed(users: QaUsers, db_url: str | None = None) -> None:
    """Put the users in the store (the one of CUSTODIAN_HOME unless ``db_url``)."""
    from custodian_app import clearing

    store = clearing.open_store(db_url)
    try:
        for name in users.custodians:
            clearing.ensure_user(store, name, users.passwords[name], "custodian")
        clearing.ensure_user(store, users.supervisor, users.passwords[users.supervisor], "supervisor")
    finally:
        clearing.close_store(store)
