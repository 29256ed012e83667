"""Alembic migrations of the store; run by ``custodian_app.store.database.upgrade``."""
