"""The command line's entry point: a command names the one module that parses it."""

from __future__ import annotations

import argparse
import importlib

from custodian_app.cli import main as cli_main


def _registered(module: str) -> set[str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    return set(sub.choices)


def test_the_command_map_names_every_command_of_every_module_and_nothing_else():
    found = {cmd: module for module in cli_main.COMMAND_MODULES for cmd in _registered(module)}
    assert found == cli_main.COMMANDS


def test_a_command_line_builds_only_its_modules_part():
    parser = cli_main.build_parser(["reconcile", "--atm", "a", "--host", "h", "--out", "o"])
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == {"reconcile", "generate"}
    args = parser.parse_args(["reconcile", "--atm", "a", "--host", "h", "--out", "o"])
    assert (args.command, args.atm, args.func.__name__) == ("reconcile", "a", "run_reconcile")


def test_no_command_or_an_unknown_one_builds_the_whole_parser(capsys):
    for argv in ([], ["--help"], ["no-such-command"]):
        parser = cli_main.build_parser(argv)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert set(sub.choices) == set(cli_main.COMMANDS)
