"""The diagnostics bundle (what support receives) and the words for a serial port that will
not open."""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
import zipfile
from pathlib import Path

import pytest
import serial

from custodian_app import diagnostics, logs, paths
from custodian_app.diagnostics import explain_port_error, export_diagnostics
from tests.cli import ROOT, run_custodian_app

PAN = "6222021234567890123"
TOKEN = "diag-token-1a2b3c4d5e6f"


@pytest.fixture(autouse=True)
def _settings(tmp_path, monkeypatch):
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "no-system.toml"))
    paths.config_file().write_text(
        f'[backend]\nurl = "https://clearing.bank.example/api"\ntoken = "{TOKEN}"\n'
        '[database]\nurl = "postgresql+psycopg://cust:pa55word@db.bank.example/custodian"\n'
        '[bank]\nname = "示例银行"\n', encoding="utf-8")
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

    out = export_diagnostics(tmp_path / "support" / "diag.zip",
                             extra={"qt_runtime": "6.11.3", "page": f"reconcile {PAN}"})
    texts = bundle_texts(out)
    names = {n.removeprefix("custodian-diagnostics/") for n in texts}
    assert {"README.txt", "summary.json", "versions.txt", "settings.json", "serial-ports.json",
            "logs/custodian-app.log", "logs/custodian-app.log.1"} <= names
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


# --- explain_port_error -------------------------------------------------------------------


def pyserial_open_error(code: int, device: str) -> serial.SerialException:
    """What pyserial raises when os.open fails (serialposix.py: SerialException(errno, msg))."""
    cause = OSError(code, os.strerror(code), device)
    exc = serial.SerialException(code, f"could not open port {device}: {cause}")
    exc.__cause__ = cause
    return exc


def test_permission_denied_on_linux_explains_dialout():
    text = explain_port_error("/dev/ttyUSB0", pyserial_open_error(errno.EACCES, "/dev/ttyUSB0"),
                              platform_name="linux")
    assert "dialout" in text and "sudo usermod -aG dialout $USER" in text and "log in again" in text
    zh = explain_port_error("/dev/ttyUSB0", PermissionError(errno.EACCES, "Permission denied"),
                            language="zh_CN", platform_name="linux")
    assert "dialout" in zh and "注销并重新登录" in zh


def test_a_link_error_raised_from_the_os_error_is_understood():
    class LinkError(Exception):
        pass

    try:
        try:
            raise PermissionError(errno.EACCES, "Permission denied", "/dev/ttyS0")
        except OSError as cause:
            raise LinkError("cannot open /dev/ttyS0") from cause
    except LinkError as exc:
        assert "dialout" in explain_port_error("/dev/ttyS0", exc, platform_name="linux")


def test_the_real_port_owner_group_is_named(tmp_path):
    # A real device node: the group that owns it is the one the user must join (uucp on Arch).
    device = "/dev/null"
    group = diagnostics._group_of(device)
    text = explain_port_error(device, PermissionError(errno.EACCES, "Permission denied"), platform_name="linux")
    expected = "dialout" if group in (None, "root") else group
    assert f"'{expected}' group" in text


@pytest.mark.parametrize(
    ("exc", "platform_name", "expected"),
    [
        (pyserial_open_error(errno.ENOENT, "/dev/ttyUSB9"), "linux", "There is no serial port"),
        (pyserial_open_error(errno.EBUSY, "/dev/ttyUSB0"), "linux", "busy"),
        (pyserial_open_error(errno.EIO, "/dev/ttyUSB0"), "linux", "unplugged"),
        (serial.SerialException("device reports readiness to read but returned no data"), "linux", "unplugged"),
        (serial.SerialException("could not open port 'COM3': PermissionError(13, 'Access is denied.', None, 5)"),
         "win32", "in use"),
        (serial.SerialException("could not open port 'COM7': FileNotFoundError(2, 'The system cannot find the file "
                                "specified.', None, 2)"), "win32", "There is no serial port"),
        (TimeoutError("no reply"), "linux", "did not answer"),
        (PermissionError(errno.EACCES, "Permission denied"), "darwin", "ask IT"),
        (ValueError(f"odd failure near {PAN}"), "linux", "could not be used"),
    ],
)
def test_other_errors_say_what_to_check(exc, platform_name, expected):
    text = explain_port_error("/dev/ttyUSB0" if platform_name != "win32" else "COM3", exc, platform_name=platform_name)
    assert expected in text
    assert PAN not in text


def test_the_links_own_errors_are_explained():
    from custodian_app.link.errors import LinkClosed, LinkTimeout, PortError

    def port_error(code, text):
        try:
            try:
                raise serial.SerialException(code, text)
            except serial.SerialException as cause:
                raise PortError(f"cannot open serial port /dev/ttyUSB0: {cause}") from cause
        except PortError as exc:
            return exc

    locked = port_error(errno.EAGAIN, "Could not exclusively lock port /dev/ttyUSB0: [Errno 11] "
                                      "Resource temporarily unavailable")
    assert "busy" in explain_port_error("/dev/ttyUSB0", locked, platform_name="linux")
    denied = port_error(errno.EACCES, "could not open port /dev/ttyUSB0: [Errno 13] Permission denied")
    assert "dialout" in explain_port_error("/dev/ttyUSB0", denied, platform_name="linux")
    assert "unplugged" in explain_port_error("/dev/ttyUSB0", LinkClosed("the port went away"), platform_name="linux")
    assert "did not answer" in explain_port_error("/dev/ttyUSB0", LinkTimeout("no reply in 5 s"),
                                                  platform_name="linux")
