"""An ATM that restarts, reboots or loses its cable in the middle of a frame, over real ptys.

The frame cut in two must not swallow the ATM's next frames: the client has to see the
NOSESSION answers at once and open a new session, not NAK for minutes while its framer waits
for bytes that never come (docs/protocol.md §2, "a frame cut off").
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import threading
import tty
import zlib

import orjson
import pytest

from custodian_app.link import framer
from custodian_app.link.client import AtmClient
from custodian_app.link.framer import ACCEPT, CONNECT, Deframer
from custodian_app.link.session import Session, SessionOptions
from custodian_app.link.simulator import Faults
from custodian_app.link.transport import SerialTransport

from .conftest import make_ledger, wait_for

# What a client that notices the cut frame at once needs: one or two NOSESSION answers, a
# few more on a busy machine. Before, it absorbed NOSESSION after NOSESSION (one about every
# second, for each 14 bytes the cut frame still announced) into the frame it waited for.
FEW = 5


def read_watching_nosessions(atm: AtmClient, sim) -> object:
    """Read the ledger; a read that collects more than FEW NOSESSION answers is stalled on a
    cut frame and is cancelled, so that the test fails fast instead of after minutes."""
    cancel, done = threading.Event(), threading.Event()

    def watchdog() -> None:
        if wait_for(lambda: done.is_set() or sim.stats.nosessions > FEW, 120) and not done.is_set():
            cancel.set()

    watcher = threading.Thread(target=watchdog, daemon=True)
    watcher.start()
    try:
        return atm.read_ledger(cancel=cancel)
    finally:
        done.set()
        watcher.join(5)


def test_atm_restarting_within_a_second_mid_frame_gets_a_new_session_at_once(simulators) -> None:
    ledger = make_ledger(transactions=120, notes_per=6)
    sim = simulators(
        ledger,
        faults=Faults(reboot_after=6000, reboot_seconds=0.5, mid_frame=True),
        page_size=40,
        baud=115200,
    )
    with AtmClient(sim.start_on_pty(), baud=115200, page_size=40) as atm:
        assert read_watching_nosessions(atm, sim) == ledger
        assert atm.reconnects == 1
    assert sim.stats.reboots == 1 and sim.stats.sessions == 2
    assert 1 <= sim.stats.nosessions <= FEW


def test_cable_pulled_mid_frame_on_a_socat_pair_gets_a_new_session_at_once(tmp_path, simulators) -> None:
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed; the linked-pty test needs it (apt-get install socat)")
    a, b = tmp_path / "ttyA", tmp_path / "ttyB"
    proc = subprocess.Popen(
        [socat, "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: a.exists() and b.exists() or proc.poll() is not None)
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        ledger = make_ledger(transactions=120, notes_per=6)
        # socat keeps the application's end open while the ATM's end is closed and reopened:
        # the client sees no error, only a frame that never ends
        sim = simulators(
            ledger,
            faults=Faults(disconnect_after=6000, down_seconds=0.5, mid_frame=True),
            page_size=40,
            baud=115200,
        )
        sim.serve_device(str(a))
        with AtmClient(str(b), baud=115200, page_size=40) as atm:
            assert read_watching_nosessions(atm, sim) == ledger
            assert atm.reconnects == 1
        assert sim.stats.disconnects == 1 and sim.stats.sessions == 2
        assert 1 <= sim.stats.nosessions <= FEW
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def _fragment(length: int) -> bytes:
    """The start of a frame whose intact header announces ``length`` bytes, then a few."""
    fields = bytes([ACCEPT, 0, 0, 0]) + length.to_bytes(2, "big")
    return framer.SOF + fields + (zlib.crc32(fields) & 0xFFFF).to_bytes(2, "big") + b"\x00" * 30


def test_a_fragment_announcing_65000_bytes_does_not_keep_the_session_from_opening() -> None:
    """A fake ATM on a pty answers each CONNECT with a cut frame announcing 65,000 bytes, then
    its ACCEPT: the ACCEPT must be seen (before, the session waited for the 65,000 bytes and
    gave up with "did not answer")."""
    master, slave = os.openpty()
    tty.setraw(slave)
    path = os.ttyname(slave)
    stop = threading.Event()
    answered = []

    def atm() -> None:
        deframer = Deframer()
        while not stop.is_set():
            ready, _, _ = select.select([master], [], [], 0.05)
            if not ready:
                continue
            for frame in deframer.feed(os.read(master, 4096)):
                if frame.type == CONNECT:
                    nonce = orjson.loads(frame.payload)["nonce"]
                    choice = {
                        "version": 1,
                        "compression": "none",
                        "maxFrame": 1024,
                        "window": 4,
                        "nonce": nonce,
                        "agent": "fake",
                        "terminalId": "NJ-0001",
                        "session": 1,
                    }
                    answered.append(nonce)  # before the write: the client may check it at once
                    os.write(
                        master, _fragment(65000) + framer.encode_parts(ACCEPT, 0, 0, orjson.dumps(choice))
                    )

    thread = threading.Thread(target=atm, daemon=True)
    thread.start()
    try:
        with SerialTransport(path, 115200) as transport:
            session = Session(transport, SessionOptions(connect_timeout=3.0))
            accept = session.open()
        assert accept["terminalId"] == "NJ-0001" and accept["nonce"] == answered[0]
        assert session.deframer.cut_frames >= 1
    finally:
        stop.set()
        thread.join(5)
        os.close(master)
        os.close(slave)
