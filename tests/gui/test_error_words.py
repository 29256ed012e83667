"""Chinese headlines for the lower layers' errors (custodian_app.gui.error_words)."""

from __future__ import annotations

import importlib
from datetime import datetime, timezone

import pytest
from PySide6.QtCore import QLocale

from custodian_app.backend.errors import BackendTimeout, BackendUnreachable
from custodian_app.gui.error_words import HEADLINES_ZH, headline_zh
from custodian_app.gui.workers import describe_error
from custodian_app.link.errors import LinkTimeout
from custodian_app.store.errors import TerminalBusy


@pytest.mark.parametrize("dotted", sorted(HEADLINES_ZH))
def test_every_headline_names_an_error_class_that_exists(dotted):
    module, _, name = dotted.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, Exception)


def test_the_most_specific_class_wins():
    assert headline_zh(BackendTimeout("slow")) == HEADLINES_ZH["custodian_app.backend.errors.BackendTimeout"]
    assert headline_zh(BackendUnreachable("down")) == HEADLINES_ZH["custodian_app.backend.errors.BackendUnreachable"]
    assert headline_zh(ValueError("not ours")) is None


@pytest.fixture
def locale():
    before = QLocale()
    yield
    QLocale.setDefault(before)


def test_chinese_interface_gets_a_chinese_headline_then_the_details(locale):
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    text = describe_error(LinkTimeout("no answer on /dev/ttyUSB0 for 10 s"))
    headline, details = text.split("\n", 1)
    assert "ATM 无应答" in headline
    assert details == "no answer on /dev/ttyUSB0 for 10 s"


def test_english_interface_keeps_the_layers_words(locale):
    QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedKingdom))
    busy = TerminalBusy("NJ-0001", 7, ("alice", "bob"), "PC-7",
                        datetime(2026, 11, 25, 9, 30, tzinfo=timezone.utc), "atm_read")
    assert describe_error(busy) == str(busy)
    assert "PC-7" in str(busy) and "无" not in describe_error(busy)
