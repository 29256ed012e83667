"""The ATM's side of each command, served from a source (custodian_app.agent.source): status,
storage, totals, pages of transactions and banknote records, closing the cycle, and the
replenishment exchange that opens a new cycle.

Each handler is a generator of the messages it answers. A source's answers come as futures;
while one is not done the handler yields None ("not yet") and the line keeps running, so the
serial thread never waits on XFS4IoT or on a journal being read.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime

from custodian_app.agent.source import AtmSource, ExchangeRefused, SourceUnavailable
from custodian_app.link import messages, records
from custodian_app.link.messages import Message

COMMANDS = (
    messages.STATUS,
    messages.CAPABILITIES,
    messages.CANCEL,
    messages.SET_LINE_SPEED,
    messages.GET_STORAGE,
    messages.START_EXCHANGE,
    messages.END_EXCHANGE,
    messages.GET_TOTALS,
    messages.READ_TRANSACTIONS,
    messages.READ_NOTES,
    messages.GET_NOTES_FOR_TSN,
    messages.CLOSE_CYCLE,
)
MAX_PAGE = 5000
SOURCE_UNAVAILABLE = "sourceUnavailable"  # payload.errorCode when a source the command needs is lost


def _wait(fut: Future):
    """``x = yield from _wait(fut)``: yield None until the future is done, then its result."""
    while not fut.done():
        yield None
    return fut.result()


class AtmCommands:
    """The command handlers of ``AtmSimulator``; each is a generator of the messages it answers."""

    source: AtmSource
    record_layouts: tuple[int, ...] = records.LAYOUTS  # a test sets (1,) to play an older agent

    def _handler(self, cmd: Message) -> Iterator[Message | None]:
        handler = {
            messages.STATUS: self._status,
            messages.CAPABILITIES: self._capabilities,
            messages.GET_STORAGE: self._storage,
            messages.GET_TOTALS: self._totals,
            messages.READ_TRANSACTIONS: self._read_transactions,
            messages.READ_NOTES: self._read_notes,
            messages.GET_NOTES_FOR_TSN: self._notes_for_tsn,
            messages.CLOSE_CYCLE: self._close_cycle,
            messages.START_EXCHANGE: self._start_exchange,
            messages.END_EXCHANGE: self._end_exchange,
            messages.SET_LINE_SPEED: self._set_line_speed,
        }.get(cmd.name)
        if handler is None:
            return self._unsupported(cmd)
        return self._guarded(cmd, handler(cmd))

    def _guarded(self, cmd: Message, gen: Iterator[Message | None]) -> Iterator[Message | None]:
        """A source that cannot answer ends the command with sourceUnavailable, naming it."""
        try:
            yield from gen
        except SourceUnavailable as exc:
            yield messages.completion(
                cmd,
                messages.COMMAND_ERROR,
                {
                    "errorCode": SOURCE_UNAVAILABLE,
                    "source": exc.source,
                    "state": exc.state,
                    "en": exc.english,
                    "zh": exc.chinese,
                },
                str(exc),
            )

    def _unsupported(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(
            cmd, messages.UNSUPPORTED_COMMAND, description=f"{cmd.name} is not a command of this ATM"
        )

    @staticmethod
    def _error(cmd: Message, error_code: str, description: str) -> Message:
        return messages.completion(cmd, messages.COMMAND_ERROR, {"errorCode": error_code}, description)

    def status_payload(self) -> dict:
        info = self.source.info()
        return {
            "terminalId": info.terminal_id,
            "cycleId": info.cycle_id,
            "currency": info.currency,
            "cycleState": info.state,
            "openedAt": info.opened_at,
            "closedAt": info.closed_at,
            "lineSpeed": self.baud,
            "transactionCount": info.transaction_count,
            "noteCount": info.note_count,
            "safeDoor": self.safe_door,
            "agent": self.agent,
            "sources": {name: st.to_wire() for name, st in self.source.states().items()},
        }

    def _status(self, cmd: Message) -> Iterator[Message | None]:
        try:  # the cycle as it is now, if the source can say; else what it last knew
            yield from _wait(self.source.cycle())
        except SourceUnavailable:
            pass
        yield messages.completion(cmd, payload=self.status_payload())

    def _capabilities(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(
            cmd,
            payload={
                "protocolVersions": list(self.versions),
                "compression": list(self.compression),
                "maxFrame": self.max_frame,
                "window": self.window,
                "lineSpeeds": list(self.line_speeds),
                "commands": list(COMMANDS),
                "maxPageSize": MAX_PAGE,
                "recordLayouts": list(self.record_layouts),
            },
        )

    def _layout(self, cmd: Message) -> int | None:
        """The record layout a read asks for (1 when it does not say); None: one we do not know."""
        layout = cmd.payload.get("layout", 1)
        return layout if type(layout) is int and layout in self.record_layouts else None

    def _storage(self, cmd: Message) -> Iterator[Message | None]:
        units = yield from _wait(self.source.units())
        yield messages.completion(cmd, payload={"storage": records.encode_units(units)})

    def _totals(self, cmd: Message) -> Iterator[Message | None]:
        ledger = yield from _wait(self.source.cycle())
        yield messages.completion(cmd, payload=records.encode_totals(ledger))

    def _wrong_cycle(self, cmd: Message, cycle_id: str) -> Message | None:
        cycle = cmd.payload.get("cycleId")
        if cycle is not None and cycle != cycle_id:
            return self._error(cmd, "cycleChanged", f"the current cycle is {cycle_id}, not {cycle}")
        return None

    def _bad_layout(self, cmd: Message) -> Message:
        return messages.completion(
            cmd, messages.INVALID_DATA, description=f"layout must be one of {list(self.record_layouts)}"
        )

    def _stream(self, cmd: Message, items_of, kind: str, event_name: str) -> Iterator[Message | None]:
        layout = self._layout(cmd)
        if layout is None:
            yield self._bad_layout(cmd)
            return
        ledger = yield from _wait(self.source.cycle())
        wrong = self._wrong_cycle(cmd, ledger.cycle_id)
        if wrong is not None:
            yield wrong
            return
        items = items_of(ledger)
        cursor = cmd.payload.get("cursor", 0)
        size = cmd.payload.get("pageSize", self.page_size)
        if type(cursor) is not int or not 0 <= cursor <= len(items):
            yield self._error(cmd, "cursorInvalid", f"cursor must be 0..{len(items)}, not {cursor!r}")
            return
        if type(size) is not int or size < 1:
            yield messages.completion(cmd, messages.INVALID_DATA, description="pageSize must be >= 1")
            return
        size = min(size, MAX_PAGE)
        total = len(items)
        self.stats.cursors.append((cmd.name, cursor))
        while cursor < total:
            end = min(total, cursor + size)
            page, blob = records.encode_page(kind, items[cursor:end], layout, ledger.opened_at)
            page.update(cursor=cursor, nextCursor=end, total=total)
            yield messages.event(event_name, cmd.request_id, page, blob)
            cursor = end
        yield messages.completion(cmd, payload={"total": total, "cursor": total})

    def _read_transactions(self, cmd: Message) -> Iterator[Message | None]:
        return self._stream(cmd, lambda lg: lg.transactions, "transactions", messages.TRANSACTIONS_PAGE)

    def _read_notes(self, cmd: Message) -> Iterator[Message | None]:
        return self._stream(cmd, lambda lg: lg.notes or [], "notes", messages.NOTES_PAGE)

    def _notes_for_tsn(self, cmd: Message) -> Iterator[Message | None]:
        layout = self._layout(cmd)
        if layout is None:
            yield self._bad_layout(cmd)
            return
        ledger = yield from _wait(self.source.cycle())
        wrong = self._wrong_cycle(cmd, ledger.cycle_id)
        if wrong is not None:
            yield wrong
            return
        tsn = cmd.payload.get("tsn")
        if type(tsn) is not str:
            yield messages.completion(cmd, messages.INVALID_DATA, description="tsn must be a string")
            return
        found = [n for n in ledger.notes or () if n.tsn == tsn]
        page, blob = records.encode_page("notes", found, layout, ledger.opened_at)
        page["tsn"] = tsn
        yield messages.completion(cmd, payload=page, blob=blob)

    def _now(self) -> str:
        """Now, in the time zone of the cycle's opening (the ATM's clock)."""
        opened = self.source.info().opened_at
        try:
            tz = datetime.fromisoformat(opened.replace("Z", "+00:00")).tzinfo
        except ValueError:
            tz = None
        now = datetime.now(tz) if tz is not None else datetime.now().astimezone()
        return now.replace(microsecond=0).isoformat()

    def _close_cycle(self, cmd: Message) -> Iterator[Message | None]:
        wrong = self._wrong_cycle(cmd, self.source.info().cycle_id)
        if wrong is not None:
            yield wrong
            return
        info = yield from _wait(self.source.close_cycle(self._now()))
        yield messages.completion(cmd, payload={"cycleId": info.cycle_id, "closedAt": info.closed_at})

    def _start_exchange(self, cmd: Message) -> Iterator[Message]:
        if self.source.info().state == "exchange":
            yield messages.completion(
                cmd, messages.SEQUENCE_ERROR, description="an exchange is already active"
            )
            return
        info = self.source.start_exchange(self._now())
        yield messages.completion(cmd, payload={"cycleId": info.cycle_id})

    def _end_exchange(self, cmd: Message) -> Iterator[Message | None]:
        if self.source.info().state != "exchange":
            yield messages.completion(
                cmd, messages.SEQUENCE_ERROR, description="Storage.StartExchange must come first"
            )
            return
        units = cmd.payload.get("units")
        if type(units) is not dict:
            yield messages.completion(
                cmd, messages.INVALID_DATA, description="units must map unit id to {initial}"
            )
            return
        initial = {
            uid: (entry.get("initial") if type(entry) is dict else None) for uid, entry in units.items()
        }
        try:
            info = yield from _wait(self.source.exchange(initial, self._now()))
        except ExchangeRefused as exc:
            yield messages.completion(cmd, messages.INVALID_DATA, description=str(exc))
            return
        self.stats.exchanges += 1
        self.send_event(messages.CYCLE_OPENED, {"cycleId": info.cycle_id})
        yield messages.completion(cmd, payload={"cycleId": info.cycle_id, "openedAt": info.opened_at})

    def _set_line_speed(self, cmd: Message) -> Iterator[Message]:
        speed = cmd.payload.get("lineSpeed")
        if speed not in self.line_speeds:
            yield messages.completion(
                cmd, messages.INVALID_DATA, description=f"line speed must be one of {list(self.line_speeds)}"
            )
            return
        self._pending_speed = int(speed)  # switched once this completion is acknowledged
        yield messages.completion(cmd, payload={"lineSpeed": speed})
