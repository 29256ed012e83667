"""The GUI thread never waits on I/O: while a large ledger is read over the pty, the event
loop keeps ticking (gaps between QTimer ticks stay under 100 ms)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QTimer

from custodian_app.domain.flow import Step

from .driver import WizardDriver

STALL_LIMIT_S = 0.100


@pytest.mark.slow
def test_the_event_loop_never_stalls_while_a_large_ledger_is_read(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic", transactions=8000)
    n_records = len(world.scenario.atm.transactions) + len(world.scenario.atm.notes)
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)

    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    # ticks count while the read is under way: until the ledger reaches the GUI thread
    timer.timeout.connect(lambda: d.flow.atm is None and ticks.append(time.perf_counter()))
    timer.start()
    page = d.page(Step.READ_ATM)
    progress_seen = []
    page.progress.valueChanged.connect(progress_seen.append)
    try:
        d.next(Step.READ_ATM)  # the read starts on the serial thread
        d.wait_read()
    finally:
        timer.stop()
    assert d.flow.atm is not None and len(d.flow.atm.notes) + len(d.flow.atm.transactions) == n_records
    gaps = [b - a for a, b in zip(ticks, ticks[1:])]
    assert len(ticks) > 20, "the read was too short to say anything"
    assert len(set(progress_seen)) > 2, "progress was not shown while reading"
    worst = max(gaps)
    assert worst < STALL_LIMIT_S, f"the event loop stalled for {worst * 1000:.0f} ms"
