"""The whole wizard, end to end, against the ATM simulator on a pty pair and the backend
simulator over HTTP; what each page shows is checked, and the store's record of it."""

from __future__ import annotations

import pytest
from pypdf import PdfReader
from PySide6.QtCore import Qt

from custodian_app import clearing
from custodian_app.domain.flow import State, Step
from custodian_app.gui.models import category_name
from custodian_app.gui.qa.driver import SLOW, WizardDriver


def stored_session(session_id):
    store = clearing.open_store()
    try:
        return (
            store.get_session(session_id),
            {d.kind for d in store.evidence(session_id)},
            [(a.action, a.actor) for a in store.audit_entries(session_id=session_id)],
        )
    finally:
        store.close()


@pytest.fixture
def io_threads(monkeypatch):
    """Which thread each ATM-link and store call ran on."""
    import functools
    import threading

    from custodian_app.link.client import AtmClient
    from custodian_app.store.service import Store

    calls: list[tuple[str, str, int]] = []

    def spy(cls, name, kind):
        original = getattr(cls, name)

        @functools.wraps(original)
        def wrapper(*args, **kwargs):
            calls.append((kind, name, threading.get_ident()))
            return original(*args, **kwargs)

        monkeypatch.setattr(cls, name, wrapper)

    for name in ("connect", "read_ledger", "start_exchange", "end_exchange", "close"):
        spy(AtmClient, name, "link")
    from custodian_app import report
    from custodian_app.backend.client import BackendClient

    spy(BackendClient, "fetch_ledger", "net")
    spy(report, "build_report", "pdf")
    for name in (
        "authenticate",
        "open_session",
        "record_atm_ledger",
        "record_counts",
        "record_host_ledger",
        "record_result",
        "mark_reviewed",
        "sign_off",
        "record_report",
        "start_new_cycle",
        "close_session",
        "get_session",
        "evidence",
    ):
        spy(Store, name, "store")
    return calls


def test_a_balanced_clearing_from_sign_in_to_the_next_cycle(qtbot, world_factory, make_ctx, io_threads):
    import threading

    world = world_factory(faults="none")
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    atm = world.scenario.atm

    # 1 sign in: Next only after both custodians signed in
    assert d.current() is Step.SIGN_IN and not d.next_enabled()
    d.sign_in()
    assert "alice" in d.page(Step.SIGN_IN).status.text()
    d.next(Step.CONNECT)

    # 2 connect: the ATM's terminal, cycle and state are shown
    assert not d.next_enabled()
    d.connect(world.device)
    info = d.page(Step.CONNECT).atm_info.text()
    assert atm.terminal_id in info and atm.cycle_id in info and "open" in info
    d.next(Step.READ_ATM)

    # 3 read: progress, then the cassettes as a table and a chart
    d.wait_read()
    page = d.page(Step.READ_ATM)
    assert page.units_model.rowCount() == len(atm.units)
    assert [lvl[0] for lvl in page.chart.levels()] == [u.id for u in atm.units]
    assert page.progress.value() == page.progress.maximum()
    assert f"{len(atm.transactions):,} transactions" in page.status.text()
    assert not d.wizard.button(d.wizard.WizardButton.BackButton).isEnabled()  # the read is final
    d.next(Step.COUNT)

    # 4 count: totals update as the custodians type; Next once every unit has a figure
    count = d.page(Step.COUNT)
    assert not d.next_enabled()
    first = atm.units[0].id
    count.edits[first].setText("1")
    assert "1.00" in count.total.text() and not d.next_enabled()
    d.count(world.scenario.counts.units)
    assert d.next_enabled()
    d.next(Step.BACKEND)

    # 5 backend: fetched at once from the configured address
    d.wait_backend()
    assert "from the backend" in d.page(Step.BACKEND).status.text()
    d.next(Step.RECONCILE)

    # 6 reconcile: every total green, nothing in the list
    d.wait_result()
    rec = d.page(Step.RECONCILE)
    assert d.flow.result.balanced
    assert rec.totals_model.rowCount() == 5
    assert all(rec.totals_model.data(rec.totals_model.index(r, 3)) == "equal" for r in range(5))
    assert rec.model.rowCount() == 0 and "Balanced" in rec.status.text()
    assert "no difference" in rec.cash.text()
    d.next(Step.REPORT)

    # 7 report: a draft first; the supervisor signs it off; the signed one is kept
    d.wait_report()
    rep = d.page(Step.REPORT)
    assert rep.pdf_bytes.startswith(b"%PDF-") and not d.next_enabled()
    draft = [p.extract_text() for p in PdfReader(rep.pdf_path).pages]
    assert all("DRAFT" in page for page in draft)  # printed or saved, a draft says so on every page
    d.sign_off()
    qtbot.waitUntil(lambda: d.flow.supervisor == "carol", timeout=SLOW)
    d.wait_report()
    text = "".join(p.extract_text() for p in PdfReader(rep.pdf_path).pages)
    assert "carol" in text and atm.cycle_id in text and "DRAFT" not in text
    assert not d.wizard.button(d.wizard.WizardButton.BackButton).isEnabled()
    assert not d.wizard.button(d.wizard.WizardButton.CustomButton1).isEnabled()  # abandon
    d.wait_pdf_painted()
    d.next(Step.NEW_CYCLE)

    # 8 new cycle: the exchange goes to the ATM, which opens the next cycle; Finish closes
    nc = d.page(Step.NEW_CYCLE)
    assert not d.wizard.button(d.wizard.WizardButton.BackButton).isEnabled()
    qtbot.mouseClick(nc.exchange_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: d.flow.new_cycle_id is not None or nc.exchange_button.isEnabled(), timeout=SLOW)
    assert d.flow.new_cycle_id, nc.status.text()
    assert d.flow.new_cycle_id != atm.cycle_id
    assert d.flow.new_cycle_id in nc.status.text()
    with qtbot.waitSignal(d.wizard.session_closed, timeout=5000) as closed:
        d.wizard.button(d.wizard.WizardButton.FinishButton).click()
    assert closed.args == [State.CLOSED.value]
    d.wait_db()

    # all serial I/O on the one serial thread, all database work on the one database thread,
    # none of it on the GUI thread
    main = threading.get_ident()
    link_threads = {t for kind, _n, t in io_threads if kind == "link"}
    store_threads = {t for kind, _n, t in io_threads if kind == "store"}
    assert {n for kind, n, _t in io_threads if kind == "link"} >= {"connect", "read_ledger", "end_exchange"}
    assert link_threads == {ctx.runners.serial.thread_ident}
    assert len(store_threads) == 1 and main not in store_threads | link_threads
    assert {n for kind, n, _t in io_threads if kind == "store"} >= {
        "open_session",
        "sign_off",
        "close_session",
    }
    others = [(kind, t) for kind, _n, t in io_threads if kind in ("net", "pdf")]
    assert {k for k, _t in others} == {"net", "pdf"} and all(t != main for _k, t in others)

    info, kinds, audit = stored_session(d.wizard.session_id)
    assert info.state == "closed" and info.supervisor == "carol" and info.balanced
    assert info.new_cycle_id == d.flow.new_cycle_id
    assert {"atm-ledger", "counts", "host-ledger", "clearing-result", "report-pdf"} <= kinds
    assert ("signed_off", "carol") in audit


