"""Logs: rotating UTF-8 files in the data directory, with no card number and no secret in any
part of a record (message, arguments, traceback), whichever handler receives it."""

from __future__ import annotations

import logging

import pytest

from custodian_app.cli import logs
from custodian_app.settings import paths

PAN = "6222021234567890123"
GROUPED_PAN = "6222 0212 3456 7890"
TOKEN = "tok-9f8e7d6c5b4a-secret"


@pytest.fixture
def logging_on(tmp_path):
    """setup_logging with a small rotation size; undone afterwards so other tests are untouched."""
    yield
    logs.shutdown_logging()


def read_all_logs() -> str:
    return "".join(p.read_text(encoding="utf-8") for p in logs.log_files())


def test_log_file_is_in_the_data_directory_and_utf8(logging_on):
    path = logs.setup_logging(secrets=[])
    assert path.parent == paths.logs_dir() and path.name == "custodian-app.log"
    logging.getLogger("custodian_app.test").info("清机对账 started for %s", "ATM-0042")
    assert "清机对账 started for ATM-0042" in path.read_text(encoding="utf-8")


def test_card_numbers_and_tokens_are_scrubbed_everywhere(logging_on, caplog):
    path = logs.setup_logging(secrets=[TOKEN])
    log = logging.getLogger("custodian_app.backend")
    with caplog.at_level(logging.INFO):
        log.info("card %s and token %s", PAN, TOKEN)  # in the arguments
        log.warning(f"message itself with {PAN} / Bearer {TOKEN}")  # in the message
        log.info("grouped card %s", GROUPED_PAN)
        try:
            raise ValueError(f"hostile reply for card {PAN} with token={TOKEN}")
        except ValueError:
            log.exception("fetch failed")  # in the traceback
    text = path.read_text(encoding="utf-8")
    seen_by_caplog = caplog.text + "".join(r.getMessage() for r in caplog.records)
    for where in (text, seen_by_caplog):
        assert PAN not in where and TOKEN not in where and GROUPED_PAN not in where
    assert "<19 digits withheld>" in text and "<secret withheld>" in text
    assert "<16 digits withheld>" in text
    assert "ValueError: hostile reply for card <19 digits withheld>" in text
    assert "fetch failed" in text and "Traceback" in text


def test_masked_cards_times_and_amounts_are_left_alone(logging_on):
    path = logs.setup_logging(secrets=[])
    logging.getLogger("custodian_app").info(
        "card 622202******1234 at 2026-11-25 19:23:01 amount 1000.00 tsn 000123"
    )
    assert "card 622202******1234 at 2026-11-25 19:23:01 amount 1000.00 tsn 000123" in path.read_text(
        encoding="utf-8"
    )


def test_secret_registered_later_is_withheld(logging_on):
    path = logs.setup_logging(secrets=[])
    logs.add_secret("typed-into-the-dialog-77")
    logging.getLogger("custodian_app.gui").error("saving token typed-into-the-dialog-77 failed")
    assert "typed-into-the-dialog-77" not in path.read_text(encoding="utf-8")


def test_secrets_come_from_the_settings_by_default(logging_on, monkeypatch, tmp_path):
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "none.toml"))
    paths.config_file().write_text(f'[backend]\ntoken = "{TOKEN}-from-file"\n', encoding="utf-8")
    path = logs.setup_logging()
    logging.getLogger("custodian_app").info("Authorization: Bearer %s", f"{TOKEN}-from-file")
    assert f"{TOKEN}-from-file" not in path.read_text(encoding="utf-8")


def test_broken_settings_do_not_stop_logging(logging_on, monkeypatch, tmp_path):
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(tmp_path / "none.toml"))
    paths.config_file().write_text("[serial\nbaud = ", encoding="utf-8")
    path = logs.setup_logging()
    logging.getLogger("custodian_app").warning("still logging")
    assert "still logging" in path.read_text(encoding="utf-8")


def test_files_rotate_with_a_size_cap_and_stay_scrubbed(logging_on):
    logs.setup_logging(secrets=[TOKEN], max_bytes=4000, backup_count=3)
    log = logging.getLogger("custodian_app.link")
    for i in range(400):
        log.info("record %04d card %s token %s padding %s", i, PAN, TOKEN, "x" * 40)
    files = logs.log_files()
    assert [p.name for p in files] == [
        "custodian-app.log",
        "custodian-app.log.1",
        "custodian-app.log.2",
        "custodian-app.log.3",
    ]
    assert all(p.stat().st_size <= 4000 for p in files)
    text = read_all_logs()
    assert "record 0399" in files[0].read_text(encoding="utf-8")
    assert "record 0000" not in text  # the oldest fell off the end: the cap holds
    assert PAN not in text and TOKEN not in text


