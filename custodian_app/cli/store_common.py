"""What the commands on the clearing-session store share: the ``--db`` option, opening the
store with its errors made exit statuses, and the plain-text tables they print.

Used by ``store_cmds`` (users, history, session) and ``audit_cmds`` (audit, trace-note,
trace-card)."""

from __future__ import annotations

import argparse

from custodian_app.cli.common import fail


def db_option() -> argparse.ArgumentParser:
    """The ``--db URL`` option every store command takes, as a parent parser."""
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        metavar="URL",
        help="database URL (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB); "
        "default: $CUSTODIAN_DB, the settings, then the local SQLite file",
    )
    return db


def with_store(args, body, *, create: bool = False) -> int:
    """Open the store, run ``body(store)``, translate the store's errors into exit statuses.

    Only a command that adds something (``create``) may start a new database: ``audit verify``
    on a mistyped path must not answer "verified, 0 entries" from a file it just created.
    """
    from custodian_app.store import StoreError, open_store
    from custodian_app.store.database import describe, has_store, resolve_url

    try:
        url = resolve_url(args.db)
        if not create and not has_store(url):
            return fail(
                f"there is no custodian-app database at {describe(url)}; check --db, "
                "CUSTODIAN_DB or the settings"
            )
        store = open_store(url)
    except StoreError as exc:
        return fail(str(exc))
    try:
        return body(store)
    except StoreError as exc:  # NotFound included
        return fail(str(exc))
    finally:
        store.close()


def cli_actor() -> str:
    """Who runs a command-line change: the operating-system account, marked as such."""
    import getpass

    try:
        name = getpass.getuser()
    except Exception:  # no login name (a service account without one)
        name = "unknown"
    return f"cli:{name}"[:64]


def utc(at) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())
