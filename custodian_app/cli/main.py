"""Entry point of ``custodian-app`` and ``python -m custodian_app``.

Each command group lives in its own module with a ``register(subparsers)`` function; a command
sets ``func`` (args -> exit status; the statuses are in custodian_app.cli.common). Heavy imports
(Qt, SQLAlchemy, reportlab) happen inside the command functions, so a command loads only what
it uses.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from custodian_app import __version__
from custodian_app.cli import (
    agent_cmds,
    app_cmds,
    audit_cmds,
    backend_cmds,
    diag_cmds,
    domain_cmds,
    journal_cmds,
    link_cmds,
    store_cmds,
    xfs_cmds,
)
from custodian_app.cli.logs import setup_logging

COMMAND_MODULES = (
    domain_cmds,  # reconcile, generate
    link_cmds,  # read-atm, ports, simulate-atm
    backend_cmds,  # fetch-host, host-health, simulate-host, import-host
    store_cmds,  # users, history, session
    audit_cmds,  # audit, trace-note, trace-card
    app_cmds,  # (no command) the application, demo, clear
    diag_cmds,  # diagnostics, config
    xfs_cmds,  # simulate-xfs4iot, xfs4iot-read
    journal_cmds,  # import-atm, write-journal
    agent_cmds,  # atm-agent
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="custodian-app",
        description="ATM clearing and reconciliation (清机对账). Without a command, opens the application.",
    )
    parser.add_argument("--version", action="version", version=f"custodian-app {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if os.environ.get("CUSTODIAN_PURE_PYTHON"):
        # Support's switch: read and reconcile without the C scanner (same results, slower)
        from custodian_app.domain import formats

        formats.native = None
    args = build_parser().parse_args(argv)
    # Every command logs to the rotating file (card numbers and secrets withheld), so that
    # `custodian-app diagnostics` has something to give support; an unexpected error's
    # traceback reaches it through the hook setup_logging installs. Never the arguments:
    # they may hold a token.
    command = args.command or "app"
    setup_logging()
    logging.getLogger("custodian_app").info("custodian-app %s: %s", __version__, command)
    func = getattr(args, "func", None) or app_cmds.run_app
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("custodian-app: interrupted", file=sys.stderr)
        return 130
