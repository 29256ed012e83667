"""What ``custodian-app reconcile`` loads when it starts, and what it still logs.

At 10,000 transactions the command's time is mostly the interpreter and its imports
(docs/performance.md), so the modules it must not need are a contract: a change that brings
one back fails here, not only in a benchmark run. No clock is read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.cli import ROOT

# Each is worth several milliseconds of every start, and the file commands need none of them.
NOT_LOADED = ("logging", "pathlib", "urllib.parse",
              "tempfile", "shutil", "platformdirs", "tomllib", "decimal")


def _run(code: str, home, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "CUSTODIAN_HOME": str(home)}
    env.pop("CUSTODIAN_PURE_PYTHON", None)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def cycle(tmp_path_factory):
    from custodian_app.domain.generator import build_documents

    out = tmp_path_factory.mktemp("startup-cycle")
    docs = build_documents(11, 300, "realistic")
    (out / "atm.json").write_bytes(docs.atm)
    (out / "host.json").write_bytes(docs.host)
    return out


MAIN = """
    import json, sys
    from custodian_app.cli.main import main
    status = main(sys.argv[1:])
    print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def test_reconcile_loads_none_of_the_modules_it_does_not_need(cycle, tmp_path):
    p = _run(MAIN, tmp_path / "home", "reconcile", "--atm", str(cycle / "atm.json"), "--host",
             str(cycle / "host.json"), "--out", str(tmp_path / "result.json"), "--quiet")
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout.splitlines()[-1])
    assert report["status"] in (0, 1)
    loaded = set(report["modules"])
    assert "custodian_app.domain.reconcile" in loaded  # the probe sees the command's imports
    assert not loaded & set(NOT_LOADED), sorted(loaded & set(NOT_LOADED))
    # ... and the run is still in the log, as every command's is
    log = (tmp_path / "home" / "logs" / "custodian-app.log").read_text(encoding="utf-8")
    assert log.rstrip("\n").endswith(" INFO    custodian_app [MainThread] custodian-app "
                                     f"{_version()}: reconcile")


def test_a_command_that_talks_to_devices_sets_up_logging(tmp_path):
    p = _run(MAIN, tmp_path / "home", "config", "paths")
    assert p.returncode == 0, p.stderr
    assert "logging" in json.loads(p.stdout.splitlines()[-1])["modules"]


def test_an_unexpected_error_in_a_file_command_reaches_the_log_with_its_traceback(cycle, tmp_path):
    crash = """
        import sys
        from custodian_app.domain import reconcile as engine

        def broken(*args, **kwargs):
            raise RuntimeError("engine bug for card 6222021234567890123")

        engine.reconcile = broken
        from custodian_app.cli.main import main
        sys.exit(main(sys.argv[1:]))
    """
    p = _run(crash, tmp_path / "home", "reconcile", "--atm", str(cycle / "atm.json"), "--host",
             str(cycle / "host.json"), "--out", str(tmp_path / "result.json"))
    assert p.returncode == 1 and "Traceback" in p.stderr and "RuntimeError: engine bug" in p.stderr
    assert "6222021234567890123" not in p.stderr and "<19 digits withheld>" in p.stderr
    log = (tmp_path / "home" / "logs" / "custodian-app.log").read_text(encoding="utf-8")
    assert f"custodian-app {_version()}: reconcile" in log
    assert "CRITICAL custodian_app [MainThread] unexpected error" in log and "RuntimeError: engine bug" in log
    assert "6222021234567890123" not in log and "<19 digits withheld>" in log
    assert not (tmp_path / "result.json").exists()


def _version() -> str:
    from custodian_app import __version__

    return __version__
