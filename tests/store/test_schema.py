"""The migrations are the schema: upgrading to head gives exactly the models, on both databases."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from custodian_app.settings import paths
from custodian_app.store import DatabaseUnavailable, open_store
from custodian_app.store.database import alembic_config, resolve_url
from custodian_app.store.models import Base


def test_migrations_produce_exactly_the_models(store):
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        assert compare_metadata(context, Base.metadata) == []
        assert (
            context.get_current_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()
        )
    tables = set(inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_reopening_an_up_to_date_database_changes_nothing(db_url, store):
    store.add_user("alice", "correct horse battery", "custodian")
    again = open_store(db_url)
    try:
        assert [u.username for u in again.list_users()] == ["alice"]
        assert again.verify_audit().ok
    finally:
        again.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        store.close()


def test_the_database_url_comes_from_argument_then_environment_then_data_dir(monkeypatch, tmp_path):
    assert resolve_url() == paths.default_database_url()
    assert str(paths.data_dir()) in resolve_url()
    monkeypatch.setenv("CUSTODIAN_DB", f"sqlite:///{tmp_path / 'env.sqlite3'}")
    assert resolve_url().endswith("env.sqlite3")
    assert resolve_url("sqlite:///given.sqlite3") == "sqlite:///given.sqlite3"


def test_default_store_is_a_sqlite_file_in_the_data_directory():
    store = open_store()
    try:
        assert store.dialect == "sqlite"
        assert (paths.data_dir() / "custodian.sqlite3").is_file()
    finally:
        store.close()


@pytest.mark.parametrize("url", ["mysql://x@localhost/db", "sqlite://", "not a url"])
def test_unusable_urls_are_refused_clearly(url):
    with pytest.raises(DatabaseUnavailable):
        open_store(url)


def test_an_unreachable_server_says_what_to_check():
    with pytest.raises(DatabaseUnavailable, match="check the URL"):
        open_store("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")


def test_the_password_of_the_url_is_never_shown():
    from custodian_app.store.database import describe

    assert "secret" not in describe("postgresql+psycopg://u:secret@h/db")


def test_evidence_and_audit_rows_cannot_be_updated_or_deleted(store, crew):
    store.log("export", actor="root", detail={"note": "x"})
    for sql in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(Exception, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert store.verify_audit().ok


def test_the_fast_open_path_knows_the_newest_migration():
    from custodian_app.store.database import HEAD_REVISION

    assert ScriptDirectory.from_config(alembic_config()).get_current_head() == HEAD_REVISION


def test_the_settings_file_names_the_database_when_nothing_else_does(monkeypatch, tmp_path):
    target = tmp_path / "from-settings.sqlite3"
    paths.config_file().write_text(f'[database]\nurl = "sqlite:///{target}"\n', encoding="utf-8")
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "no-system.toml"))
    assert resolve_url() == f"sqlite:///{target}"
    monkeypatch.setenv("CUSTODIAN_DB", "sqlite:///env-wins.sqlite3")
    assert resolve_url() == "sqlite:///env-wins.sqlite3"


def test_a_broken_settings_file_is_a_clear_store_error(monkeypatch, tmp_path):
    paths.config_file().write_text("[database\nurl = 1\n", encoding="utf-8")
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "no-system.toml"))
    with pytest.raises(DatabaseUnavailable, match="cannot tell which database"):
        open_store()


def test_the_migrations_go_down_and_up_again(db_url):
    from alembic import command

    from custodian_app.store.database import make_engine, upgrade

    engine = make_engine(db_url)
    try:
        upgrade(engine)
        with engine.begin() as conn:
            command.downgrade(alembic_config(conn), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_database_from_a_newer_release_is_refused_with_what_to_do(db_url, store):
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(DatabaseUnavailable, match="schema version '0099'.*newer release"):
        open_store(db_url)


def test_the_database_keeps_exactly_the_clearing_flows_states(store, crew):
    """The store has no states of its own: the flow's are the ones its CHECK admits."""
    from sqlalchemy.exc import IntegrityError

    from custodian_app.domain.flow import State

    s = store.open_session("NJ-0001", crew.alice, crew.bob)
    move = text("UPDATE clearing_sessions SET state = :state WHERE id = :id")
    with store.engine.begin() as conn:
        for state in State:
            conn.execute(move, {"state": state.value, "id": s.id})
    with pytest.raises(IntegrityError, match="state"), store.engine.begin() as conn:
        conn.execute(move, {"state": "printed", "id": s.id})
    assert store.get_session(s.id).state == State.ABANDONED.value