def test_a_clearing_with_mismatches_shows_them_and_keeps_remarks(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic")
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)

    # skipping the count needs a reason
    count = d.page(Step.COUNT)
    count.skip.setChecked(True)
    assert not d.next_enabled()
    count.reason.setText("点钞机故障 counting machine broken")
    assert d.next_enabled() and d.flow.count_skip_reason.startswith("点钞机故障")
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()

    rec = d.page(Step.RECONCILE)
    result = d.flow.result
    expected = world.scenario.expected
    assert not result.balanced
    assert rec.model.rowCount() == len(result.mismatches) == sum(expected.values())
    assert "mismatches" in rec.status.text()
    diff = result.cash_position.difference
    assert ("overage" if diff > 0 else "shortage" if diff < 0 else "no difference") in rec.cash.text()
    reds = [r for r in range(5) if rec.totals_model.data(rec.totals_model.index(r, 3)) == "differs"]
    assert len(reds) == sum(1 for t in result.totals if not t.equal)

    # sortable by cash effect, filterable by category and by text
    rec.table.sortByColumn(6, Qt.SortOrder.AscendingOrder)
    effects = [rec.proxy.index(r, 6).data(rec.proxy.sortRole()) for r in range(rec.proxy.rowCount())]
    assert effects == sorted(effects)
    cat = next(iter(expected))
    rec.category_combo.setCurrentIndex(rec.category_combo.findData(cat))
    assert rec.proxy.rowCount() == expected[cat]
    assert all(rec.proxy.index(r, 0).data() == category_name(cat) for r in range(rec.proxy.rowCount()))
    rec.category_combo.setCurrentIndex(0)
    some = next(m for m in result.mismatches if m.tsn)
    rec.filter_edit.setText(some.tsn)
    assert 1 <= rec.proxy.rowCount() <= 3
    rec.filter_edit.clear()

    # the detail pane shows the item's banknote serials; a remark is kept
    with_notes = next(
        m for m in result.mismatches if m.tsn and any(n.tsn == m.tsn for n in d.flow.atm.notes or ())
    )
    row = next(r for r in range(rec.proxy.rowCount()) if rec.proxy.index(r, 1).data() == with_notes.tsn)
    rec.table.selectRow(row)
    assert with_notes.tsn in rec.detail.text()
    serials = {n.serial for n in d.flow.atm.notes if n.tsn == with_notes.tsn}
    shown = {rec.notes_model.rows[i].serial for i in range(rec.notes_model.rowCount())}
    assert shown == serials and shown
    rec.remark.setText("客户已来电 customer called")
    rec.remark.editingFinished.emit()
    assert rec.proxy.index(row, 8).data() == "客户已来电 customer called"
    d.next(Step.REPORT)
    d.wait_report()
    d.wait_pdf_painted()
    d.wait_db()
    store = clearing.open_store()
    try:
        remarks = store.remarks(d.wizard.session_id)
        info = store.get_session(d.wizard.session_id)
    finally:
        store.close()
    assert [(r.tsn, r.text) for r in remarks] == [(with_notes.tsn, "客户已来电 customer called")]
    assert info.state == "reviewed" and info.count_skip_reason.startswith("点钞机故障")
    assert info.mismatch_count == len(result.mismatches)
