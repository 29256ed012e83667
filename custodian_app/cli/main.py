"""Entry point of ``custodian-app`` and ``python -m custodian_app``.

Each command group lives in its own module with a ``register(subparsers)`` function; a command
sets ``func`` (args -> exit status). Heavy imports (Qt, SQLAlchemy, reportlab) happen inside
the command functions so that ``--version`` and the file commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from custodian_app import __version__
from custodian_app.cli.common import EXIT_LINK, EXIT_MISMATCH, EXIT_OK, EXIT_USAGE  # noqa: F401

COMMAND_MODULES = (
    "custodian_app.cli.domain_cmds",  # reconcile, generate
    "custodian_app.cli.link_cmds",  # read-atm, ports, simulate-atm
    "custodian_app.cli.backend_cmds",  # fetch-host, simulate-host, import-host
    "custodian_app.cli.store_cmds",  # users, history, session, audit, trace-note, trace-card
    "custodian_app.cli.app_cmds",  # (no command) the application, demo, clear
    "custodian_app.cli.diag_cmds",  # diagnostics, config
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custodian-app",
        description="ATM clearing and reconciliation (清机对账). Without a command, opens the application.",
    )
    parser.add_argument("--version", action="version", version=f"custodian-app {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    # Every command logs to the rotating file (card numbers and secrets withheld), so that
    # `custodian-app diagnostics` has something to give support. Never the arguments: they
    # may hold a token.
    from custodian_app.logs import setup_logging

    setup_logging()
    logging.getLogger("custodian_app").info("custodian-app %s: %s", __version__, args.command or "app")
    func = getattr(args, "func", None)
    if func is None:
        from custodian_app.cli import app_cmds

        func = app_cmds.run_app
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("custodian-app: interrupted", file=sys.stderr)
        return 130
