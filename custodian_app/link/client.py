"""The application's side of the ATM link: a blocking API for ONE I/O thread.

    with AtmClient("/dev/ttyUSB0", baud=115200) as atm:
        status = atm.connect()
        ledger = atm.read_ledger(progress=cb, cancel=event, on_core=show_totals)

Every method blocks until done and must be called from the same thread (the GUI wraps the
client in its own worker thread; callbacks run on that thread). A pulled cable, an ATM
reboot or a stalled line are absorbed: the client reopens the port and the session for up to
``reconnect_timeout`` seconds and resumes a read from its last cursor; only then does it give
up with a LinkError whose message says what to do.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from custodian_app.domain import formats
from custodian_app.domain.formats import AtmLedger, FormatError, NoteRecord, Unit
from custodian_app.link import messages, records
from custodian_app.link.errors import (
    MAX_ATTEMPTS,
    RECOVERABLE,
    AtmRefused,
    AtmSourceLost,
    CycleChanged,
    LinkClosed,
    LinkError,
    LinkReset,
    ProtocolError,
    ReadCancelled,
)
from custodian_app.link.ledger_read import LedgerRead
from custodian_app.link.messages import Message
from custodian_app.link.session import PROTOCOL_VERSIONS, Pending, Session, SessionOptions
from custodian_app.link.sources import SourceHealth, parse_sources
from custodian_app.link.transport import SerialTransport

# progress(bytes received, records received, records in all, estimated seconds left or None)
ProgressCallback = Callable[[int, int, int, "float | None"], None]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class AtmStatus:
    terminal_id: str
    cycle_id: str
    currency: str
    cycle_state: str  # open | closed | exchange
    opened_at: str
    closed_at: str | None
    protocol_version: int
    compression: str
    max_frame: int
    window: int
    line_speed: int
    line_speeds: tuple[int, ...]
    transaction_count: int
    note_count: int
    safe_door: str = "closed"
    agent: str = ""
    commands: tuple[str, ...] = ()
    record_layout: int = 1  # the record-page layout both sides know (records.choose_layout)
    # the agent's sources: name -> SourceHealth (empty from an agent that does not say)
    sources: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def troubled_sources(self) -> list[SourceHealth]:
        """The sources that are lost or in error, in the order the agent lists them."""
        return [s for s in self.sources.values() if s.state in ("lost", "error")]


@dataclass(slots=True)
class AtmEvent:
    """Something the ATM reported on its own (e.g. the safe door was opened)."""

    name: str
    payload: dict


class AtmClient:
    def __init__(
        self,
        url: str,
        baud: int = 115200,
        *,
        versions: tuple[int, ...] = PROTOCOL_VERSIONS,
        compression: tuple[str, ...] = ("zlib", "none"),
        max_frame: int = 4096,
        window: int = 8,
        connect_timeout: float = 10.0,
        response_timeout: float = 5.0,
        reconnect_timeout: float = 30.0,
        command_timeout: float = 30.0,
        page_size: int = 500,
        on_event: Callable[[AtmEvent], None] | None = None,
        record_layouts: tuple[int, ...] = records.LAYOUTS,
    ) -> None:
        self.url = url
        self.baud = baud
        self.options = SessionOptions(
            versions=tuple(versions),
            compression=tuple(compression),
            max_frame=max_frame,
            window=window,
            connect_timeout=connect_timeout,
            response_timeout=response_timeout,
            probe_interval=max(0.2, response_timeout / 4),
        )
        self.reconnect_timeout = reconnect_timeout
        self.command_timeout = command_timeout
        self.page_size = page_size
        self.record_layouts = tuple(record_layouts)
        self.on_event = on_event
        self.events: deque[AtmEvent] = deque(maxlen=1000)  # unsolicited, until poll_events
        self.status: AtmStatus | None = None
        self.reconnects = 0
        self._transport: SerialTransport | None = None
        self._session: Session | None = None
        self._cancel: threading.Event | None = None
        self._unfinished: LedgerRead | None = None  # a read that failed, kept to resume

    # ------------------------------------------------------------------ connection
    def __enter__(self) -> AtmClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def connect(self) -> AtmStatus:
        """Open the port and the session; return the ATM's status and capabilities."""
        try:
            self._open()
        except (LinkClosed, LinkReset) as exc:
            # the line dropped during the opening handshake: try again like any reconnect
            # (a port that does not exist or an ATM that never answers fails at once)
            self._reconnect(exc)
            assert self.status is not None
            return self.status
        return self.read_status()

    def _open(self, connect_timeout: float | None = None) -> None:
        self._drop()
        transport = SerialTransport(self.url, self.baud)
        transport.open()
        options = self.options
        if connect_timeout is not None:
            options = replace(options, connect_timeout=min(options.connect_timeout, connect_timeout))
        session = Session(transport, options, on_unsolicited=self._unsolicited)
        try:
            session.open()
        except BaseException:
            transport.close()
            raise
        self._transport, self._session = transport, session
        acc = session.accept
        log.info(
            "session open with ATM %s on %s: protocol %s, %s, frames %s, window %s, agent %s",
            acc.get("terminalId"),
            self.url,
            acc.get("version"),
            acc.get("compression"),
            acc.get("maxFrame"),
            acc.get("window"),
            acc.get("agent"),
        )

    def _drop(self) -> None:
        session, transport = self._session, self._transport
        self._session = self._transport = None
        if session is not None:
            session.close(polite=False)
        if transport is not None:
            transport.close()

    def close(self) -> None:
        """End the session politely and close the port. Safe to call twice."""
        session, transport = self._session, self._transport
        self._session = self._transport = None
        if session is not None:
            try:
                session.drain(0.5)
            except LinkError:
                pass
            session.close(polite=True)
        if transport is not None:
            transport.close()

    def _reconnect(self, reason: Exception) -> None:
        """Reopen port and session until ``reconnect_timeout``; the ATM must still be in the
        same cycle (else CycleChanged). Raises the last error when it never comes back."""
        log.warning(
            "link to the ATM on %s lost (%s); reconnecting for up to %.0f s",
            self.url,
            reason,
            self.reconnect_timeout,
        )
        self._drop()
        deadline = time.monotonic() + self.reconnect_timeout
        last: Exception = reason
        before = self.status
        while time.monotonic() < deadline:
            if self._cancel is not None and self._cancel.is_set():
                raise ReadCancelled("the read was cancelled while the link was down")
            try:
                self._open(connect_timeout=max(0.3, deadline - time.monotonic()))
                status = self._read_status(retry=False)
                break
            except RECOVERABLE as exc:
                last = exc
                self._drop()
                waiter = self._cancel or threading.Event()
                waiter.wait(0.1)  # the cable is out: try again shortly
        else:
            if isinstance(last, LinkError):
                raise type(last)(
                    f"{last} (gave up reconnecting after {self.reconnect_timeout:.0f} s)"
                ) from reason
            raise LinkClosed("the ATM did not come back") from reason
        self.reconnects += 1
        log.info("reconnected to the ATM on %s (reconnect %d)", self.url, self.reconnects)
        if before is not None and (status.terminal_id, status.cycle_id) != (
            before.terminal_id,
            before.cycle_id,
        ):
            raise CycleChanged(
                f"after reconnecting, the ATM is {status.terminal_id} in cycle {status.cycle_id}, not "
                f"{before.terminal_id} in cycle {before.cycle_id}; read the ATM again"
            )

    def _session_or_connect(self) -> Session:
        if self._session is None:
            self._open()
        assert self._session is not None
        return self._session

    def _unsolicited(self, msg: Message) -> None:
        ev = AtmEvent(msg.name, dict(msg.payload))
        if msg.name == messages.STATUS_CHANGED and "sources" in msg.payload and self.status is not None:
            self.status.sources = parse_sources(msg.payload["sources"])
        self.events.append(ev)
        if self.on_event is not None:
            self.on_event(ev)

    # ------------------------------------------------------------------ one command
    def _call(
        self, name: str, payload: dict | None = None, *, retry: bool = True, timeout: float | None = None
    ) -> dict:
        """Send one command and wait for its completion; reconnect and resend on link loss
        when ``retry`` (only for commands that are safe to repeat)."""
        return self._call_message(name, payload, retry=retry, timeout=timeout).payload

    def _call_message(
        self, name: str, payload: dict | None = None, *, retry: bool = True, timeout: float | None = None
    ) -> Message:
        """``_call``, returning the whole completion (with its binary attachment, if any)."""
        for attempt in range(MAX_ATTEMPTS):
            session = self._session_or_connect()
            try:
                pending = session.submit(name, payload)
                session.pump(lambda pending=pending: pending.done, timeout or self.command_timeout)
                self._result(pending)
                assert pending.completion is not None
                return pending.completion
            except RECOVERABLE as exc:
                if not retry or attempt == MAX_ATTEMPTS - 1:
                    raise
                self._reconnect(exc)
        raise AssertionError("unreachable")

    @staticmethod
    def _result(pending: Pending) -> dict:
        msg = pending.completion
        assert msg is not None
        p = msg.payload
        if msg.completion_code != messages.SUCCESS and p.get("errorCode") == "sourceUnavailable":
            raise AtmSourceLost(
                pending.name,
                str(p.get("source", "?")),
                str(p.get("state", "lost")),
                str(p.get("en") or msg.error_description or ""),
                str(p.get("zh") or ""),
            )
        if msg.completion_code != messages.SUCCESS:
            raise AtmRefused(
                pending.name,
                msg.completion_code or "?",
                msg.payload.get("errorCode"),
                msg.error_description or msg.payload.get("errorDescription") or "",
            )
        return msg.payload

    # ------------------------------------------------------------------ commands
    def read_status(self) -> AtmStatus:
        """Status and capabilities of the ATM (also kept in ``.status``)."""
        return self._read_status(retry=True)

    def _read_status(self, retry: bool) -> AtmStatus:
        status = self._call(messages.STATUS, retry=retry)
        caps = self._call(messages.CAPABILITIES, retry=retry)
        session = self._session
        assert session is not None
        acc = session.accept
        try:
            self.status = AtmStatus(
                terminal_id=status["terminalId"],
                cycle_id=status["cycleId"],
                currency=status["currency"],
                cycle_state=status["cycleState"],
                opened_at=status["openedAt"],
                closed_at=status.get("closedAt"),
                protocol_version=acc["version"],
                compression=acc.get("compression", "none"),
                max_frame=session.endpoint.max_payload if session.endpoint else acc.get("maxFrame", 0),
                window=session.endpoint.window if session.endpoint else acc.get("window", 1),
                line_speed=int(status.get("lineSpeed", self.baud)),
                line_speeds=tuple(int(s) for s in caps.get("lineSpeeds", ())),
                transaction_count=int(status.get("transactionCount", 0)),
                note_count=int(status.get("noteCount", 0)),
                safe_door=str(status.get("safeDoor", "closed")),
                agent=str(acc.get("agent", "")),
                commands=tuple(caps.get("commands", ())),
                sources=parse_sources(status.get("sources")),
                record_layout=records.choose_layout(self.record_layouts, caps),
                raw={"status": status, "capabilities": caps},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ProtocolError(f"the ATM's status is incomplete ({exc})") from exc
        return self.status

    def read_units(self) -> list[Unit]:
        """The storage units (cassettes) with their XFS4IoT counters."""
        storage = self._call(messages.GET_STORAGE).get("storage")
        header = self._header()
        doc = dict(header, units=records.decode_units(storage), transactions=[])
        return self._parse(doc).units

    def _header(self) -> dict:
        return records.decode_totals(self._call(messages.GET_TOTALS))

    def read_notes_for_tsn(self, tsn: str) -> list[NoteRecord]:
        """The banknote records (冠字号) of one transaction."""
        cycle = self._cycle_id()
        msg = self._call_message(messages.GET_NOTES_FOR_TSN, {"cycleId": cycle, "tsn": tsn} | self._layout())
        found = records.decode_page("notes", msg.payload, msg.blob, f"the banknote records of TSN {tsn}")
        header = self._header()
        doc = dict(header, units=[], transactions=[], notes=found)
        notes = self._parse(doc).notes
        return list(notes or ())

    def close_cycle(self) -> str:
        """Close the current cycle (no more transactions); returns its closing time."""
        return str(self._call(messages.CLOSE_CYCLE, {"cycleId": self._cycle_id()})["closedAt"])

    def start_exchange(self) -> None:
        """Storage.StartExchange: the custodians are about to take the cassettes out."""
        try:
            self._call(messages.START_EXCHANGE, {}, retry=False)
        except AtmRefused as exc:
            # An exchange already active was left by an earlier attempt (its EndExchange
            # refused, or the line or the application lost before it): the ATM refuses a second
            # StartExchange with sequenceError. Finishing that exchange is this attempt's job.
            if exc.completion_code != messages.SEQUENCE_ERROR or self.read_status().cycle_state != "exchange":
                raise
            log.info("the ATM's exchange was already started; going on with EndExchange")
        except RECOVERABLE as exc:
            # Not blindly repeated: it may have been done before the line dropped.
            self._reconnect(exc)
            if self.status is None or self.status.cycle_state != "exchange":
                self._call(messages.START_EXCHANGE, {}, retry=False)
        if self.status is not None:
            self.status.cycle_state = "exchange"

    def end_exchange(self, initial_counts: dict[str, int]) -> str:
        """Storage.EndExchange with the new loaded count of EVERY unit: opens the next cycle.
        Returns the new cycle id."""
        for uid, n in initial_counts.items():
            if type(n) is not int or n < 0:
                raise ValueError(f"unit {uid}: the loaded count must be a whole number >= 0, not {n!r}")
        units = {uid: {"initial": n} for uid, n in initial_counts.items()}
        # Not blindly repeated after a link loss: it may have been done; check the cycle instead.
        before = self._cycle_id()
        try:
            result = self._call(messages.END_EXCHANGE, {"units": units}, retry=False)
        except RECOVERABLE as exc:
            self._reconnect_any(exc)
            status = self.read_status()
            if status.cycle_id != before:
                return status.cycle_id
            result = self._call(messages.END_EXCHANGE, {"units": units}, retry=False)
        new_cycle = str(result["cycleId"])
        if self.status is not None:  # a reconnect from here on expects the new cycle
            self.status.cycle_id, self.status.cycle_state = new_cycle, "open"
        self.read_status()
        return new_cycle

    def _reconnect_any(self, exc: Exception) -> None:
        saved, self.status = self.status, None  # the cycle may change: no same-cycle check
        try:
            self._reconnect(exc)
        finally:
            if self.status is None:
                self.status = saved

    def set_line_speed(self, baud: int) -> None:
        """Ask the ATM to switch the line to ``baud``; both sides switch after the answer."""
        self._call(messages.SET_LINE_SPEED, {"lineSpeed": int(baud)}, retry=False)
        session = self._session
        assert session is not None and self._transport is not None
        session.drain(1.0)
        self._transport.set_baud(int(baud))
        if session.endpoint is not None:
            session.endpoint.line_rate = baud / 10.0
        self.read_status()

    def poll_events(self, timeout: float = 0.0) -> list[AtmEvent]:
        """Run the line for up to ``timeout`` s and return the unsolicited events seen so far."""
        session = self._session_or_connect()
        end = time.monotonic() + timeout
        try:
            session.pump(lambda: time.monotonic() >= end, None)
        except RECOVERABLE as exc:
            self._reconnect_any(exc)
        out = list(self.events)
        self.events.clear()
        return out

    def _layout(self) -> dict:
        """The ``layout`` key of a read command: asked for only when beyond layout 1, so that
        an ATM agent that knows no layouts gets the commands it has always had."""
        layout = self.status.record_layout if self.status is not None else 1
        return {"layout": layout} if layout > 1 else {}

    def _cycle_id(self) -> str:
        if self.status is None:
            self.read_status()
        assert self.status is not None
        return self.status.cycle_id

    def _parse(self, doc: dict) -> AtmLedger:
        try:
            return formats.parse_atm_ledger(doc, f"ATM {doc.get('terminal_id', '?')}")
        except FormatError as exc:
            raise ProtocolError(f"the ATM sent records that are not a valid ledger: {exc}") from exc

    # ------------------------------------------------------------------ the ledger
    def read_ledger(
        self,
        progress: ProgressCallback | None = None,
        cancel: threading.Event | None = None,
        on_core: Callable[[AtmLedger], None] | None = None,
        *,
        notes: bool = True,
    ) -> AtmLedger:
        """Read the whole current cycle.

        The core (totals, units, transactions) comes first; ``on_core(ledger_without_notes)``
        is called as soon as it is complete, so the reconciliation can start while the
        banknote records are still arriving. ``progress(bytes, records, total_records,
        eta_seconds)`` is called after every page. Setting ``cancel`` stops the read
        (ReadCancelled). A lost link is reopened and the read resumes from its cursor.
        """
        self._cancel = cancel
        # A read that failed (the cable stayed out past the reconnect deadline) is kept, so
        # the custodians' "Read again" continues from its cursors instead of from zero; it is
        # dropped when the ATM has moved to another cycle meanwhile (see LedgerRead.run).
        reader = self._unfinished
        if reader is None or reader.want_notes != notes:
            reader = LedgerRead(self, progress, cancel, on_core, notes)
        else:
            reader.progress, reader.cancel, reader.on_core = progress, cancel, on_core
        self._unfinished = reader
        try:
            ledger = reader.run()
        except (ReadCancelled, CycleChanged):
            self._unfinished = None
            raise
        finally:
            self._cancel = None
        self._unfinished = None
        return ledger
