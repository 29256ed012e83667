"""Every storage test runs on SQLite (a file in tmp_path) and on PostgreSQL.

PostgreSQL comes from ``CUSTODIAN_TEST_PG_URL`` (CI: postgresql+psycopg://postgres@127.0.0.1:5432/test);
each test gets its own freshly created schema, selected with ``search_path`` in the URL so that
subprocesses given the URL land in it too, and dropped at the end.
"""

from __future__ import annotations

import io
import os
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC

import pytest
from argon2 import profiles

from custodian_app.store.passwords import PasswordHasher

PG_ENV = "CUSTODIAN_TEST_PG_URL"
PG_HINT = (
    f"PostgreSQL variant skipped: set {PG_ENV}=postgresql+psycopg://postgres@127.0.0.1:5432/test "
    "(a server you may create schemas in) to run the storage tests on PostgreSQL too"
)

# Argon2 at full strength costs ~0.1 s a hash; the tests sign in hundreds of times. The hash is
# still Argon2id, only cheaper (the CLI tests run the real parameters).
CHEAP_HASHER = PasswordHasher(profiles.CHEAPEST)
PASSWORD = "correct horse battery"


def _admin_conninfo(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def with_schema(url: str, schema: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'custodian.sqlite3'}"
        return
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(PG_HINT)
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_admin_conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield with_schema(base, schema)
    finally:
        with psycopg.connect(_admin_conninfo(base), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(db_url):
    from custodian_app.store import open_store

    s = open_store(db_url, hasher=CHEAP_HASHER, host="BRANCH-PC-1")
    yield s
    s.close()


@dataclass
class Crew:
    alice: object  # custodian
    bob: object  # custodian
    dave: object  # custodian
    carol: object  # supervisor
    root: object  # administrator


@pytest.fixture
def crew(store):
    """Users of every role, added and signed in (the returned records carry signed_in_at)."""
    for name, role, full in (
        ("alice", "custodian", "Alice Wang"),
        ("bob", "custodian", "Bob Li"),
        ("dave", "custodian", "Dave Zhao"),
        ("carol", "supervisor", "Carol Chen"),
        ("root", "administrator", "IT Admin"),
    ):
        store.add_user(name, PASSWORD, role, full_name=full)
    return Crew(*(store.authenticate(n, PASSWORD) for n in ("alice", "bob", "dave", "carol", "root")))


class Clock:
    """A clock the test moves by hand (lockout periods pass without waiting)."""

    def __init__(self) -> None:
        from datetime import datetime

        self.now = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)

    def __call__(self):
        return self.now

    def advance(self, **delta) -> None:
        from datetime import timedelta

        self.now += timedelta(**delta)


@pytest.fixture
def clocked_store(db_url):
    from custodian_app.store import open_store

    clock = Clock()
    s = open_store(db_url, hasher=CHEAP_HASHER, host="BRANCH-PC-1", clock=clock)
    s.clock = clock
    yield s
    s.close()


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run a command in this process, exactly as parsed by custodian-app (fast); the
    subprocess test below runs the real executable for every command group."""
    from custodian_app.cli.main import build_parser

    def run(db_url, *args, stdin: str | None = None) -> Ran:
        capsys.readouterr()
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin or ""))
        try:
            parsed = build_parser().parse_args([*args, "--db", db_url])
            status = parsed.func(parsed)
        except SystemExit as exc:  # argparse refusing the command line
            status = exc.code
        out, err = capsys.readouterr()
        return Ran(status, out, err)

    return run
