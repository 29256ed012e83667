"""One ``read_ledger`` of the ATM client: the ledger's streams read over the session, resumable.

Everything still missing (totals, units, the transaction and banknote-record streams) is asked
for at once and taken in as it arrives; a lost link is reopened by the client and the read goes
on from each stream's cursor. A read that fails is kept by the client, so "Read again" continues
where it stopped.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from custodian_app.domain.formats import AtmLedger
from custodian_app.link import messages, records
from custodian_app.link.errors import (
    MAX_ATTEMPTS,
    RECOVERABLE,
    CycleChanged,
    LinkError,
    ProtocolError,
    ReadCancelled,
)
from custodian_app.link.messages import Message
from custodian_app.link.session import Pending, Session
from custodian_app.link.transport import SerialTransport

log = logging.getLogger(__name__)


class Client(Protocol):
    """What a read uses of its ``AtmClient`` (named here, not imported: the client imports
    this module)."""

    status: Any  # AtmStatus | None
    page_size: int
    _transport: SerialTransport | None
    _session: Session | None

    def connect(self) -> Any: ...

    def _reconnect(self, reason: Exception) -> None: ...

    def _session_or_connect(self) -> Session: ...

    def _layout(self) -> dict: ...

    def _result(self, pending: Pending) -> dict: ...

    def _parse(self, doc: dict) -> AtmLedger: ...


class LedgerRead:
    """The state of one read_ledger: what has arrived, where each stream's cursor is."""

    def __init__(self, client: Client, progress, cancel, on_core, want_notes: bool) -> None:
        self.client = client
        self.progress = progress
        self.cancel = cancel
        self.on_core = on_core
        self.want_notes = want_notes
        self.header: dict | None = None
        self.units: list | None = None
        self.tx: list[dict] = []
        self.tx_done = False
        self.notes: list[dict] = []
        self.notes_done = False
        self.tx_total = 0
        self.note_total = 0
        self.notes_recorded = True
        self.core_ledger: AtmLedger | None = None
        self.bytes0 = 0
        self.bytes_before = 0  # bytes of earlier sessions in this read
        self.t0 = time.monotonic()
        self.t_first: float | None = None
        self.r_first = 0
        self.cycle_id = ""

    # the bytes counter follows the transport, which is replaced on reconnect
    def _bytes(self) -> int:
        t = self.client._transport
        return self.bytes_before + (t.bytes_in if t is not None else 0) - self.bytes0

    def run(self) -> AtmLedger:
        client = self.client
        if client._session is None or client.status is None:
            client.connect()
        if self.cycle_id and client.status.cycle_id != self.cycle_id:
            # what an earlier attempt kept belongs to another cycle: start this read afresh
            self.__init__(client, self.progress, self.cancel, self.on_core, self.want_notes)
        self.cycle_id = client.status.cycle_id
        self.bytes0 = client._transport.bytes_in if client._transport else 0
        failures = 0
        while True:
            before = self._held()
            try:
                self._round()
                break
            except RECOVERABLE as exc:
                if self.cancel is not None and self.cancel.is_set():
                    raise ReadCancelled("the read was cancelled") from exc
                failures = failures + 1 if self._held() == before else 1
                if failures >= MAX_ATTEMPTS:
                    raise
                t = client._transport
                self.bytes_before += (t.bytes_in if t is not None else 0) - self.bytes0
                client._reconnect(exc)
                self.bytes0 = client._transport.bytes_in if client._transport else 0
        ledger = self._build(with_notes=True)
        self._report()
        log.info(
            "read ATM %s cycle %s: %d transactions, %d banknote records, %d bytes, %.1f s",
            ledger.terminal_id,
            ledger.cycle_id,
            len(ledger.transactions),
            len(ledger.notes or ()),
            self._bytes(),
            time.monotonic() - self.t0,
        )
        return ledger

    def _held(self) -> tuple:
        return (self.header is not None, self.units is not None, len(self.tx), len(self.notes))

    def _cancelled(self) -> bool:
        return self.cancel is not None and self.cancel.is_set()

    def _round(self) -> None:
        """One session's worth: submit everything still missing at once (the ATM answers in
        order, the line never idles), then pump until all is in. Each completion is taken in
        as it arrives, so ``on_core`` fires before the first page of banknote records."""
        session = self.client._session_or_connect()
        submitted: list[Pending] = []

        def submit(name: str, payload: dict | None = None, on_event=None) -> None:
            submitted.append(session.submit(name, payload, on_event=on_event, on_completion=self._completed))

        if self.header is None:
            submit(messages.GET_TOTALS)
        if self.units is None:
            submit(messages.GET_STORAGE)
        if not self.tx_done:
            submit(
                messages.READ_TRANSACTIONS,
                {"cycleId": self.cycle_id, "cursor": len(self.tx), "pageSize": self.client.page_size}
                | self.client._layout(),
                self._on_tx_page,
            )
        if self.want_notes and not self.notes_done:
            submit(
                messages.READ_NOTES,
                {"cycleId": self.cycle_id, "cursor": len(self.notes), "pageSize": self.client.page_size}
                | self.client._layout(),
                self._on_notes_page,
            )
        self._report()
        try:
            session.pump(lambda: all(p.done for p in submitted) or self._cancelled(), None)
            if self._cancelled():
                self._cancel_all(session, submitted)
        finally:
            for p in submitted:  # answers that still come in later are no business of this read
                p.on_event = p.on_completion = None
        if not self.want_notes:
            self.notes_done = True

    def _completed(self, pending: Pending) -> None:
        payload = self._checked(pending)
        if pending.name == messages.GET_TOTALS:
            self.header = records.decode_totals(payload)
            if self.header["cycle_id"] != self.cycle_id:
                raise CycleChanged(f"the ATM moved to cycle {self.header['cycle_id']}; read it again")
            self.tx_total = int(payload.get("transactionCount", 0))
            self.notes_recorded = bool(payload.get("notesRecorded", True))
            self.note_total = int(payload.get("noteCount", 0)) if self.want_notes else 0
        elif pending.name == messages.GET_STORAGE:
            self.units = records.decode_units(payload.get("storage"))
        elif pending.name == messages.READ_TRANSACTIONS:
            self._finish_stream(payload, self.tx, "transactions")
            self.tx_done = True
            self.core_ledger = self._build(with_notes=False)
            if self.on_core is not None:
                self.on_core(self.core_ledger)
        elif pending.name == messages.READ_NOTES:
            self._finish_stream(payload, self.notes, "notes")
            self.notes_done = True

    def _checked(self, pending: Pending) -> dict:
        msg = pending.completion
        assert msg is not None
        if msg.completion_code == messages.CANCELED:
            raise ReadCancelled("the read was cancelled")
        if msg.completion_code != messages.SUCCESS and msg.payload.get("errorCode") == "cycleChanged":
            raise CycleChanged(
                f"the ATM's cycle changed during the read: {msg.error_description or ''}; read it again"
            )
        return self.client._result(pending)

    @staticmethod
    def _finish_stream(payload: dict, got: list, what: str) -> None:
        total = payload.get("total")
        if type(total) is not int or total != len(got):
            raise ProtocolError(f"the ATM says it sent {total!r} {what}, {len(got)} arrived")

    def _cancel_all(self, session: Session, submitted: list[Pending]) -> None:
        for p in submitted:
            p.on_event = p.on_completion = None
        ids = [p.request_id for p in submitted if not p.done]
        if ids:
            cancel = session.submit(messages.CANCEL, {"requestIds": ids})
            try:
                session.pump(lambda: cancel.done and all(p.done for p in submitted), 3.0)
            except LinkError:
                pass
        raise ReadCancelled("the read was cancelled")

    def _page(self, msg: Message, got: list, kind: str) -> None:
        p = msg.payload
        cursor = p.get("cursor")
        if cursor != len(got):
            raise ProtocolError(f"the ATM sent a page at cursor {cursor!r}, expected {len(got)}")
        got.extend(records.decode_page(kind, p, msg.blob, f"the page of {kind} at cursor {cursor}"))
        if self.t_first is None:
            self.t_first = time.monotonic()
            self.r_first = len(self.tx) + len(self.notes)
        self._report()

    def _on_tx_page(self, msg: Message) -> None:
        self._page(msg, self.tx, "transactions")

    def _on_notes_page(self, msg: Message) -> None:
        self._page(msg, self.notes, "notes")

    def _report(self) -> None:
        if self.progress is None:
            return
        done = len(self.tx) + len(self.notes)
        total = max(done, self.tx_total + self.note_total)
        eta = None
        if self.t_first is not None and done > self.r_first:
            rate = (done - self.r_first) / max(1e-6, time.monotonic() - self.t_first)
            eta = (total - done) / rate if rate > 0 else None
        if (
            done >= total
            and self.header is not None
            and (self.notes_done or not self.want_notes)
            and self.tx_done
        ):
            eta = 0.0
        self.progress(self._bytes(), done, total, eta)

    def _build(self, with_notes: bool) -> AtmLedger:
        assert self.header is not None and self.units is not None
        doc: dict[str, Any] = dict(self.header, units=self.units, transactions=self.tx)
        if with_notes and self.want_notes and self.notes_recorded:
            doc["notes"] = self.notes
        return self.client._parse(doc)
