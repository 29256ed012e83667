"""The log file without the logging module (``logfile.append``): the same lines, the same
rotation, the same withholding as the logging path of ``custodian_app.logs``."""

from __future__ import annotations

import logging
import os

import pytest

from custodian_app import logfile, logs, paths

PAN = "6222021234567890123"


def test_a_line_is_laid_out_as_the_logging_formatter_lays_it_out():
    formatter = logging.Formatter(logfile.FORMAT)
    for created, msecs in ((1764115200.0, 0), (1764115200.25, 250), (1764115201.999, 999),
                           (1764150000.0625, 62)):
        record = logging.LogRecord("custodian_app", logging.INFO, __file__, 1, "custodian-app 1.0: %s",
                                   ("reconcile",), None)
        record.created, record.msecs, record.threadName = created, float(msecs), "MainThread"
        ours = logfile.line("custodian-app 1.0: reconcile", created=created)
        assert ours == formatter.format(record)
        assert ours.split(" ")[1].endswith(f",{msecs:03d}")  # the milliseconds, written out
    for level in ("WARNING", "CRITICAL", "DEBUG"):
        record = logging.LogRecord("custodian_app.cli", getattr(logging, level), __file__, 1, "x", (), None)
        record.created, record.msecs, record.threadName = 1764115200.5, 500.0, "MainThread"
        assert logfile.line("x", level=level, name="custodian_app.cli", created=1764115200.5) == \
            formatter.format(record)


@pytest.mark.parametrize("setting, written", [
    (None, True), ("INFO", True), ("debug", True), (" warning ", False), ("ERROR", False),
    ("verbose", True),  # not a level: INFO, as the logging path takes it
])
def test_append_honours_the_log_level(monkeypatch, tmp_path, setting, written):
    if setting is None:
        monkeypatch.delenv(logfile.ENV_LEVEL, raising=False)
    else:
        monkeypatch.setenv(logfile.ENV_LEVEL, setting)
    logfile.append("custodian-app 1.0: reconcile", log_dir=tmp_path)
    assert (tmp_path / logfile.LOG_FILE_NAME).exists() is written


def test_append_writes_to_the_log_file_of_the_data_directory():
    logfile.append("custodian-app 1.0: reconcile")
    logfile.append(f"a card {PAN} is never written")
    text = (paths.logs_dir() / logfile.LOG_FILE_NAME).read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[-2].endswith(" INFO    custodian_app [MainThread] custodian-app 1.0: reconcile")
    assert PAN not in text and "<19 digits withheld>" in lines[-1]
    assert [p.name for p in logs.log_files()] == [logfile.LOG_FILE_NAME]  # what diagnostics bundles


def _sizes(folder) -> list[int]:
    return [os.path.getsize(p) for p in sorted(logs.log_files(folder), key=lambda p: p.name)]


def test_append_rotates_by_the_rule_of_the_logging_handler(tmp_path):
    # The same lines (same lengths) through both paths end in the same files of the same sizes.
    messages = [f"line {i:04d} " + "x" * (i % 37) for i in range(300)]
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    for m in messages:
        logfile.append(m, log_dir=ours, max_bytes=2000, backup_count=3)
    handler = logs.RotatingFile(theirs / logfile.LOG_FILE_NAME, 2000, 3)
    theirs.mkdir()
    handler.setFormatter(logging.Formatter(logfile.FORMAT))
    try:
        for m in messages:
            handler.emit(logging.LogRecord("custodian_app", logging.INFO, __file__, 1, m, (), None))
    finally:
        handler.close()
    assert len(_sizes(ours)) == 4 and max(_sizes(ours)) < 2000
    assert _sizes(ours) == _sizes(theirs)
    newest = (ours / logfile.LOG_FILE_NAME).read_text(encoding="utf-8")
    assert newest.rstrip("\n").endswith(messages[-1])


def test_append_with_no_backups_empties_the_full_file(tmp_path):
    for i in range(50):
        logfile.append(f"line {i}", log_dir=tmp_path, max_bytes=300, backup_count=0)
    assert [p.name for p in tmp_path.iterdir()] == [logfile.LOG_FILE_NAME]
    assert os.path.getsize(tmp_path / logfile.LOG_FILE_NAME) < 300


def test_a_log_folder_that_is_a_file_is_said_on_stderr_with_its_name(tmp_path, capsys):
    blocker = tmp_path / "logs"
    blocker.write_text("not a folder")
    logfile.append("custodian-app 1.0: reconcile", log_dir=blocker)
    err = capsys.readouterr().err
    assert f"cannot write the log file {blocker} (" in err and "this run is not logged" in err


def test_a_data_folder_that_cannot_hold_logs_is_named(monkeypatch, tmp_path, capsys):
    home = tmp_path / "home"
    home.mkdir()
    (home / "logs").write_text("not a folder")
    monkeypatch.setenv("CUSTODIAN_HOME", str(home))
    logfile.append("custodian-app 1.0: reconcile")
    assert f"cannot write the log file {home / 'logs'} (" in capsys.readouterr().err


def test_secrets_registered_through_logs_are_withheld_by_logfile_too():
    logs.add_secret("tok-1234-abcd-secret")
    try:
        assert logfile.clean("Bearer tok-1234-abcd-secret") == "Bearer <secret withheld>"
    finally:
        logfile._secrets.discard("tok-1234-abcd-secret")
