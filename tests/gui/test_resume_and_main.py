"""An interrupted clearing is offered again at start and goes on where it stopped; the main
window's history, reprint and banknote-serial search."""

from __future__ import annotations

from PySide6.QtCore import Qt

from custodian_app import clearing
from custodian_app.domain.flow import Step
from custodian_app.gui import dialogs
from custodian_app.gui.main_window import MainWindow
from custodian_app.gui.qa.driver import SLOW, WizardDriver


class Answers:
    """Stands in for dialogs.ask: records the question, answers at once."""

    def __init__(self, answer="yes") -> None:
        self.answer = answer
        self.asked = []

    def __call__(self, parent, title, text, *, callback=None, **kw):
        self.asked.append((title, text))
        if callback:
            callback(self.answer)


def test_a_session_closed_mid_way_resumes_after_a_restart(qtbot, world_factory, make_ctx, monkeypatch):
    world = world_factory(faults="realistic")
    answers = Answers("yes")
    monkeypatch.setattr(dialogs, "ask", answers)

    # the first run: up to the backend's ledger, then the window is closed
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.wait_db()
    sid = d.wizard.session_id
    d.wizard.close()  # asks; the answer "yes" leaves the clearing open
    assert "Leave the clearing?" in answers.asked[-1][0]
    assert not d.wizard.isVisible()
    ctx.shutdown()  # the application ends

    # the next start: the main window offers the session, the same two sign in again
    ctx2 = make_ctx(world)
    window = MainWindow(ctx2)
    qtbot.addWidget(window)
    window.show()
    window.offer_resumption()
    qtbot.waitUntil(lambda: window.wizard is not None, timeout=SLOW)
    assert "NJ-0001" in answers.asked[-1][1] and "backend_fetched" in answers.asked[-1][1]
    w = window.wizard
    assert w.session_id == sid and w.flow.resume_at is Step.RECONCILE
    r = WizardDriver(qtbot, ctx2, wizard=w)
    page = r.page(Step.SIGN_IN)
    assert page.user[0].text() == "alice" and "Resuming" in page.status.text()
    qtbot.waitUntil(lambda: page.password[0].hasFocus(), timeout=5000)  # the names are known
    r.sign_in("alice", "dave", pb="whatever", wait_ok=False)  # another custodian may not
    assert not w.flow.authenticated
    r.sign_in()
    r.next(Step.RECONCILE)
    r.wait_result()
    assert len(w.flow.result.mismatches) == sum(world.scenario.expected.values())
    r.next(Step.REPORT)
    r.wait_report()
    r.sign_off()
    qtbot.waitUntil(lambda: w.flow.supervisor == "carol", timeout=SLOW)
    r.wait_report()
    r.next(Step.NEW_CYCLE)
    nc = r.page(Step.NEW_CYCLE)
    qtbot.mouseClick(nc.exchange_button, Qt.MouseButton.LeftButton)  # reconnects on its own
    qtbot.waitUntil(lambda: w.flow.new_cycle_id is not None or nc.exchange_button.isEnabled(), timeout=SLOW)
    assert w.flow.new_cycle_id, nc.status.text()
    w.button(w.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.wizard is None, timeout=SLOW)
    r.wait_db()

    store = clearing.open_store()
    try:
        info = store.get_session(sid)
        actions = [a.action for a in store.audit_entries(session_id=sid)]
    finally:
        store.close()
    assert info.state == "closed" and "session_resumed" in actions

    # the main window: history with the session, reprint, banknote-serial search
    window.refresh()
    qtbot.waitUntil(lambda: window.history_model.rowCount() == 1, timeout=SLOW)
    assert window.history_model.rows[0]["state"] == "closed"
    assert window.terminals_model.rows[0]["terminal_id"] == "NJ-0001"
    window.history.selectRow(0)
    qtbot.mouseClick(window.reprint_button, Qt.MouseButton.LeftButton)
    from custodian_app.gui.report_viewer import ReportViewer

    qtbot.waitUntil(lambda: window.findChild(ReportViewer) is not None, timeout=SLOW)
    viewer = window.findChild(ReportViewer)
    assert viewer.document.pageCount() >= 1
    viewer.close()
    serial = next(n.serial for n in world.scenario.atm.notes if n.event == "taken")
    window.tabs.setCurrentIndex(2)
    window.serial_edit.setText(serial)
    qtbot.mouseClick(window.serial_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.serial_model.rowCount() > 0, timeout=SLOW)
    assert all(row["serial"] == serial for row in window.serial_model.rows)
    window.tabs.setCurrentIndex(1)


def test_abandon_needs_a_reason_and_frees_the_atm(qtbot, world_factory, make_ctx, monkeypatch):
    world = world_factory(faults="none")
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    reasons = iter([None, "ATM 故障, 改日清机"])
    monkeypatch.setattr(
        dialogs, "ask_text", lambda parent, title, label, callback, **kw: callback(next(reasons))
    )
    d.wizard.ask_abandon()  # cancelled: nothing happens
    assert d.wizard.isVisible() and not d.flow.finished
    with qtbot.waitSignal(d.wizard.session_closed, timeout=5000) as closed:
        d.wizard.ask_abandon()
    assert closed.args == ["abandoned"]
    d.wait_db()
    store = clearing.open_store()
    try:
        info = store.get_session(d.wizard.session_id)
        assert store.resumable_sessions() == []
    finally:
        store.close()
    assert info.state == "abandoned" and info.abandon_reason == "ATM 故障, 改日清机"


def test_cancel_before_the_atm_answered_leaves_nothing_behind(qtbot, make_ctx, monkeypatch):
    answers = Answers("no")
    monkeypatch.setattr(dialogs, "ask", answers)
    d = WizardDriver(qtbot, make_ctx())
    d.sign_in()
    d.wizard.reject()  # nothing is kept yet: no question, the window closes
    assert answers.asked == [] and not d.wizard.isVisible()
    store = clearing.open_store()
    try:
        assert store.history() == []
    finally:
        store.close()


def test_cancel_mid_session_asks_and_no_keeps_the_window(qtbot, world_factory, make_ctx, monkeypatch):
    world = world_factory(faults="none")
    answers = Answers("no")
    monkeypatch.setattr(dialogs, "ask", answers)
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.wizard.reject()
    assert answers.asked and d.wizard.isVisible()
