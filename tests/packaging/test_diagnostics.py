"""The diagnostics bundle (what support receives)."""

from __future__ import annotations

import json
import logging
import os
import sys
import zipfile
from pathlib import Path

import pytest

from custodian_app.cli import logs
from custodian_app.cli.diagnostics import export_diagnostics
from custodian_app.settings import paths
from tests.cli import ROOT, run_custodian_app

PAN = "6222021234567890123"
TOKEN = "diag-token-1a2b3c4d5e6f"


@pytest.fixture(autouse=True)
def _settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "no-system.toml"))
    paths.config_file().write_text(
        f'[backend]\nurl = "https://clearing.bank.example/api"\ntoken = "{TOKEN}"\n'
        '[database]\nurl = "postgresql+psycopg://cust:pa55word@db.bank.example/custodian"\n'
        '[bank]\nname = "示例银行"\n',
        encoding="utf-8",
    )
    yield
    logs.shutdown_logging()


def bundle_texts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}


def test_bundle_has_logs_versions_settings_and_ports_but_no_secret(tmp_path):
    logs.setup_logging()
    logging.getLogger("custodian_app.backend").error("fetch for card %s failed with %s", PAN, TOKEN)
    # A log line written by some other process, without our filter, must be scrubbed too.
    with open(paths.logs_dir() / "custodian-app.log.1", "w", encoding="utf-8") as fh:
        fh.write(f"old version wrote card {PAN} and Bearer {TOKEN} and pa55word\n")

    out = export_diagnostics(
        tmp_path / "support" / "diag.zip", extra={"qt_runtime": "6.11.3", "page": f"reconcile {PAN}"}
    )
    texts = bundle_texts(out)
    names = {n.removeprefix("custodian-diagnostics/") for n in texts}
    assert {
        "README.txt",
        "summary.json",
        "versions.txt",
        "settings.json",
        "serial-ports.json",
        "logs/custodian-app.log",
        "logs/custodian-app.log.1",
    } <= names
    everything = "".join(texts.values())
    assert PAN not in everything and TOKEN not in everything and "pa55word" not in everything
    assert "fetch for card <19 digits withheld> failed with <secret withheld>" in everything

    summary = json.loads(texts["custodian-diagnostics/summary.json"])
    v = summary["versions"]
    assert v["custodian-app"] and v["python"].startswith(sys.version.split()[0])
    for component in ("PySide6", "SQLAlchemy", "reportlab", "pyserial", "Qt"):
        assert v[component], component
    from custodian_app.domain import formats

    assert v["ledger_scanner"] == ("C accelerator" if formats.native else "pure Python (no C accelerator)")
    assert summary["extra"] == {"qt_runtime": "6.11.3", "page": "reconcile <19 digits withheld>"}
    assert summary["paths"]["database_url"] == "postgresql+psycopg://cust:***@db.bank.example/custodian"

    settings = json.loads(texts["custodian-diagnostics/settings.json"])
    assert settings["effective"]["backend.token"] == "<set>"
    assert settings["effective"]["bank.name"] == "示例银行"
    assert settings["sources"]["backend.url"] == "user"
    assert isinstance(json.loads(texts["custodian-diagnostics/serial-ports.json"]), list)
    assert [p.name for p in out.parent.iterdir()] == ["diag.zip"]  # no temp file left


def test_bundle_reports_broken_settings_instead_of_failing(tmp_path):
    paths.config_file().write_text(f'[backend]\ntoken = "{TOKEN} x"\n', encoding="utf-8")
    texts = bundle_texts(export_diagnostics(tmp_path / "d.zip"))
    settings = json.loads(texts["custodian-diagnostics/settings.json"])
    assert "backend.token" in settings["error"] and TOKEN not in settings["error"]


def test_environment_secrets_are_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTODIAN_BACKEND_TOKEN", "env-token-zz99yy88")
    monkeypatch.setenv("CUSTODIAN_DB", "postgresql://u:envpass99@h/db")
    everything = "".join(bundle_texts(export_diagnostics(tmp_path / "d.zip")).values())
    assert "env-token-zz99yy88" not in everything and "envpass99" not in everything
    assert '"CUSTODIAN_BACKEND_TOKEN": "<set>"' in everything


def test_cli_diagnostics_writes_the_zip(tmp_path):
    out = tmp_path / "bundle.zip"
    env = dict(os.environ)
    proc = run_custodian_app("diagnostics", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    assert str(out) in proc.stdout and zipfile.is_zipfile(out)
    assert TOKEN not in proc.stdout + proc.stderr
    bad = run_custodian_app("diagnostics", "--out", str(tmp_path / "x.txt"), env=env)
    assert bad.returncode == 2 and "zip" in bad.stderr


def test_cli_config_show_hides_the_token_and_check_validates(tmp_path):
    env = dict(os.environ)
    show = run_custodian_app("config", "show", env=env)
    assert show.returncode == 0, show.stderr
    assert TOKEN not in show.stdout and "pa55word" not in show.stdout
    assert "backend.token" in show.stdout and "<set>" in show.stdout and "(user)" in show.stdout

    good = run_custodian_app("config", "check", str(ROOT / "packaging" / "settings.example.toml"), env=env)
    assert good.returncode == 0 and good.stdout.startswith("ok:")
    broken = tmp_path / "rollout.toml"
    broken.write_text('[interface]\nlanguage = "de"\n', encoding="utf-8")
    bad = run_custodian_app("config", "check", str(broken), env=env)
    assert bad.returncode == 2 and f"{broken}: interface.language = 'de'" in bad.stderr
