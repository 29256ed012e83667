"""The command line's entry point: a command names the one module that parses it."""

from __future__ import annotations

import argparse
import importlib

import pytest

from custodian_app.cli import main as cli_main


def _registered(module: str) -> set[str]:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")
    importlib.import_module(module).register(sub)
    return set(sub.choices)


def test_the_command_map_names_every_command_of_every_module_and_nothing_else():
    found = {cmd: module for module in cli_main.COMMAND_MODULES for cmd in _registered(module)}
    assert found == cli_main.COMMANDS


def _sub_parsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices


def test_a_command_line_starting_with_a_command_builds_that_commands_parser_alone(monkeypatch):
    built = []
    monkeypatch.setattr(cli_main._Parser, "__init__", lambda self, *a, **k: (
        built.append(k.get("prog")), argparse.ArgumentParser.__init__(self, *a, **k))[1])
    args = cli_main.parse_command_line(["reconcile", "--atm", "a", "--host", "h", "--out", "o"])
    assert built == ["custodian-app reconcile"]  # not the whole parser, not `generate`
    assert (args.command, args.atm, args.func.__name__) == ("reconcile", "a", "run_reconcile")


@pytest.mark.parametrize("command", sorted(cli_main.COMMANDS))
def test_a_commands_parser_alone_is_the_whole_parsers_sub_parser(command):
    alone, within = cli_main.command_parser(command), _sub_parsers(cli_main.build_parser())[command]
    assert alone.prog == within.prog == f"custodian-app {command}"
    assert alone.format_help() == within.format_help()
    assert _options(alone) == _options(within)
    assert alone.get_default("command") == command


def _options(parser: argparse.ArgumentParser) -> list:
    """What a parser accepts, its sub-commands' parsers included."""
    out = []
    for a in parser._actions:
        out.append((a.dest, a.option_strings, a.default, a.required, a.nargs, a.const,
                    sorted(a.choices) if a.choices else None, type(a).__name__))
        if isinstance(a, argparse._SubParsersAction):
            out.extend((name, _options(p)) for name, p in a.choices.items())
    return out


@pytest.mark.parametrize("argv", [
    ["reconcile", "--atm", "a.json", "--host", "h.json", "--out", "r.json", "--quiet"],
    ["reconcile", "--atm", "a.json", "--host", "h.json", "--counts", "c.json", "--out", "r.json",
     "--pdf", "r.pdf", "--language", "en", "--success-codes", "00,10"],
    ["generate", "--seed", "3", "--transactions", "20", "--out", "d", "--faults", "all"],
    ["users", "list", "--db", "sqlite:///x.db"],
    ["config", "show"],
])
def test_a_command_line_parses_the_same_alone_and_within_the_whole_parser(argv):
    assert cli_main.parse_command_line(argv) == cli_main.build_parser().parse_args(argv)


def test_a_bad_command_line_is_refused_by_the_commands_own_parser(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main.parse_command_line(["reconcile", "--atm", "a"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: custodian-app reconcile") and "required: --host, --out" in err


@pytest.mark.parametrize("argv", [
    ["reconcile", "--atm", "a", "--host", "h", "--out", "o", "--bogus"],
    ["reconcile", "--atm", "a", "--host", "h", "--out", "o", "extra"],
    ["reconcile", "--atm", "a"],
    ["reconcile", "--language", "fr", "--atm", "a", "--host", "h", "--out", "o"],
    ["generate", "--seed", "x", "--out", "d"],
    ["config"], ["config", "show", "--x"], ["config", "nope"],
    ["users", "add"], ["session", "export", "--bogus"],
    ["reconcile", "--help"], ["config", "show", "--help"],
])
def test_a_bad_or_help_command_line_says_what_the_whole_parser_says(argv, capsys):
    with pytest.raises(SystemExit) as alone:
        cli_main.parse_command_line(argv)
    said = capsys.readouterr()
    with pytest.raises(SystemExit) as whole:
        cli_main.build_parser().parse_args(argv)
    assert alone.value.code == whole.value.code
    assert said == capsys.readouterr()


def test_no_command_or_an_unknown_one_is_parsed_by_the_whole_parser(monkeypatch, capsys):
    built = []
    real = cli_main.build_parser
    monkeypatch.setattr(cli_main, "build_parser", lambda: built.append(1) or real())
    monkeypatch.setattr(cli_main, "command_parser", lambda command: pytest.fail("not a command"))
    for argv in ([], ["--help"], ["no-such-command"], ["--version"], ["--version", "reconcile"]):
        built.clear()
        try:
            cli_main.parse_command_line(argv)
        except SystemExit:
            pass
        assert built == [1], argv
    out = capsys.readouterr()
    assert "reconcile" in out.out and "invalid choice: 'no-such-command'" in out.err
