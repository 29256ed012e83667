"""Where the database is, how to connect to it, and bringing its schema to the current version.

URL precedence: the ``url`` argument (``--db URL``), then ``CUSTODIAN_DB``, then the settings
file, then a SQLite file in the data directory. SQLite runs in WAL mode with foreign keys on,
a busy timeout and ``BEGIN IMMEDIATE`` transactions (a writer takes the write lock up front, so
two processes never deadlock upgrading a read lock). PostgreSQL goes through psycopg 3.

Every wait is bounded (docs/storage.md, "Locks and waits"): SQLite waits ``BUSY_TIMEOUT_MS``
for the write lock; PostgreSQL sessions run with ``lock_timeout``, ``statement_timeout`` and
``idle_in_transaction_session_timeout`` (the last ends the transaction of a frozen or sleeping
PC, releasing its locks). A wait that runs out raises ``DatabaseBusy`` naming who holds the
lock: on PostgreSQL the holder's ``application_name`` (program, PC and process id, set per
process) from ``pg_stat_activity``; on SQLite the writer recorded beside the file when it took
the lock. The schema check of ``open_store`` only reads, so readers never wait.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from custodian_app.settings import paths
from custodian_app.store.errors import DatabaseBusy, DatabaseUnavailable

# Bounded waits. Short enough that a custodian is told within seconds who blocks the step;
# long enough for an honest writer (a step is milliseconds, a large evidence document < 1 s).
BUSY_TIMEOUT_MS = 5_000  # SQLite: wait this long for the write lock
LOCK_TIMEOUT_MS = 5_000  # PostgreSQL: wait this long for any lock (rows, tables, advisory)
STATEMENT_TIMEOUT_MS = 60_000  # PostgreSQL: one statement at most this long
IDLE_IN_TRANSACTION_MS = 120_000  # PostgreSQL: a transaction idle this long is ended by the server
# SQLite: the writer that last took the write lock, beside the database file
WRITER_SUFFIX = "-writer"
# The newest migration. Opening a database already at it skips loading Alembic (a third of a
# second on a branch PC); a test keeps this equal to the migration scripts' head.
HEAD_REVISION = "0002"
# Execution option the store sets on read-only transactions (SQLite: BEGIN DEFERRED).
READ_ONLY_OPTION = "custodian_read_only"
# Any constant: serialises concurrent schema upgrades of one PostgreSQL database.
_MIGRATION_LOCK_KEY = 0x43555354  # "CUST"


def _settings_url() -> str | None:
    """The database URL of the settings files (``[database] url``), or None when unset."""
    try:
        from custodian_app.settings.config import load_settings
    except ImportError:  # a build without the settings module: env and default only
        return None
    from custodian_app.domain.errors import CustodianError

    try:
        settings = load_settings()
    except CustodianError as exc:
        raise DatabaseUnavailable(f"cannot tell which database to use: {exc}") from exc
    return getattr(settings, "database_url", None) or None


def resolve_url(url: str | None = None) -> str:
    return url or os.environ.get("CUSTODIAN_DB") or _settings_url() or paths.default_database_url()


def describe(url: str) -> str:
    """The URL without its password, fit for a message or a log."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def make_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise DatabaseUnavailable(
            f"database URL {url!r} is not valid: {exc}; use "
            "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB"
        ) from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return _postgresql_engine(parsed)
        except ImportError as exc:  # psycopg is the optional extra "postgresql"
            raise DatabaseUnavailable(
                f"the database {describe(url)} is PostgreSQL, but its driver psycopg is not "
                'installed; install it with pip install "custodian-app[postgresql]", or use '
                "SQLite (sqlite:///PATH)"
            ) from exc
    raise DatabaseUnavailable(
        f"database {describe(url)} is not supported; use SQLite "
        "(sqlite:///PATH) or PostgreSQL (postgresql+psycopg://...)"
    )


def application_name() -> str:
    """Who this process is, for ``pg_stat_activity`` and for a lock holder's name in the
    messages of other PCs: program, PC and process id (at most 63 bytes, PostgreSQL's limit)."""
    name = f"custodian-app {socket.gethostname() or 'unknown-pc'} pid {os.getpid()}"
    return name.encode("utf-8")[:63].decode("utf-8", "ignore")


def _postgresql_engine(parsed) -> Engine:
    engine = create_engine(
        parsed,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 10, "application_name": application_name()},
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET lock_timeout = {int(LOCK_TIMEOUT_MS)}")
                cursor.execute(f"SET statement_timeout = {int(STATEMENT_TIMEOUT_MS)}")
                cursor.execute(f"SET idle_in_transaction_session_timeout = {int(IDLE_IN_TRANSACTION_MS)}")
        finally:
            dbapi_connection.autocommit = autocommit

    @event.listens_for(engine, "handle_error")
    def _on_error(context):
        sqlstate = getattr(context.original_exception, "sqlstate", None)
        if sqlstate == "55P03":  # lock_not_available: lock_timeout ran out
            raise DatabaseBusy(
                f"the database {describe(str(engine.url))} is busy: a lock this step needs has been "
                f"held by another connection for more than {LOCK_TIMEOUT_MS / 1000:g} s "
                f"({_pg_holders(engine)}). If that custodian-app is not responding or its PC went "
                "to sleep, wake it or close it (the server ends a transaction idle for "
                f"{IDLE_IN_TRANSACTION_MS // 1000} s); nothing of this step was saved — try it again"
            ) from context.sqlalchemy_exception
        if sqlstate == "57014":  # query_canceled: statement_timeout ran out
            raise DatabaseBusy(
                f"the database {describe(str(engine.url))} took more than "
                f"{STATEMENT_TIMEOUT_MS / 1000:g} s over one step and it was stopped "
                f"({_pg_holders(engine)}); nothing of this step was saved — try it again, and "
                "call IT if it keeps happening"
            ) from context.sqlalchemy_exception

    return engine


