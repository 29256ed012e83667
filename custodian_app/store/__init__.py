"""Clearing sessions persisted with SQLAlchemy: users, sessions, evidence, notes, audit log.

``open_store(url=None) -> Store`` opens (and, on first use, creates or upgrades) the database:
the ``url`` argument, else ``CUSTODIAN_DB``, else the settings file, else a SQLite file in the
data directory. See docs/storage.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from custodian_app.store.errors import (
    AccountDisabled,
    AccountLocked,
    AuthenticationError,
    CardNumberRefused,
    Conflict,
    CustodyError,
    DatabaseBusy,
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

if TYPE_CHECKING:  # the heavy imports wait until a store is opened
    from custodian_app.store.service import Store

ROLES = ("custodian", "supervisor", "administrator")


def open_store(url: str | None = None, **options: Any) -> Store:
    """Open the store and bring its schema to the current version.

    ``options`` go to ``Store`` (``hasher``, ``clock``, ``host``, ``max_failed_sign_ins``,
    ``lockout``). Raises ``DatabaseUnavailable`` when the database cannot be opened.
    """
    from custodian_app.store.database import make_engine, resolve_url, upgrade
    from custodian_app.store.service import Store

    engine = make_engine(resolve_url(url))
    try:
        upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return Store(engine, **options)


def __getattr__(name: str):
    if name == "Store":
        from custodian_app.store.service import Store

        return Store
    if name == "STATES":  # the clearing flow's states, as strings on disk
        from custodian_app.store.models import STATES

        return STATES
    raise AttributeError(name)


__all__ = [
    "open_store",
    "Store",
    "STATES",
    "ROLES",
    "StoreError",
    "DatabaseUnavailable",
    "DatabaseBusy",
    "NotFound",
    "AuthenticationError",
    "UnknownUser",
    "WrongPassword",
    "AccountLocked",
    "AccountDisabled",
    "InvalidUser",
    "CustodyError",
    "TerminalBusy",
    "InvalidTransition",
    "EvidenceError",
    "CardNumberRefused",
    "Conflict",
]
