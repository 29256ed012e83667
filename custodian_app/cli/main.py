"""Entry point of ``custodian-app`` and ``python -m custodian_app``.

Each command group lives in its own module with a ``register(subparsers)`` function; a command
sets ``func`` (args -> exit status). Heavy imports (Qt, SQLAlchemy, reportlab) happen inside
the command functions so that ``--version`` and the file commands start fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
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


# Commands that only read and write files and log nothing but the line that says they ran:
# that line is appended to the log file directly (custodian_app.logfile), without setting up
# Python's logging, whose imports cost ~14 ms of every start.
FILE_COMMANDS = frozenset({"reconcile", "generate"})

# Which module registers which command: a command line starting with one builds only that
# command's parser (see command_parser). tests/test_cli_main.py keeps this in step with the
# modules.
COMMANDS = {
    "reconcile": "custodian_app.cli.domain_cmds", "generate": "custodian_app.cli.domain_cmds",
    "ports": "custodian_app.cli.link_cmds", "read-atm": "custodian_app.cli.link_cmds",
    "simulate-atm": "custodian_app.cli.link_cmds",
    "fetch-host": "custodian_app.cli.backend_cmds", "simulate-host": "custodian_app.cli.backend_cmds",
    "import-host": "custodian_app.cli.backend_cmds", "host-health": "custodian_app.cli.backend_cmds",
    "users": "custodian_app.cli.store_cmds", "history": "custodian_app.cli.store_cmds",
    "session": "custodian_app.cli.store_cmds", "audit": "custodian_app.cli.store_cmds",
    "trace-note": "custodian_app.cli.store_cmds", "trace-card": "custodian_app.cli.store_cmds",
    "app": "custodian_app.cli.app_cmds", "demo": "custodian_app.cli.app_cmds",
    "clear": "custodian_app.cli.app_cmds",
    "diagnostics": "custodian_app.cli.diag_cmds", "config": "custodian_app.cli.diag_cmds",
}


class _Formatter(argparse.HelpFormatter):
    """argparse's formatter, told the terminal's width: left to itself it imports shutil (and
    with it bz2 and lzma) to ask, at every start, even when no help is shown."""

    def __init__(self, prog, indent_increment=2, max_help_position=24, width=None):
        if width is None:
            width = _columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _columns() -> int:
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns
    except (AttributeError, ValueError, OSError):
        return 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)


class _Skip:
    """Stands in for the parser of a command that was not named: takes every call that
    describes it (arguments, groups, defaults, sub-commands) and builds nothing."""

    def __getattr__(self, name: str):
        return self._take

    def _take(self, *args, **kwargs) -> _Skip:
        return self


class _OneCommand:
    """Stands in for the sub-commands of the whole parser when the command line starts with a
    command: builds that command's parser alone, as ``add_subparsers`` would have built it
    (same program name, same options, ``command`` set), and skips its siblings."""

    def __init__(self, command: str) -> None:
        self.command = command
        self.parser: argparse.ArgumentParser | None = None

    def add_parser(self, name: str, **kwargs):
        if name != self.command:
            return _Skip()
        kwargs.pop("help", None)
        kwargs.pop("aliases", None)
        kwargs.setdefault("prog", f"custodian-app {name}")
        self.parser = _Parser(**kwargs)
        self.parser.set_defaults(command=name)
        return self.parser


def command_parser(command: str) -> argparse.ArgumentParser:
    """The parser of one command alone, as the whole parser's sub-command parser for it (same
    program name, options, defaults, ``command`` set), without building its siblings: they
    import what they need to describe their options, and each parser costs start-up time
    (argparse asks gettext for its words anew for each)."""
    one = _OneCommand(command)
    importlib.import_module(COMMANDS[command]).register(one)
    if one.parser is None:  # pragma: no cover - the map and the modules agree (tested)
        raise LookupError(f"{COMMANDS[command]} does not register {command}")
    return one.parser


def build_parser() -> argparse.ArgumentParser:
    """The whole parser: every command."""
    parser = _Parser(
        prog="custodian-app",
        description="ATM clearing and reconciliation (清机对账). Without a command, opens the application.",
    )
    parser.add_argument("--version", action="version", version=f"custodian-app {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def parse_command_line(argv: list[str]) -> argparse.Namespace:
    """A command line that starts with a command is parsed by that command's parser alone;
    anything else (no command, ``--help``, ``--version``, a typo) by the whole parser, which
    lists the commands."""
    if argv and argv[0] in COMMANDS:
        args, extra = command_parser(argv[0]).parse_known_args(argv[1:])
        if not extra:
            return args
        # Arguments no parser takes: the whole parser reports them, as it always has (its
        # usage line, its "unrecognized arguments"), and exits.
    return build_parser().parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if os.environ.get("CUSTODIAN_PURE_PYTHON"):
        # Support's switch: read and reconcile without the C scanner (same results, slower)
        from custodian_app.domain import formats

        formats.native = None
    args = parse_command_line(argv)
    # Every command logs to the rotating file (card numbers and secrets withheld), so that
    # `custodian-app diagnostics` has something to give support. Never the arguments: they
    # may hold a token.
    command = args.command or "app"
    started = f"custodian-app {__version__}: {command}"
    file_command = command in FILE_COMMANDS
    if file_command:
        from custodian_app import logfile

        logfile.append(started)
    else:
        import logging

        from custodian_app.logs import setup_logging

        setup_logging()
        logging.getLogger("custodian_app").info(started)
    func = getattr(args, "func", None)
    if func is None:
        from custodian_app.cli import app_cmds

        func = app_cmds.run_app
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        print("custodian-app: interrupted", file=sys.stderr)
        return 130
    except Exception:
        if file_command:
            # A bug: its traceback belongs in the log like the application's. Logging's hook
            # (installed now) writes it there when the exception leaves the interpreter.
            from custodian_app.logs import setup_logging

            setup_logging()
        raise
