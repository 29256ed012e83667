"""The PostgreSQL driver is an extra: without it the application runs on SQLite, and a
PostgreSQL database URL gets a message saying what to install, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# runs the command line as an installation without the "postgresql" extra would: psycopg
# (and the older psycopg2) cannot be imported
WITHOUT_PSYCOPG = (
    "import sys; sys.modules['psycopg'] = sys.modules['psycopg2'] = None\n"
    "from custodian_app.cli.main import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)


def run_without_psycopg(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "CUSTODIAN_HOME": str(tmp_path / "home"),
        "CUSTODIAN_SYSTEM_CONFIG": str(tmp_path / "no-system-settings.toml"),
    }
    env.pop("CUSTODIAN_DB", None)
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_PSYCOPG, *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_without_the_driver_sqlite_works(tmp_path):
    added = run_without_psycopg(
        tmp_path, "users", "add", "alice", "--role", "custodian", "--password-stdin", stdin="alice-pw-123\n"
    )
    assert added.returncode == 0, added.stderr
    listed = run_without_psycopg(tmp_path, "users", "list")
    assert listed.returncode == 0, listed.stderr
    assert "alice" in listed.stdout


def test_without_the_driver_a_postgresql_url_says_what_to_install(tmp_path):
    url = "postgresql+psycopg://clearing:s3cret-pw@127.0.0.1:9/custodian"
    done = run_without_psycopg(tmp_path, "users", "list", "--db", url)
    assert done.returncode == 2, done.stderr
    assert 'pip install "custodian-app[postgresql]"' in done.stderr
    assert "psycopg is not installed" in done.stderr
    assert "Traceback" not in done.stderr
    assert "s3cret-pw" not in done.stderr
