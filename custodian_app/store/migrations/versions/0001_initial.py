"""The initial schema: users, terminals, clearing sessions, evidence, banknotes, audit chain.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

GENESIS_HASH = "0" * 64

# Tables whose rows are never updated or deleted. The audit chain detects a change anyway; the
# triggers make an honest mistake (or a careless UPDATE) fail loudly instead.
APPEND_ONLY = ("evidence", "audit_log")

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "audit_log",
        sa.Column(
            "seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=False, nullable=False
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("terminal_id", sa.String(length=32), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_session_id"), "audit_log", ["session_id"], unique=False)

    op.create_table(
        "terminals",
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("terminal_id", name=op.f("pk_terminals")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "role IN ('custodian', 'supervisor', 'administrator')", name=op.f("ck_users_role")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "clearing_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("cycle_id", sa.String(length=64), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("state", sa.String(length=24), nullable=False),
        sa.Column("custodian_a_id", sa.Integer(), nullable=False),
        sa.Column("custodian_b_id", sa.Integer(), nullable=False),
        sa.Column("supervisor_id", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("abandon_reason", sa.Text(), nullable=True),
        sa.Column("count_skip_reason", sa.Text(), nullable=True),
        sa.Column("evidence_digest", sa.String(length=64), nullable=True),
        sa.Column("balanced", sa.Boolean(), nullable=True),
        sa.Column("mismatch_count", sa.Integer(), nullable=True),
        sa.Column("cash_difference", sa.BigInteger(), nullable=True),
        sa.Column("new_cycle_id", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "state IN ('signed_in', 'atm_read', 'counted', 'backend_fetched', 'reconciled', 'reviewed', 'signed', 'new_cycle_started', 'closed', 'abandoned')",
            name=op.f("ck_clearing_sessions_state"),
        ),
        sa.CheckConstraint(
            "custodian_a_id <> custodian_b_id", name=op.f("ck_clearing_sessions_two_custodians")
        ),
        sa.CheckConstraint(
            "supervisor_id IS NULL OR (supervisor_id <> custodian_a_id AND supervisor_id <> custodian_b_id)",
            name=op.f("ck_clearing_sessions_supervisor_third_person"),
        ),
        sa.ForeignKeyConstraint(
            ["custodian_a_id"], ["users.id"], name=op.f("fk_clearing_sessions_custodian_a_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["custodian_b_id"], ["users.id"], name=op.f("fk_clearing_sessions_custodian_b_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["users.id"], name=op.f("fk_clearing_sessions_supervisor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["terminal_id"],
            ["terminals.terminal_id"],
            name=op.f("fk_clearing_sessions_terminal_id_terminals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clearing_sessions")),
    )
    op.create_index(
        "ix_clearing_sessions_terminal_opened",
        "clearing_sessions",
        ["terminal_id", "opened_at"],
        unique=False,
    )
    op.create_index(
        "uq_clearing_sessions_open_terminal",
        "clearing_sessions",
        ["terminal_id"],
        unique=True,
        sqlite_where=sa.text("state NOT IN ('closed', 'abandoned')"),
        postgresql_where=sa.text("state NOT IN ('closed', 'abandoned')"),
    )

    op.create_table(
        "banknotes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("terminal_id", sa.String(length=32), nullable=False),
        sa.Column("cycle_id", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=12), nullable=False),
        sa.Column("serial_length", sa.Integer(), nullable=False),
        sa.Column("unreadable", sa.Boolean(), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tsn", sa.String(length=20), nullable=True),
        sa.Column("unit", sa.String(length=5), nullable=False),
        sa.Column("event", sa.String(length=12), nullable=False),
        sa.Column("card", sa.String(length=19), nullable=True),
        sa.Column("card_key", sa.String(length=10), nullable=True),
        sa.Column("tx_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("tx_date", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"], ["clearing_sessions.id"], name=op.f("fk_banknotes_session_id_clearing_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_banknotes")),
    )
    op.create_index("ix_banknotes_card_key_tx_date", "banknotes", ["card_key", "tx_date"], unique=False)
    op.create_index(op.f("ix_banknotes_serial"), "banknotes", ["serial"], unique=False)
    op.create_index(op.f("ix_banknotes_session_id"), "banknotes", ["session_id"], unique=False)
    op.create_index(op.f("ix_banknotes_tsn"), "banknotes", ["tsn"], unique=False)
    op.create_index(
        "ix_banknotes_unreadable_length", "banknotes", ["unreadable", "serial_length"], unique=False
    )

    op.create_table(
        "evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('atm-ledger', 'host-ledger', 'counts', 'clearing-result', 'report-pdf')",
            name=op.f("ck_evidence_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["received_by_id"], ["users.id"], name=op.f("fk_evidence_received_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["clearing_sessions.id"], name=op.f("fk_evidence_session_id_clearing_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence")),
        sa.UniqueConstraint(
            "session_id", "kind", "version", name=op.f("uq_evidence_session_id_kind_version")
        ),
    )
    op.create_table(
        "remarks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("tsn", sa.String(length=20), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_remarks_author_id_users")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["clearing_sessions.id"], name=op.f("fk_remarks_session_id_clearing_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_remarks")),
    )
    op.create_index(op.f("ix_remarks_session_id"), "remarks", ["session_id"], unique=False)

    op.create_table(
        "session_transitions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("from_state", sa.String(length=24), nullable=True),
        sa.Column("to_state", sa.String(length=24), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_session_transitions_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["clearing_sessions.id"],
            name=op.f("fk_session_transitions_session_id_clearing_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_transitions")),
    )
    op.create_index(
        op.f("ix_session_transitions_session_id"), "session_transitions", ["session_id"], unique=False
    )

    op.bulk_insert(
        sa.table(
            "audit_head",
            sa.column("id", sa.Integer),
            sa.column("last_seq", sa.BigInteger),
            sa.column("last_hash", sa.String),
        ),
        [{"id": 1, "last_seq": 0, "last_hash": GENESIS_HASH}],
    )
    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for what in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{what.lower()} BEFORE {what} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: rows are never changed "
                    f"or deleted'); END"
                )
    elif dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION custodian_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION '% is append-only: rows are never changed or deleted', "
            "TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION custodian_refuse_change()"
            )


def _drop_append_only_triggers() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for table in APPEND_ONLY:
            for what in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{what}")
    elif dialect == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        op.execute("DROP FUNCTION IF EXISTS custodian_refuse_change()")


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index(op.f("ix_session_transitions_session_id"), table_name="session_transitions")

    op.drop_table("session_transitions")
    op.drop_index(op.f("ix_remarks_session_id"), table_name="remarks")

    op.drop_table("remarks")
    op.drop_table("evidence")
    op.drop_index("ix_banknotes_unreadable_length", table_name="banknotes")
    op.drop_index(op.f("ix_banknotes_tsn"), table_name="banknotes")
    op.drop_index(op.f("ix_banknotes_session_id"), table_name="banknotes")
    op.drop_index(op.f("ix_banknotes_serial"), table_name="banknotes")
    op.drop_index("ix_banknotes_card_key_tx_date", table_name="banknotes")

    op.drop_table("banknotes")
    op.drop_index(
        "uq_clearing_sessions_open_terminal",
        table_name="clearing_sessions",
        sqlite_where=sa.text("state NOT IN ('closed', 'abandoned')"),
        postgresql_where=sa.text("state NOT IN ('closed', 'abandoned')"),
    )
    op.drop_index("ix_clearing_sessions_terminal_opened", table_name="clearing_sessions")

    op.drop_table("clearing_sessions")
    op.drop_table("users")
    op.drop_table("terminals")
    op.drop_index(op.f("ix_audit_log_session_id"), table_name="audit_log")

    op.drop_table("audit_log")
    op.drop_table("audit_head")
