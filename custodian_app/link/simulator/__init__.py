"""An ATM that speaks the maintenance-port protocol, served from an atm-ledger/1.

    sim = AtmSimulator(ledger, baud=115200)
    device = sim.start_on_pty()           # background thread; give `device` to the client
    ...
    sim.stop()

It runs the ATM side of docs/protocol.md on one background thread: sessions, every command,
the replenishment exchange (which opens a new, empty cycle), unsolicited events. Because a
pseudo-terminal moves bytes at memory speed, it paces what it sends to the stated line speed
(8N1: baud/10 bytes per second) and delays what it receives the same way, so timings are those
of a real RS-232 line. Faults for tests: corrupt or drop bytes (both directions, seeded),
stall, pull the cable (close the pty; with a link path, a new pty appears behind the same
symlink), reboot (the session is forgotten, the cycle is kept).
"""

from __future__ import annotations

from custodian_app.link.simulator.atm import AGENT, LINE_SPEEDS, AtmSimulator
from custodian_app.link.simulator.commands import COMMANDS, MAX_PAGE
from custodian_app.link.simulator.faults import Faults, SimStats

__all__ = ["AtmSimulator", "Faults", "SimStats", "AGENT", "LINE_SPEEDS", "COMMANDS", "MAX_PAGE"]
