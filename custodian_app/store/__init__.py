"""Clearing sessions persisted with SQLAlchemy: users, sessions, evidence, notes, audit log."""
