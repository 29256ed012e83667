"""Where the database is, how to connect to it, and bringing its schema to the current version.

URL precedence: the ``url`` argument (``--db URL``), then ``CUSTODIAN_DB``, then the settings
file, then a SQLite file in the data directory. SQLite runs in WAL mode with foreign keys on,
a busy timeout and ``BEGIN IMMEDIATE`` transactions (a writer takes the write lock up front, so
two processes never deadlock upgrading a read lock). PostgreSQL goes through psycopg 3.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from custodian_app import paths
from custodian_app.store.errors import DatabaseUnavailable

BUSY_TIMEOUT_MS = 30_000
# The newest migration. Opening a database already at it skips loading Alembic (a third of a
# second on a branch PC); a test keeps this equal to the migration scripts' head.
HEAD_REVISION = "0001"
# Execution option the store sets on read-only transactions (SQLite: BEGIN DEFERRED).
READ_ONLY_OPTION = "custodian_read_only"
# Any constant: serialises concurrent schema upgrades of one PostgreSQL database.
_MIGRATION_LOCK_KEY = 0x43555354  # "CUST"


def _settings_url() -> str | None:
    """The database URL of the settings files (``[database] url``), or None when unset."""
    try:
        from custodian_app.config import load_settings
    except ImportError:  # a build without the settings module: env and default only
        return None
    from custodian_app.errors import CustodianError

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
        raise DatabaseUnavailable(f"database URL {url!r} is not valid: {exc}; use "
                                  "sqlite:///PATH or postgresql+psycopg://USER@HOST/DB") from exc
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(parsed)
    if backend == "postgresql":
        if parsed.get_driver_name() != "psycopg":
            parsed = parsed.set(drivername="postgresql+psycopg")
        try:
            return create_engine(parsed, pool_pre_ping=True,
                                 connect_args={"connect_timeout": 10,
                                               "application_name": "custodian-app"})
        except ImportError as exc:  # psycopg is the optional extra "postgresql"
            raise DatabaseUnavailable(
                f"the database {describe(url)} is PostgreSQL, but its driver psycopg is not "
                "installed; install it with pip install \"custodian-app[postgresql]\", or use "
                "SQLite (sqlite:///PATH)") from exc
    raise DatabaseUnavailable(f"database {describe(url)} is not supported; use SQLite "
                              "(sqlite:///PATH) or PostgreSQL (postgresql+psycopg://...)")


def _sqlite_engine(parsed) -> Engine:
    database = parsed.database
    if not database or database == ":memory:":
        raise DatabaseUnavailable("an in-memory SQLite database keeps nothing; give a file, "
                                  "sqlite:///PATH")
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

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        # Readers (marked by the store) begin deferred: in WAL mode they never wait on a writer.
        read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

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

    with engine.connect() as conn:
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
        raise DatabaseUnavailable(f"cannot open the database {describe(url)}: "
                                  f"{getattr(exc, 'orig', exc)}; check the URL and that the "
                                  "server is running") from exc
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
