"""The error paths: what the custodians see, and that they can go on from there."""

from __future__ import annotations

import dataclasses
import os

from PySide6.QtCore import Qt

from custodian_app.domain.flow import Step
from custodian_app.gui.qa.driver import SLOW, WizardDriver
from custodian_app.link.simulator import Faults


def signed_in(qtbot, ctx, **kw):
    d = WizardDriver(qtbot, ctx, **kw)
    d.sign_in()
    d.next(Step.CONNECT)
    return d


def test_a_wrong_password_keeps_next_closed(qtbot, make_ctx):
    d = WizardDriver(qtbot, make_ctx())
    d.sign_in(pb="not-bobs-password", wait_ok=False)
    page = d.page(Step.SIGN_IN)
    assert "password" in page.status.text().lower()
    assert not d.flow.authenticated and not d.next_enabled()
    assert page.password[0].text() == page.password[1].text() == ""  # never left in the fields
    d.sign_in()  # the right one goes through
    assert d.next_enabled()


def test_the_same_custodian_twice_is_refused(qtbot, make_ctx):
    d = WizardDriver(qtbot, make_ctx())
    page = d.page(Step.SIGN_IN)
    page.user[0].setText("alice")
    page.password[0].setText("alice123")
    page.user[1].setText("ALICE")
    page.password[1].setText("alice123")
    qtbot.mouseClick(page.sign_in_button, Qt.MouseButton.LeftButton)
    assert "different people" in page.status.text()
    assert not d.flow.authenticated and not d.next_enabled()


def test_a_supervisor_cannot_sign_in_as_a_custodian(qtbot, make_ctx):
    d = WizardDriver(qtbot, make_ctx())
    d.sign_in("alice", "carol", wait_ok=False)
    assert "custodian" in d.page(Step.SIGN_IN).status.text()
    assert not d.flow.authenticated


def test_no_atm_on_the_port_says_what_to_check(qtbot, make_ctx):
    master, slave = os.openpty()  # a port with nothing behind it
    try:
        d = signed_in(qtbot, make_ctx())
        d.connect(os.ttyname(slave), wait_ok=False)
        text = d.page(Step.CONNECT).status.text()
        assert "does not answer" in text and "cable" in text and "maintenance" in text
        assert not d.next_enabled() and d.wizard.session_id is None
    finally:
        os.close(master)
        os.close(slave)


def test_a_short_cable_pull_during_the_read_is_absorbed(qtbot, world_factory, make_ctx, tmp_path):
    world = world_factory(
        link=str(tmp_path / "atm"), atm_options={"faults": Faults(disconnect_after=4_000, down_seconds=0.3)}
    )
    d = signed_in(qtbot, make_ctx(world))
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    assert world.atm_sim.stats.disconnects == 1
    assert len(d.flow.atm.transactions) == len(world.scenario.atm.transactions)


def test_a_cable_left_out_stops_the_read_with_advice_and_a_retry(qtbot, world_factory, make_ctx, tmp_path):
    # 2,000 transactions: the ledger's core (~44 kB compressed) cannot have arrived when the
    # cable goes after 4 kB. With 120 transactions it is ~3.5 kB, sent before the pull, and
    # whether it arrives races with the pty's close (then Next rightly allows counting).
    world = world_factory(
        link=str(tmp_path / "atm"),
        transactions=2000,
        atm_options={"faults": Faults(disconnect_after=4_000, down_seconds=600)},
    )
    d = signed_in(qtbot, make_ctx(world))
    d.connect(world.device)
    d.next(Step.READ_ATM)
    page = d.page(Step.READ_ATM)
    qtbot.waitUntil(lambda: page.read_button.isEnabled(), timeout=SLOW)
    assert d.flow.atm is None and not d.next_enabled()
    assert "Check the cable" in page.status.text() and "Read ledger" in page.status.text()
    assert world.atm_sim.stats.disconnects == 1


def test_cancelling_the_read(qtbot, world_factory, make_ctx):
    world = world_factory(transactions=3000, atm_options={"pace": True})
    d = signed_in(qtbot, make_ctx(world))
    d.connect(world.device)
    d.next(Step.READ_ATM)
    page = d.page(Step.READ_ATM)
    qtbot.waitUntil(lambda: "records" in page.figures.text(), timeout=SLOW)
    qtbot.mouseClick(page.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.read_button.isEnabled(), timeout=SLOW)
    assert "cancelled" in page.status.text() and d.flow.atm is None


def test_backend_down_offers_retry_and_the_settlement_file(
    qtbot, world_factory, make_ctx, monkeypatch, tmp_path
):
    world = world_factory(faults="none")
    ctx = make_ctx(world, backend_url="http://127.0.0.1:9")  # nothing listens on the discard port
    d = signed_in(qtbot, ctx)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    page = d.page(Step.BACKEND)
    qtbot.waitUntil(lambda: page.fetch_button.isEnabled(), timeout=SLOW)
    assert "try again" in page.status.text() and "settlement file" in page.status.text()
    assert not d.next_enabled()

    # retry once the backend is back (the settings now point at the running simulator)
    ctx.settings = dataclasses.replace(ctx.settings, backend_url=world.url)
    qtbot.mouseClick(page.fetch_button, Qt.MouseButton.LeftButton)
    d.wait_backend()
    assert d.flow.host_source == "backend"


def test_a_settlement_file_instead_of_the_backend(qtbot, world_factory, make_ctx, monkeypatch, tmp_path):
    from custodian_app.domain import formats
    from custodian_app.gui import dialogs

    world = world_factory(faults="none")
    ctx = make_ctx(world, backend_url="")  # no backend configured: nothing is fetched
    settlement = tmp_path / "settlement.json"
    settlement.write_bytes(formats.dumps(formats.host_ledger_to_dict(world.scenario.host)))
    wrong = tmp_path / "other-cycle.json"
    other = dataclasses.replace(world.scenario.host, cycle_id="NJ-0001-19990101")
    wrong.write_bytes(formats.dumps(formats.host_ledger_to_dict(other)))
    chosen = iter([str(wrong), str(settlement)])
    monkeypatch.setattr(dialogs, "choose_open_file", lambda parent, title, filters, cb: cb(next(chosen)))

    d = signed_in(qtbot, ctx)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    page = d.page(Step.BACKEND)
    assert "not configured" in page.where.text() and page.fetch_button.isEnabled()
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: page.import_button.isEnabled(), timeout=SLOW)
    assert d.flow.host is None and "19990101" in page.status.text()  # another cycle's file
    qtbot.mouseClick(page.import_button, Qt.MouseButton.LeftButton)
    d.wait_backend()
    assert d.flow.host_source == "settlement file" and "settlement file" in page.status.text()
    assert "Loading amount" in page.summary.text()


def test_an_atm_already_being_cleared_is_refused_at_connect(qtbot, world_factory, make_ctx):
    from custodian_app import clearing

    world = world_factory(faults="none")
    store = clearing.open_store()
    try:  # another PC holds an open clearing of the same ATM
        users = [
            clearing.authenticate(store, n, p, role="custodian")
            for n, p in (("alice", "alice123"), ("bob", "bob12345"))
        ]
        store.open_session(world.scenario.atm.terminal_id, *users, host="PC-7")
    finally:
        store.close()
    d = signed_in(qtbot, make_ctx(world))
    d.connect(world.device, wait_ok=False)
    text = d.page(Step.CONNECT).status.text()
    assert "already being cleared" in text and "PC-7" in text
    assert not d.next_enabled() and d.wizard.session_id is None