_PG_HOLDERS = text("""
    SELECT a.pid, a.application_name, a.client_hostname, host(a.client_addr) AS client_addr,
           a.state, a.xact_start,
           string_agg(DISTINCT coalesce(c.relname, l.locktype) || ' ' || l.mode, ', ') AS locks
    FROM pg_locks l
    JOIN pg_stat_activity a ON a.pid = l.pid
    LEFT JOIN pg_class c ON c.oid = l.relation
    WHERE l.granted AND a.pid <> pg_backend_pid() AND a.datname = current_database()
      AND a.xact_start IS NOT NULL
      AND (l.locktype = 'advisory' OR c.relnamespace = to_regnamespace(current_schema()))
    GROUP BY a.pid, a.application_name, a.client_hostname, a.client_addr, a.state, a.xact_start
    ORDER BY a.xact_start
    LIMIT 3
""")


def _pg_holders(engine: Engine) -> str:
    """Who holds locks on the store's tables, oldest transaction first, in words."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(_PG_HOLDERS).all()
    except Exception:  # the explanation must never hide the error it explains
        return "who holds it could not be found out"
    if not rows:
        return "the holder has finished meanwhile"
    return "; ".join(
        f"held by {r.application_name or 'an unnamed program'} (server pid {r.pid}, from "
        f"{r.client_hostname or r.client_addr or 'this server'}, in a transaction since "
        f"{r.xact_start.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC, {r.state}; holds {r.locks})"
        for r in rows
    )


def _writer_file(database: str) -> Path:
    return Path(database).expanduser().with_name(Path(database).name + WRITER_SUFFIX)


def _sqlite_holder(database: str) -> str:
    try:
        who = json.loads(_writer_file(database).read_text(encoding="utf-8"))
        return (
            f"the write lock was last taken by {who['program']} (pid {who['pid']}) on PC "
            f"{who['host']} at {who['since']}"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "who holds it is not recorded"


def _sqlite_engine(parsed) -> Engine:
    database = parsed.database
    if not database or database == ":memory:":
        raise DatabaseUnavailable("an in-memory SQLite database keeps nothing; give a file, sqlite:///PATH")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take transaction control away from the sqlite3 module; "begin" below issues it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = FULL")  # a power cut loses no committed step
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    writer = _writer_file(database)

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Readers (marked by the store) begin deferred: in WAL mode they never wait on a writer.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
        if not read_only:
            # Holding the write lock now: say who, for a writer that has to wait (SQLite itself
            # cannot tell). Not synced: it only explains, it proves nothing.
            try:
                writer.write_text(
                    json.dumps(
                        {
                            "program": "custodian-app",
                            "pid": os.getpid(),
                            "host": socket.gethostname() or "unknown-pc",
                            "since": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
                        }
                    ),
                    encoding="utf-8",
                )
            except OSError:
                pass

    @event.listens_for(engine, "handle_error")
    def _on_error(context):
        orig = context.original_exception
        if getattr(orig, "sqlite_errorcode", None) == 5 or "database is locked" in str(orig):  # SQLITE_BUSY
            raise DatabaseBusy(
                f"the database {database} is busy: another program has held its write lock for "
                f"more than {BUSY_TIMEOUT_MS / 1000:g} s ({_sqlite_holder(database)}). If that "
                "custodian-app is not responding or its PC went to sleep, wake it or close it; "
                "nothing of this step was saved — try it again"
            ) from context.sqlalchemy_exception

    return engine


def alembic_config(connection=None):
    """The Alembic configuration, built in code (no alembic.ini)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "custodian_app.store:migrations")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def current_revision(engine: Engine) -> str | None:
    """The schema version recorded in the database, or None (a new or foreign database)."""
    from sqlalchemy import inspect, text

    # only reads: on SQLite a deferred transaction, which never waits for a writer
    with engine.execution_options(**{READ_ONLY_OPTION: True}).connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def has_store(url: str) -> bool:
    """Whether ``url`` holds a custodian-app database already (without creating anything)."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return False
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or not Path(database).expanduser().is_file():
            return False
    engine = make_engine(url)
    try:
        return current_revision(engine) is not None
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(
            f"cannot open the database {describe(url)}: "
            f"{getattr(exc, 'orig', exc)}; check the URL and that the "
            "server is running"
        ) from exc
    finally:
        engine.dispose()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in one transaction; safe when several PCs open at once."""
    try:
        found = current_revision(engine)
        if revision == "head" and found == HEAD_REVISION:
            return
        from alembic import command
        from alembic.util.exc import CommandError

        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
            try:
                command.upgrade(alembic_config(conn), revision)
            except CommandError as exc:
                # A central database already upgraded by a newer release of the application.
                raise DatabaseUnavailable(
                    f"the database {describe(str(engine.url))} has schema version {found!r}, "
                    f"which this custodian-app (schema {HEAD_REVISION}) does not know: it was "
                    "upgraded by a newer release; install that release on this PC"
                ) from exc
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(
            f"cannot open the database {describe(str(engine.url))}: {exc.__class__.__name__}: "
            f"{getattr(exc, 'orig', exc)}; check the URL (--db, CUSTODIAN_DB or the settings) "
            "and that the server is running"
        ) from exc
