"""What the ATM side of the maintenance-port protocol serves from: a *source*.

The serving code (``custodian_app.link.simulator``: the line, the session, the commands) asks a
source for the cycle's ledger, the storage units, and to close the cycle or carry out the
replenishment exchange. It runs on the one serial thread and must never wait there, so every
question that may take time returns a ``concurrent.futures.Future``; the serving code answers
the command once the future is done (``AtmSource.attach(wake)`` tells the source how to wake
the serial thread when one completes). ``info()`` and ``states()`` never wait: they give what
the source last knew, for the status message.

Two kinds of source:
- ``StaticSource`` (``agent/static.py``): one atm-ledger/1 held in memory; the simulator's and
  the demo-less tests' ATM (``simulate-atm``);
- ``AtmPcSource`` (``agent/real.py``): the ATM PC's own records: counters from XFS4IoT, the
  ledger from the electronic journal, the banknote trail from the FSN files (``atm-agent``).

A source that cannot give something raises ``SourceUnavailable`` (through the future) naming
itself; the serving code answers that command with ``commandErrorCode``/``sourceUnavailable``
and keeps answering everything else (docs/agent.md, "Status words").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass

from custodian_app.domain.errors import CustodianError

# The sources an agent may have, in the order the status lists them.
XFS4IOT = "xfs4iot"
JOURNAL = "journal"
FSN = "fsn"
MEMORY = "memory"  # the static source's ledger held in memory
SOURCE_NAMES = (XFS4IOT, JOURNAL, FSN, MEMORY)

# Status words of a source (docs/protocol.md, Common.Status `sources`).
OK = "ok"  # answering
LOST = "lost"  # cannot be reached or read (socket dropped, no answer, folder unreadable)
ERROR = "error"  # reached, but it answered with an error (a hardware fault, a malformed file)
OFF = "off"  # not configured on this agent
STATES = (OK, LOST, ERROR, OFF)


@dataclass(frozen=True, slots=True)
class SourceState:
    """How one source is doing, in words for the custodians (English and Chinese)."""

    name: str
    state: str
    english: str = ""
    chinese: str = ""

    def to_wire(self) -> dict:
        out: dict = {"state": self.state}
        if self.english:
            out["en"] = self.english
        if self.chinese:
            out["zh"] = self.chinese
        return out


@dataclass(frozen=True, slots=True)
class CycleInfo:
    """What the status message says of the cycle (the last the source knew)."""

    terminal_id: str
    cycle_id: str
    currency: str
    state: str  # open | closed | exchange
    opened_at: str
    closed_at: str | None
    transaction_count: int
    note_count: int


class SourceUnavailable(CustodianError):
    """A source the command needs is lost, in error, or not configured. ``source`` names it."""

    def __init__(self, source: str, state: str, english: str, chinese: str) -> None:
        self.source = source
        self.state = state
        self.english = english
        self.chinese = chinese
        super().__init__(f"{english} / {chinese}")


class ExchangeRefused(CustodianError, ValueError):
    """The new cycle's counts do not fit the units; nothing was changed."""


def done(value) -> Future:
    """A future that is already resolved (a source that needs no waiting)."""
    fut: Future = Future()
    fut.set_result(value)
    return fut


def failed(exc: BaseException) -> Future:
    fut: Future = Future()
    fut.set_exception(exc)
    return fut


class AtmSource:
    """The questions the serving code asks. Every method is called on the serial thread."""

    agent = "custodian-atm-agent"

    def attach(self, wake: Callable[[], None]) -> None:
        """``wake()`` (thread-safe) makes the serial thread look at its futures again."""

    def info(self) -> CycleInfo:
        raise NotImplementedError

    def states(self) -> Mapping[str, SourceState]:
        raise NotImplementedError

    def cycle(self) -> Future:
        """Future of the current cycle's AtmLedger: header, totals, transactions and banknote
        records (``notes`` None when none are recorded). Its ``units`` may be stale: the
        storage units are asked with ``units()``."""
        raise NotImplementedError

    def units(self) -> Future:
        """Future of the storage units (list[Unit]) with their counters now."""
        raise NotImplementedError

    def close_cycle(self, now: str) -> Future:
        """Future of the CycleInfo once the cycle is closed (``closed_at`` = ``now`` unless
        the cycle already has a closing time)."""
        raise NotImplementedError

    def start_exchange(self, now: str) -> CycleInfo:
        """Close the cycle and enter the exchange (bookkeeping only: the ATM's own exchange
        happens at ``exchange``)."""
        raise NotImplementedError

    def exchange(self, initial: Mapping[str, int], now: str) -> Future:
        """Load the new cycle: every unit's new initial count. Future of the new CycleInfo;
        ExchangeRefused when the counts do not fit (nothing changed)."""
        raise NotImplementedError

    def tick(self, now: float) -> None:
        """Called on the serial thread between its steps: background checks, never waiting."""

    def close(self) -> None:
        """Release what the source holds (threads, sockets). Safe to call twice."""
