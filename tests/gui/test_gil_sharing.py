"""The GUI thread and the workers share one interpreter: the GUI must not wait long behind a
worker that runs Python (storing a ledger, building a report). No clock is read here: the
tests check the two arrangements that keep the waits short."""

from __future__ import annotations

import sys

from custodian_app.domain.flow import Step
from custodian_app.gui.qa.driver import WizardDriver
from custodian_app.gui.workers import GUI_SWITCH_INTERVAL_S, Hold, Job, PoolRunner, Runners


def test_the_gui_takes_the_interpreter_in_short_turns():
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)  # Python's default
    runners = Runners()
    try:
        assert sys.getswitchinterval() <= GUI_SWITCH_INTERVAL_S
    finally:
        runners.shutdown()
        sys.setswitchinterval(before)


def test_a_read_ledger_is_stored_after_its_page_is_shown_not_while(qtbot, world_factory, make_ctx):
    world = world_factory(transactions=60)
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    page = d.page(Step.READ_ATM)
    persisted_by_read, real_read, real_persist = [], page._read, d.wizard.persist
    calls = []
    d.wizard.persist = lambda: (calls.append(d.flow.atm is not None), real_persist())[1]

    def read(ledger):
        real_read(ledger)
        persisted_by_read.append(True in calls)  # was the ledger stored when the handler returned?

    page._read = read  # bound into the read's job when Next starts it
    d.next(Step.READ_ATM)
    d.wait_read()
    qtbot.waitUntil(lambda: True in calls)
    assert persisted_by_read == [False]  # not from inside the handler: after it, from the event loop
    assert d.page(Step.READ_ATM).status.text() and d.flow.atm is not None
    d.wait_db()


def _waiting_in_hold() -> bool:
    """Is a thread inside a ``Hold``'s wait (its frame on some thread's stack)?"""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_qualname == "Hold.__init__.<locals>.<lambda>":
                return True
            frame = frame.f_back
    return False


def test_a_hold_keeps_the_runner_s_later_jobs_until_it_is_released(qtbot):
    runner = PoolRunner("held", 1)
    try:
        hold = Hold(runner)
        seen = []
        Job(None, lambda _ctx: seen.append(hold.released), lambda _r: None).run(runner)
        qtbot.waitUntil(_waiting_in_hold)  # the runner's one thread is at the hold, the job queued
        assert seen == []
        hold.release()
        qtbot.waitUntil(lambda: bool(seen))
        assert seen == [True]  # it ran after the release, not before
    finally:
        runner.shutdown()


def test_the_store_waits_while_the_mismatch_list_is_first_painted(qtbot, world_factory, make_ctx):
    """The store's work queued while the reconcile page reconciles (storing a ledger's banknote
    records, when the custodians counted during the read) goes on only after the list's paint."""
    from PySide6.QtCore import QEvent, QObject

    world = world_factory(transactions=60)
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
    page = d.page(Step.RECONCILE)
    paints = []

    class Paints(QObject):
        def eventFilter(self, _watched, event):  # noqa: N802 - Qt API
            if event.type() == QEvent.Type.Paint:
                paints.append(d.flow.result is not None)
            return False

    counter = Paints()
    page.table.viewport().installEventFilter(counter)
    stored = []
    real_compute = page.compute

    def compute():  # as the read's handler does: the ledger goes to the store as the page reconciles
        real_compute()
        ctx.run_db(page, lambda _store: stored.append(list(paints)))

    page.compute = compute
    d.next(Step.RECONCILE)
    d.wait_result()
    d.wait_db()
    qtbot.waitUntil(lambda: bool(stored))
    assert page._hold is None  # released
    assert stored[0].count(True) >= 1  # the result's list had been painted first


def test_an_application_stopping_releases_a_hold_left_on_its_database_runner():
    runners = Runners()
    hold = Hold(runners.database)  # a page closed before its list was painted
    runners.shutdown()  # returns: the database thread's wait is over
    assert hold.released
