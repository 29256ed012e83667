"""The count starts on the ledger's core: the ATM's totals, units and transactions arrive at
about a quarter of the read, and the custodians go on to the Count page while the banknote
records are still being read on the serial thread. The reconciliation waits for the whole
ledger, which the store keeps as evidence first; a read that fails after the core is said so
and retried, never reconciled."""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import Qt

from custodian_app import clearing
from custodian_app.domain import formats
from custodian_app.domain.flow import Missing, Step
from custodian_app.gui.qa.driver import SLOW, WizardDriver
from custodian_app.link.client import AtmClient
from custodian_app.link.simulator import Faults

log = logging.getLogger(__name__)

# enough transactions that, at 115200 baud, the banknote records take several seconds
TRANSACTIONS = 1500
FAULTS = "NOTE_FLOW_MISMATCH=2,RETRACTED=1"


def test_the_count_starts_while_the_banknote_records_are_still_read(
    qtbot, world_factory, make_ctx, monkeypatch
):
    import time

    world = world_factory(
        faults=FAULTS, transactions=TRANSACTIONS, atm_options={"pace": True, "baud": 115200}
    )
    atm = world.scenario.atm
    ctx = make_ctx(world, serial_baud=115200)

    # The real read runs on the real paced line; only its hand-over to the GUI is held back
    # (on the serial thread) until the test has seen the Reconcile page wait for it.
    original = AtmClient.read_ledger
    read_returned, release = threading.Event(), threading.Event()
    marks: dict[str, float] = {}

    def read_ledger(self, *args, **kwargs):
        t0 = time.monotonic()
        on_core = kwargs.get("on_core")

        def core(ledger):
            marks["core"] = time.monotonic() - t0
            on_core(ledger)

        kwargs["on_core"] = core
        ledger = original(self, *args, **kwargs)
        marks["full"] = time.monotonic() - t0
        read_returned.set()
        assert release.wait(60), "the test never released the ledger"
        return ledger

    monkeypatch.setattr(AtmClient, "read_ledger", read_ledger)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    read = d.page(Step.READ_ATM)
    seen: list[tuple[bool, int]] = []  # (core in, progress value) as the read page shows it
    read.progress.valueChanged.connect(lambda v: seen.append((d.flow.core_read, v)))
    d.next(Step.READ_ATM)

    d.wait_core()
    assert d.flow.atm is None and d.flow.notes_pending and read.reading
    panel = d.wizard.atm_panel
    assert "still being read" in panel.ledger_state.text() and not panel.retry_button.isVisible()
    assert "Next" in read.status.text()

    # the Count page, with the units of the core, while the serial thread still reads notes
    d.next(Step.COUNT)
    d.count(dict(world.scenario.counts.units))
    assert not read_returned.is_set(), "the whole ledger was read before the count could start"
    assert d.flow.atm is None and d.next_enabled()
    d.next(Step.BACKEND)
    d.wait_backend()
    # nothing past the sign-in reaches the store before the complete ATM ledger (the read
    # job is still running: wait for the database thread alone)
    done = threading.Event()
    ctx.runners.database.submit(done.set)
    assert done.wait(20)
    store = clearing.open_store()
    try:
        assert store.get_session(d.wizard.session_id).state == "signed_in"
    finally:
        store.close()

    d.next(Step.RECONCILE)
    rec = d.page(Step.RECONCILE)
    assert rec.waiting_for_notes and d.flow.missing() == [Missing.ATM_NOTES]
    assert "Waiting for the banknote records" in rec.status.text() and not d.next_enabled()
    qtbot.waitUntil(read_returned.is_set, timeout=SLOW)
    qtbot.waitUntil(lambda: read.figures.text().startswith(f"{read.progress.maximum():,} of"), timeout=SLOW)
    # progress went on after the core had arrived: the notes were still coming in
    core_values = [v for core, v in seen if core]
    before_core = max((v for core, v in seen if not core), default=0)
    assert core_values and max(core_values) > before_core
    release.set()

    d.wait_result()
    result = d.flow.result
    assert len(d.flow.atm.notes) == len(atm.notes)
    assert sum(m.category == "NOTE_FLOW_MISMATCH" for m in result.mismatches) == 2
    assert "complete" in panel.ledger_state.text()
    d.wait_db()
    store = clearing.open_store()
    try:
        info = store.get_session(d.wizard.session_id)
        docs = {doc.kind: doc for doc in store.evidence(d.wizard.session_id)}
        stored = formats.parse_atm_ledger(docs["atm-ledger"].content, "stored")
        order = [a.action for a in store.audit_entries(session_id=d.wizard.session_id)]
    finally:
        store.close()
    assert info.state == "reconciled"
    assert len(stored.notes) == len(atm.notes) and {"counts", "host-ledger", "clearing-result"} <= set(docs)
    assert order.index("atm_read") < order.index("count_entered")  # the ledger first, as the store wants
    assert order.index("atm_read") < order.index("reconciled")
    log.warning(
        "Count page available after %.2f s of a %.2f s read (115200 baud, %d transactions, "
        "%d banknote records)",
        marks["core"],
        marks["full"],
        len(atm.transactions),
        len(atm.notes),
    )


def test_a_read_that_fails_after_the_core_is_said_and_retried_never_reconciled(
    qtbot, world_factory, make_ctx, tmp_path
):
    # the cable is pulled after the core (about 19 kB of 61 kB in the column-wise page layout)
    # and stays out past the client's reconnect time; then it is back and Read again finishes
    # the ledger
    world = world_factory(
        faults=FAULTS,
        transactions=TRANSACTIONS,
        link=str(tmp_path / "atm"),
        atm_options={"faults": Faults(disconnect_after=40_000, down_seconds=4.0)},
    )
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_core()
    d.next(Step.COUNT)
    d.count(dict(world.scenario.counts.units))
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    panel, read, rec = d.wizard.atm_panel, d.page(Step.READ_ATM), d.page(Step.RECONCILE)
    qtbot.waitUntil(lambda: d.flow.atm_read_error is not None, timeout=SLOW)
    assert world.atm_sim.stats.disconnects == 1
    assert d.flow.atm is None and d.flow.result is None and not d.next_enabled()
    assert d.flow.missing() == [Missing.ATM_READ_FAILED]
    assert panel.retry_button.isVisible() and "failed" in panel.ledger_state.text()
    assert "failed" in rec.status.text()

    def retried() -> bool:
        # the pty comes back after a while: press Read again until a read gets through
        if d.flow.atm is None and not read.reading and panel.retry_button.isVisible():
            qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
        return d.flow.result is not None

    qtbot.waitUntil(retried, timeout=SLOW)
    assert len(d.flow.atm.notes) == len(world.scenario.atm.notes)
    assert sum(m.category == "NOTE_FLOW_MISMATCH" for m in d.flow.result.mismatches) == 2
    assert not panel.retry_button.isVisible() and d.next_enabled()
    d.wait_db()
    store = clearing.open_store()
    try:
        docs = {doc.kind: doc for doc in store.evidence(d.wizard.session_id)}
    finally:
        store.close()
    assert len(formats.parse_atm_ledger(docs["atm-ledger"].content, "stored").notes) == len(
        world.scenario.atm.notes
    )
