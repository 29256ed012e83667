"""The command line's entry point: every command is there and says how to use it, a bad command
line exits 2 with the command's usage, and every run is logged (scrubbed), crashes included."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import textwrap

import pytest

from custodian_app import __version__
from custodian_app.cli.main import build_parser, main
from tests.cli import ROOT, run_custodian_app

COMMANDS = {
    "reconcile",
    "generate",
    "read-atm",
    "ports",
    "simulate-atm",
    "fetch-host",
    "host-health",
    "simulate-host",
    "import-host",
    "users",
    "history",
    "session",
    "audit",
    "trace-note",
    "trace-card",
    "app",
    "demo",
    "clear",
    "diagnostics",
    "config",
    "simulate-xfs4iot",
    "xfs4iot-read",
    "import-atm",
    "write-journal",
    "atm-agent",
}


def _command_lines(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and sub-command ("config show", "users add" ...) the parser knows."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((*prefix, name))
                out.extend(_command_lines(sub, (*prefix, name)))
    return out


def test_every_command_is_offered():
    assert {line[0] for line in _command_lines(build_parser())} == COMMANDS


@pytest.mark.parametrize("line", _command_lines(build_parser()), ids=" ".join)
def test_every_command_says_how_to_use_it(line, capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([*line, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: custodian-app {' '.join(line)}") and "-h, --help" in out


def test_help_and_version_from_a_real_process():
    listed = run_custodian_app("--help")
    assert listed.returncode == 0 and all(command in listed.stdout for command in COMMANDS)
    version = run_custodian_app("--version")
    assert (version.returncode, version.stdout.strip()) == (0, f"custodian-app {__version__}")


def test_a_command_line_names_the_function_that_runs_it():
    args = build_parser().parse_args(["reconcile", "--atm", "a", "--host", "h", "--out", "o"])
    assert (args.command, args.atm, args.language, args.func.__name__) == (
        "reconcile",
        "a",
        "both",
        "run_reconcile",
    )
    args = build_parser().parse_args(["config", "show"])
    assert (args.command, args.config_command, args.func.__name__) == ("config", "show", "run_config_show")


@pytest.mark.parametrize(
    ("argv", "usage", "said"),
    [
        (["reconcile", "--atm", "a"], "custodian-app reconcile", "required: --host, --out"),
        (
            ["reconcile", "--atm", "a", "--host", "h", "--out", "o", "--bogus"],
            "custodian-app",
            "unrecognized arguments: --bogus",
        ),
        (
            ["reconcile", "--language", "fr", "--atm", "a", "--host", "h", "--out", "o"],
            "custodian-app reconcile",
            "invalid choice: 'fr'",
        ),
        (["generate", "--seed", "x", "--out", "d"], "custodian-app generate", "invalid int value: 'x'"),
        (
            ["read-atm", "--port", "p", "--out", "o", "--max-frame", "64"],
            "custodian-app read-atm",
            "must be from 128 to 65535",
        ),
        (["config"], "custodian-app config", "required: ACTION"),
        (["config", "nope"], "custodian-app config", "invalid choice: 'nope'"),
        (["users", "add"], "custodian-app users add", "required: username, --role"),
        (["no-such-command"], "custodian-app", "invalid choice: 'no-such-command'"),
    ],
)
def test_a_bad_command_line_exits_2_with_the_commands_usage(argv, usage, said, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"usage: {usage}") and said in err


def _run(code: str, home, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUSTODIAN_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    from custodian_app.domain.generator import build_documents

    out = tmp_path_factory.mktemp("cli-cycle")
    docs = build_documents(11, 300, "realistic")
    (out / "atm.json").write_bytes(docs.atm)
    (out / "host.json").write_bytes(docs.host)
    return out


def test_a_file_command_is_logged_like_every_other(cycle, tmp_path):
    p = run_custodian_app(
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(cycle / "host.json"),
        "--out",
        str(tmp_path / "result.json"),
        "--quiet",
        env={**os.environ, "CUSTODIAN_HOME": str(tmp_path / "home")},
    )
    assert p.returncode in (0, 1), p.stderr
    log = (tmp_path / "home" / "logs" / "custodian-app.log").read_text(encoding="utf-8")
    assert log.rstrip("\n").endswith(
        f" INFO    custodian_app [MainThread] custodian-app {__version__}: reconcile"
    )


def test_an_unexpected_error_reaches_the_log_and_the_screen_scrubbed(cycle, tmp_path):
    crash = """
        import sys
        from custodian_app.domain import reconcile as engine

        def broken(*args, **kwargs):
            raise RuntimeError("engine bug for card 6222021234567890123")

        engine.reconcile = broken
        from custodian_app.cli.main import main
        sys.exit(main(sys.argv[1:]))
    """
    p = _run(
        crash,
        tmp_path / "home",
        "reconcile",
        "--atm",
        str(cycle / "atm.json"),
        "--host",
        str(cycle / "host.json"),
        "--out",
        str(tmp_path / "result.json"),
    )
    assert p.returncode == 1 and "Traceback" in p.stderr and "RuntimeError: engine bug" in p.stderr
    assert "6222021234567890123" not in p.stderr and "<19 digits withheld>" in p.stderr
    log = (tmp_path / "home" / "logs" / "custodian-app.log").read_text(encoding="utf-8")
    assert f"custodian-app {__version__}: reconcile" in log
    assert "CRITICAL custodian_app [MainThread] unexpected error" in log and "RuntimeError: engine bug" in log
    assert "6222021234567890123" not in log and "<19 digits withheld>" in log
    assert not (tmp_path / "result.json").exists()
