"""PostgreSQL: refuse TRUNCATE of the append-only tables and of the audit chain's head.

The row triggers of 0001 refuse UPDATE and DELETE, but TRUNCATE fires no row trigger: a
``TRUNCATE audit_log`` plus a reset head left an empty chain that ``audit verify`` called
intact. A statement trigger refuses it. (SQLite has no TRUNCATE; its "DELETE FROM" without a
WHERE clause runs the row triggers, which refuse it already.) Someone who may drop triggers can
still do it; the audit anchor kept outside the database catches that (docs/storage.md).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

NO_TRUNCATE = ("evidence", "audit_log", "audit_head")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION custodian_refuse_truncate() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only: it is never truncated', TG_TABLE_NAME; END $$"
    )
    for table in NO_TRUNCATE:
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION custodian_refuse_truncate()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in NO_TRUNCATE:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    op.execute("DROP FUNCTION IF EXISTS custodian_refuse_truncate()")