def test_setup_twice_replaces_its_handlers_and_console_goes_to_stderr(logging_on, capsys):
    logs.setup_logging(secrets=[TOKEN])
    logs.setup_logging(secrets=[TOKEN], console=True, level="debug")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "_custodian_handler", False)]
    assert len(ours) == 2
    logging.getLogger("custodian_app").debug("debug line with %s", TOKEN)
    err = capsys.readouterr().err
    assert "debug line with <secret withheld>" in err and TOKEN not in err


def test_shutdown_removes_handlers_and_restores_the_record_factory(logging_on):
    before = logging.getLogRecordFactory()
    logs.setup_logging(secrets=[])
    assert logging.getLogRecordFactory() is not before
    logs.shutdown_logging()
    assert logging.getLogRecordFactory() is before
    assert not [h for h in logging.getLogger().handlers if getattr(h, "_custodian_handler", False)]


def test_clean_handles_both_card_forms_and_short_secrets():
    logs.add_secret("ab")  # too short to withhold safely; ignored rather than mangling every line
    assert (
        logs.clean("about 6222-0212-3456-7890-123 and 4111111111111111")
        == "about <19 digits withheld> and <16 digits withheld>"
    )
    assert "ab" in logs.clean("table")


def test_uncaught_exceptions_in_threads_reach_the_log_scrubbed(logging_on):
    import threading

    path = logs.setup_logging(secrets=[TOKEN])
    seen = []
    previous = logs._previous_hooks[1]
    logs._previous_hooks = (logs._previous_hooks[0], lambda hook_args: seen.append(hook_args.exc_type))

    def worker():
        raise RuntimeError(f"reader crashed on card {PAN} with {TOKEN}")

    thread = threading.Thread(target=worker, name="atm-io")
    try:
        thread.start()
        thread.join(timeout=10)
    finally:
        logs._previous_hooks = (logs._previous_hooks[0], previous)
    text = path.read_text(encoding="utf-8")
    assert "unexpected error in thread atm-io" in text and "RuntimeError: reader crashed" in text
    assert PAN not in text and TOKEN not in text


def test_an_unwritable_log_folder_falls_back_to_the_console(logging_on, tmp_path, capsys):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be", encoding="utf-8")
    logs.setup_logging(secrets=[], log_dir=blocker / "logs")
    logging.getLogger("custodian_app").warning("clearing goes on")
    err = capsys.readouterr().err
    assert "cannot create the log folder" in err and "clearing goes on" in err


def test_a_crash_on_screen_is_scrubbed_too(tmp_path):
    # Python's own hooks print the exception's text as it is; ours print it scrubbed, in the
    # same layout, after logging it.
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(f"""
        import threading
        from custodian_app.cli import logs
        logs.setup_logging(secrets=["{TOKEN}"])

        def boom():
            raise ValueError("card {PAN} token {TOKEN}")

        t = threading.Thread(target=boom, name="reader")
        t.start()
        t.join()
        raise RuntimeError("main: card {PAN}")
    """)
    env = {**os.environ, "CUSTODIAN_HOME": str(tmp_path)}
    p = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 1
    assert "Exception in thread reader:" in p.stderr and "ValueError: card <19 digits withheld>" in p.stderr
    assert "RuntimeError: main: card <19 digits withheld>" in p.stderr and "Traceback" in p.stderr
    assert PAN not in p.stderr and TOKEN not in p.stderr
    log = (tmp_path / "logs" / "custodian-app.log").read_text(encoding="utf-8")
    assert "unexpected error in thread reader" in log and PAN not in log


def test_one_registry_of_secrets_for_messages_and_logs(logging_on):
    """A secret given to the logs (a token typed into the settings dialog) is withheld from an
    error's message too, and one given to the errors from every log line: one set, not two."""
    from custodian_app.domain import errors

    assert logs.add_secret is errors.add_secret
    logs.add_secret("dialog-token-5a7c-only-here")
    assert "dialog-token-5a7c" not in str(errors.CustodianError("refused dialog-token-5a7c-only-here"))
    errors.add_secret("message-token-91bd-only-here")
    assert "message-token-91bd" not in logs.clean("sent message-token-91bd-only-here")
    path = logs.setup_logging(secrets=[])
    logging.getLogger("custodian_app.test").warning(
        "both dialog-token-5a7c-only-here and message-token-91bd-only-here"
    )
    text = path.read_text(encoding="utf-8")
    assert "both" in text and "dialog-token" not in text and "message-token" not in text
