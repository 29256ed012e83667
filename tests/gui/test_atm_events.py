"""What the ATM reports on its own during a clearing (the safe door opened …) is shown on the
wizard's ATM panel and kept in the audit log; it comes in on the serial thread, through a
signal, while a read runs or while the line is otherwise idle."""

from __future__ import annotations

import re
import threading
from datetime import datetime

from custodian_app import clearing
from custodian_app.domain.flow import Step
from custodian_app.gui.qa.driver import SLOW, WizardDriver
from custodian_app.gui.wizard.atm_panel import event_text


def audit(session_id):
    store = clearing.open_store()
    try:
        return [
            (a.action, a.actor, a.terminal_id, a.detail) for a in store.audit_entries(session_id=session_id)
        ]
    finally:
        store.close()


def test_the_safe_door_opened_during_the_clearing_is_shown_and_audited(
    qtbot, world_factory, make_ctx, monkeypatch
):
    world = world_factory(faults="none")
    ctx = make_ctx(world)
    threads = []
    original = ctx._event_seen

    def seen(event):
        threads.append(threading.get_ident())
        original(event)

    monkeypatch.setattr(ctx, "_event_seen", seen)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    panel = d.wizard.atm_panel
    assert panel.events.count() == 0

    # the serial thread is idle (the custodians count): it still listens to the line
    with qtbot.waitSignal(d.wizard.atm_event, timeout=SLOW) as shown:
        world.atm_sim.open_safe_door()
    assert re.fullmatch(r"Safe door opened at \d\d:\d\d", shown.args[0])
    assert panel.events.count() == 1 and panel.events.item(0).text() == shown.args[0]
    assert threads == [ctx.runners.serial.thread_ident]  # from the serial thread, by a signal
    with qtbot.waitSignal(d.wizard.atm_event, timeout=SLOW):
        world.atm_sim.close_safe_door()
    assert panel.events.item(1).text().startswith("Safe door closed at ")

    d.wait_db()
    entries = [e for e in audit(d.wizard.session_id) if e[0] == "atm_event"]
    assert [e[3]["safeDoor"] for e in entries] == ["open", "closed"]
    atm = world.scenario.atm
    assert all(
        e[1] == "alice" and e[2] == atm.terminal_id and e[3]["event"] == "Common.StatusChangedEvent"
        for e in entries
    )


def test_events_read_before_anyone_signed_in_are_not_this_clearings(qtbot, world_factory, make_ctx):
    world = world_factory(faults="none")
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    from custodian_app.link.client import AtmEvent

    ctx.link_events.received.emit(AtmEvent("Common.StatusChangedEvent", {"safeDoor": "open"}))
    assert d.wizard.atm_panel.events.count() == 0


def test_event_words():
    at = datetime(2026, 11, 25, 10, 42)
    assert event_text("Common.StatusChangedEvent", {"safeDoor": "open"}, at) == "Safe door opened at 10:42"
    assert event_text("Ledger.CycleOpenedEvent", {"cycleId": "C2"}, at) == "The ATM opened cycle C2 at 10:42"
    assert (
        event_text("Common.StatusChangedEvent", {"device": "jammed"}, at)
        == "The ATM reported Common.StatusChangedEvent (device=jammed) at 10:42"
    )


def test_event_words_in_chinese(qapp):
    from custodian_app.gui import i18n

    assert i18n.install("zh_CN")
    try:
        text = event_text("Common.StatusChangedEvent", {"safeDoor": "open"}, datetime(2026, 11, 25, 10, 42))
    finally:
        i18n.install("en")
    assert text == "安全门已打开（10:42）"
