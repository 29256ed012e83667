"""The application itself (no command), ``demo`` and the headless ``clear``."""

from __future__ import annotations

import sys


def register(sub) -> None:
    """Add this group's commands to the ``custodian-app`` parser."""


def run_app(args) -> int:
    print("custodian-app: the desktop application is not built yet", file=sys.stderr)
    return 2
