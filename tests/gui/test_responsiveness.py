"""The GUI thread never waits on I/O: while a large ledger is read over the pty, the event
loop keeps ticking (gaps between QTimer ticks stay under 100 ms)."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from custodian_app.domain import formats
from custodian_app.domain.flow import Step
from custodian_app.domain.generator import generate

from .driver import WizardDriver

STALL_LIMIT_S = 0.100
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def atm_process(tmp_path):
    """The ATM simulator in its own process, as the ATM is in the field: only the
    application's own work competes with its event loop. At 1 Mbaud (the fastest USB serial
    adapters run at 921,600 baud; an ATM's maintenance port at 115,200): at 4 Mbaud the
    decoding of pages kept one core busy in Python, and its share of the interpreter lock
    decided the window's gaps more than anything the application does at a real line speed."""
    scenario = generate(11, 8000, "realistic")
    ledger = tmp_path / "atm.json"
    ledger.write_bytes(formats.dumps(formats.atm_ledger_to_dict(scenario.atm)))
    records = len(scenario.atm.transactions) + len(scenario.atm.notes)
    del scenario
    gc.collect()
    link = tmp_path / "atm-port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "custodian_app", "simulate-atm", "--ledger", str(ledger), "--link", str(link),
         "--baud", "1000000"], cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    drain = None
    try:
        first = proc.stderr.readline()  # "simulating ATM …" once the pty is there, or its error
        assert "simulating ATM" in first and link.exists(), first + proc.stderr.read()
        drain = threading.Thread(target=proc.stderr.read)  # keep its log from filling the pipe
        drain.start()
        yield str(link), records
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if drain is not None:
            drain.join(10)
        proc.stderr.close()


@pytest.mark.slow
def test_the_event_loop_never_stalls_while_a_large_ledger_is_read(qtbot, make_ctx, atm_process):
    device, n_records = atm_process
    ctx = make_ctx(serial_port=device)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(device)

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
