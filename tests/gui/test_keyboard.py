"""The wizard and the main window without a mouse: Tab reaches every field of every page and
leaves every table, Enter does not cancel a read just started, Next has the focus after the
sign-off, the main window's Alt+letters are unique, and screen readers get names."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QTableView,
)

from custodian_app.domain.flow import Step
from custodian_app.gui import i18n
from custodian_app.gui.main_window import MainWindow
from custodian_app.gui.qa.driver import SLOW, WizardDriver

FIELDS = (QLineEdit, QAbstractSpinBox, QComboBox, QAbstractButton, QTableView)


def fields(page) -> list:
    from PySide6.QtWidgets import QWidget

    return [w for w in page.findChildren(QWidget) if isinstance(w, FIELDS)]


def focusable(widget) -> bool:
    return (
        isinstance(widget, FIELDS)
        and widget.isVisible()
        and widget.isEnabled()
        and bool(widget.focusPolicy() & Qt.FocusPolicy.TabFocus)
    )


def tab_round(qtbot, d: WizardDriver, presses: int = 60) -> list:
    """Press Tab from the page's first field; the widgets that had the focus, in order."""
    page = d.wizard.currentPage()
    first = next(w for w in fields(page) if focusable(w))
    first.setFocus()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is first, timeout=5000)
    seen = [first]
    for _ in range(presses):
        qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_Tab)
        seen.append(QApplication.focusWidget())
    return seen


def assert_tab_reaches_everything(qtbot, d: WizardDriver) -> None:
    page = d.wizard.currentPage()
    seen = tab_round(qtbot, d)
    wanted = [
        w for w in fields(page) if focusable(w) and not isinstance(w.parent(), (QComboBox, QAbstractSpinBox))
    ]
    missed = [
        w.objectName() or type(w).__name__
        for w in wanted
        if w not in seen and not any(w.isAncestorOf(s) for s in seen if s is not None)
    ]
    assert not missed, f"Tab never reaches {missed} on {d.current().name}"
    # no table keeps the focus for two presses in a row: Tab leaves it
    for a, b in zip(seen, seen[1:], strict=False):
        assert not (isinstance(a, QTableView) and a is b), f"Tab is trapped in {a.objectName()}"
    forward = d.forward_button()
    if forward is not None:
        assert forward in seen, f"Tab never reaches Next on {d.current().name}"


def test_tab_goes_through_every_page(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic")
    d = WizardDriver(qtbot, make_ctx(world))
    assert_tab_reaches_everything(qtbot, d)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    assert_tab_reaches_everything(qtbot, d)
    d.next(Step.READ_ATM)
    d.wait_read()
    assert_tab_reaches_everything(qtbot, d)
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    assert_tab_reaches_everything(qtbot, d)
    d.next(Step.BACKEND)
    d.wait_backend()
    assert_tab_reaches_everything(qtbot, d)
    d.next(Step.RECONCILE)
    d.wait_result()
    assert d.page(Step.RECONCILE).model.rowCount() > 0
    assert_tab_reaches_everything(qtbot, d)
    d.next(Step.REPORT)
    d.wait_report()
    assert_tab_reaches_everything(qtbot, d)
    d.sign_off(wait_ok=True)
    # signed: Next has the focus, not the events box
    qtbot.waitUntil(lambda: QApplication.focusWidget() is d.forward_button(), timeout=SLOW)
    d.next(Step.NEW_CYCLE)
    assert_tab_reaches_everything(qtbot, d)


def test_enter_right_after_the_read_starts_does_not_cancel_it(qtbot, world_factory, make_ctx):
    world = world_factory(transactions=3000, atm_options={"pace": True})
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    page = d.page(Step.READ_ATM)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is page.cancel_button, timeout=5000)
    qtbot.keyClick(page.cancel_button, Qt.Key.Key_Return)
    qtbot.keyClick(page.cancel_button, Qt.Key.Key_Enter)
    assert page.reading and "ancel" not in page.status.text()
    d.wait_read()
    assert d.flow.atm is not None


def mnemonics(window) -> Counter:
    """The Alt+letters the main window answers to as shown: menu titles, tabs, and the visible
    buttons and labels of the current tab."""

    def letter(text: str) -> str | None:
        m = re.search(r"&([^&])", text)
        return m.group(1).lower() if m else None

    texts = [a.text() for a in window.menuBar().actions()]
    texts += [window.tabs.tabText(i) for i in range(window.tabs.count())]
    texts += [w.text() for w in window.findChildren(QAbstractButton) if w.isVisible()]
    texts += [w.text() for w in window.findChildren(QLabel) if w.isVisible() and w.buddy() is not None]
    return Counter(x for x in map(letter, texts) if x)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_the_main_windows_alt_letters_are_unique(qtbot, make_ctx, language):
    ctx = make_ctx(language=language)
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    try:
        for tab in range(window.tabs.count()):
            window.tabs.setCurrentIndex(tab)
            qtbot.waitUntil(lambda: window.tabs.currentWidget().isVisible(), timeout=5000)
            clashes = {k: n for k, n in mnemonics(window).items() if n > 1}
            assert not clashes, f"{language}, tab {tab}: Alt+{clashes}"
    finally:
        i18n.install("en")


def test_fields_and_tables_have_accessible_names(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic")
    d = WizardDriver(qtbot, make_ctx(world))
    sign_in = d.page(Step.SIGN_IN)
    names = [f.accessibleName() for f in (*sign_in.user, *sign_in.password)]
    assert all(names) and len(set(names)) == 4, names  # the two custodians' fields differ
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    count = d.page(Step.COUNT)
    assert all(e.accessibleName() for e in count.edits.values())
    assert len({e.accessibleName() for e in count.edits.values()}) == len(count.edits)
    assert count.reason.accessibleName()
    for name in ("unitsTable", "totalsTable", "mismatchTable", "notesTable"):
        assert d.wizard.findChild(QTableView, name).accessibleName(), name
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    d.next(Step.REPORT)
    d.wait_report()
    d.sign_off(wait_ok=True)
    d.next(Step.NEW_CYCLE)
    spins = d.page(Step.NEW_CYCLE).spins
    assert spins and all(s.accessibleName() for s in spins.values())
