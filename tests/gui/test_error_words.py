"""Every failure the user can meet is worded in their language, from the error's class and
fields (custodian_app.gui.error_words), never with a layer's or a library's raw text."""

from __future__ import annotations

import errno
import importlib
import os
import re
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QLocale

from custodian_app.backend.errors import BackendTimeout, BackendUnreachable
from custodian_app.domain.flow import Step
from custodian_app.gui import i18n
from custodian_app.gui.error_words import PORT_WORDS, WORDS, words_for
from custodian_app.gui.qa.driver import SLOW, WizardDriver
from custodian_app.gui.workers import describe_error
from custodian_app.link.errors import LinkClosed, LinkTimeout, PortError
from custodian_app.store.errors import AccountLocked, TerminalBusy, WrongPassword

CJK = re.compile(r"[\u4e00-\u9fff]")
RAW = re.compile(r"Errno|Error\b|Exception|Traceback|attempt\(s\)|\(s\)")


def chinese_words(text: str) -> None:
    assert CJK.search(text), f"no Chinese in: {text!r}"
    assert not RAW.search(text), f"raw text in: {text!r}"


def english_words(text: str) -> None:
    assert not CJK.search(text) and not RAW.search(text), text


def caused(exc: BaseException, cause: BaseException) -> BaseException:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize("dotted", sorted(WORDS))
def test_every_entry_names_an_error_class_that_exists_and_has_both_languages(dotted):
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, Exception)
    en, zh = WORDS[dotted]
    english_words(en)
    chinese_words(zh)


def test_the_most_specific_class_wins():
    assert (
        words_for(BackendTimeout("slow"), zh=True) == WORDS["custodian_app.backend.errors.BackendTimeout"][1]
    )
    assert (
        words_for(BackendUnreachable("down"), zh=True)
        == WORDS["custodian_app.backend.errors.BackendUnreachable"][1]
    )
    assert words_for(ValueError("not ours"), zh=True) is None


UNTIL = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)

CASES = [
    # (the error, a field the words must carry)
    (WrongPassword("alice", 4, 15), "alice"),
    (WrongPassword("alice", 1, 15), "alice"),
    (AccountLocked("alice", UNTIL), "alice"),
    (TerminalBusy("NJ-0001", 7, ("alice", "bob"), "PC-7", UNTIL, "atm_read"), "PC-7"),
    (
        caused(
            BackendUnreachable(
                "cannot reach the backend (ConnectionRefusedError: [Errno 111] Connection refused)"
            ),
            ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        ),
        "",
    ),
    (
        caused(PortError("serial port /dev/ttyUSB9 does not exist"), FileNotFoundError(errno.ENOENT, "x")),
        "/dev/ttyUSB9",
    ),
    (
        caused(PortError("no permission to open /dev/ttyUSB9"), PermissionError(errno.EACCES, "x")),
        "/dev/ttyUSB9",
    ),
    (
        caused(
            LinkClosed("the connection to the ATM on /dev/ttyUSB9 was lost ([Errno 5] I/O error)"),
            OSError(errno.EIO, "I/O error"),
        ),
        "",
    ),
    (LinkTimeout("no answer"), ""),
]


@pytest.fixture
def language(qapp):
    yield i18n.install
    i18n.install("en")


@pytest.mark.parametrize(
    "exc,field", CASES, ids=lambda c: type(c).__name__ if isinstance(c, Exception) else ""
)
def test_the_error_paths_in_both_languages(language, exc, field):
    language("zh_CN")
    zh = describe_error(exc, port="/dev/ttyUSB9")
    chinese_words(zh)
    assert field in zh
    language("en")
    en = describe_error(exc, port="/dev/ttyUSB9")
    english_words(en)
    assert field in en


def test_a_port_that_does_not_exist_is_not_called_silent(language):
    language("zh_CN")
    missing = caused(PortError("x"), FileNotFoundError(errno.ENOENT, "x"))
    assert describe_error(missing, port="/dev/ttyX") == PORT_WORDS["missing"][1].format(port="/dev/ttyX")
    language("en")
    text = describe_error(missing, port="/dev/ttyX")
    assert "does not exist" in text and "answer" not in text


def test_plurals_and_local_time(language):
    language("en")
    assert "1 more try " in describe_error(WrongPassword("alice", 1, 15))
    assert "4 more tries " in describe_error(WrongPassword("alice", 4, 15))
    locked = describe_error(AccountLocked("alice", UNTIL))
    assert "UTC" not in locked and "2026-11-25" not in locked  # local time, in the language's format
    local = UNTIL.astimezone()
    assert f"{local.minute:02d}" in locked


def test_a_bug_is_worded_without_its_text(language):
    language("zh_CN")
    text = describe_error(KeyError("secret internals"))
    assert "secret" not in text and "日志" in text


# -- the wizard's error paths, in Chinese -------------------------------------------------------


@pytest.mark.custodian_language("zh_CN")
def test_the_wizards_error_paths_in_chinese(qtbot, make_ctx, world_factory, tmp_path):
    world = world_factory(faults="none")
    ctx = make_ctx(world, backend_url="http://127.0.0.1:9")  # nothing listens on the discard port
    d = WizardDriver(qtbot, ctx)
    assert QLocale().language() == QLocale.Language.Chinese
    sign_in = d.page(Step.SIGN_IN)
    d.sign_in(pb="wrong-password", wait_ok=False)
    chinese_words(sign_in.status.text())
    assert "bob" in sign_in.status.text()
    d.sign_in()
    d.next(Step.CONNECT)
    connect = d.page(Step.CONNECT)
    d.connect(str(tmp_path / "ttyNOPE"), wait_ok=False)
    chinese_words(connect.status.text())
    assert "不存在" in connect.status.text() and "无应答" not in connect.status.text()
    master, slave = os.openpty()  # a port with nothing behind it
    try:
        d.connect(os.ttyname(slave), wait_ok=False)
        chinese_words(connect.status.text())
    finally:
        os.close(master)
        os.close(slave)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    backend = d.page(Step.BACKEND)
    qtbot.waitUntil(lambda: backend.fetch_button.isEnabled() and backend.status.text() != "", timeout=SLOW)
    chinese_words(backend.status.text())
    assert "结算文件" in backend.status.text()


def test_the_tables_show_stored_codes_in_the_language(language):
    """History, terminals and the serial search keep English codes; the tables show words."""
    from custodian_app.gui.models import RecordsModel, counted

    language("zh_CN")
    model = RecordsModel([("state", "State"), ("event", "Event")])
    model.set_rows([{"state": "closed", "event": "returned"}])
    shown = [model.index(0, c).data() for c in range(2)]
    assert all(CJK.search(s) for s in shown), shown
    language("en")
    assert model.index(0, 0).data() == "finished"
    assert counted(1, "1 session on record", "%1 sessions on record") == "1 session on record"
    assert counted(3, "1 session on record", "%1 sessions on record") == "3 sessions on record"


def test_every_worded_error_names_the_class_where_it_is_defined():
    """The words are found by the error's dotted name: a class that moves must take its key
    along, or its users get no words in their language."""
    import importlib

    from custodian_app.gui import error_words

    for key in [*error_words.WORDS, *error_words.DETAILED]:
        module, _, name = key.rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        assert f"{cls.__module__}.{cls.__qualname__}" == key
