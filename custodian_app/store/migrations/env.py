"""Alembic environment: always online, on the connection the store hands over.

There is no alembic.ini: ``custodian_app.store.database.alembic_config`` builds the Config in
code and passes the open connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from custodian_app.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes one
    raise RuntimeError("run the store's migrations through custodian_app.store.database.upgrade")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
