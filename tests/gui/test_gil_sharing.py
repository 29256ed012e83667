"""The GUI thread and the workers share one interpreter: the GUI must not wait long behind a
worker that runs Python (storing a ledger, building a report). No clock is read here: the
tests check the two arrangements that keep the waits short."""

from __future__ import annotations

import sys

from custodian_app.domain.flow import Step
from custodian_app.gui.workers import GUI_SWITCH_INTERVAL_S, Runners

from .driver import WizardDriver


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
