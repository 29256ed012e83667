"""The main window's tables show moments in the branch's local time, written as the interface's
language writes them (gui.error_words.local_time), not as one fixed ISO-like text."""

from __future__ import annotations

import re
import threading

import pytest

from custodian_app.gui.error_words import local_time
from custodian_app.gui.main_window import MainWindow
from custodian_app.gui.qa.driver import SLOW

OLD = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")  # what every language got before


def _opened_session(ctx, users):
    """A clearing opened in the application's own store (on its database thread)."""
    done, box = threading.Event(), {}

    def op():
        store = ctx.store()
        a, b = (store.authenticate(u, users.password(u)) for u in users.custodians)
        box["info"] = store.open_session("NJ-0001", a, b)
        done.set()

    ctx.runners.database.submit(op)
    assert done.wait(SLOW / 1000)
    return box["info"]


def _shown(qtbot, ctx, users):
    info = _opened_session(ctx, users)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.refresh()
    qtbot.waitUntil(
        lambda: window.history_model.rowCount() == 1 and window.terminals_model.rowCount() == 1, timeout=SLOW
    )
    started = window.history_model.columns.index(
        next(c for c in window.history_model.columns if c[0] == "started_at")
    )
    when = window.terminals_model.columns.index(
        next(c for c in window.terminals_model.columns if c[0] == "updated_at")
    )
    history = window.history_model.data(window.history_model.index(0, started))
    terminals = window.terminals_model.data(window.terminals_model.index(0, when))
    return info, history, terminals


@pytest.mark.custodian_language("zh_CN")
def test_times_in_chinese(qtbot, make_ctx, custodian_users):
    info, history, terminals = _shown(qtbot, make_ctx(), custodian_users)
    local = info.opened_at.astimezone()
    assert history == local_time(info.opened_at) and not OLD.match(history)
    assert re.fullmatch(
        rf"{local.year}/0?{local.month}/0?{local.day} 0?{local.hour}:{local.minute:02d}", history
    ), history
    assert terminals == local_time(info.updated_at)


@pytest.mark.custodian_language("en")
def test_times_in_english(qtbot, make_ctx, custodian_users):
    info, history, terminals = _shown(qtbot, make_ctx(), custodian_users)
    local = info.opened_at.astimezone()
    assert history == local_time(info.opened_at) and not OLD.match(history)
    # the interface's English is British: day first, 24-hour clock
    assert history == f"{local.day:02d}/{local.month:02d}/{local.year} {local.hour:02d}:{local.minute:02d}"
    assert terminals == local_time(info.updated_at)
