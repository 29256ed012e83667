"""Commands of this group; see custodian_app.cli.main."""

from __future__ import annotations


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
