"""The ATM's side of each command: the cycle it serves (status, storage, totals, pages of
transactions and banknote records) and the replenishment exchange that opens a new cycle."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Iterator

from custodian_app.domain.formats import AtmLedger, Totals, TypeTotals, Unit
from custodian_app.link import messages, records
from custodian_app.link.messages import Message

COMMANDS = (messages.STATUS, messages.CAPABILITIES, messages.CANCEL, messages.SET_LINE_SPEED,
            messages.GET_STORAGE, messages.START_EXCHANGE, messages.END_EXCHANGE, messages.GET_TOTALS,
            messages.READ_TRANSACTIONS, messages.READ_NOTES, messages.GET_NOTES_FOR_TSN,
            messages.CLOSE_CYCLE)
MAX_PAGE = 5000


class AtmCommands:
    """The command handlers of ``AtmSimulator``; each is a generator of the messages it answers."""

    def _handler(self, cmd: Message) -> Iterator[Message]:
        handler = {
            messages.STATUS: self._status, messages.CAPABILITIES: self._capabilities,
            messages.GET_STORAGE: self._storage, messages.GET_TOTALS: self._totals,
            messages.READ_TRANSACTIONS: self._read_transactions, messages.READ_NOTES: self._read_notes,
            messages.GET_NOTES_FOR_TSN: self._notes_for_tsn, messages.CLOSE_CYCLE: self._close_cycle,
            messages.START_EXCHANGE: self._start_exchange, messages.END_EXCHANGE: self._end_exchange,
            messages.SET_LINE_SPEED: self._set_line_speed,
        }.get(cmd.name)
        if handler is None:
            return self._unsupported(cmd)
        return handler(cmd)

    def _unsupported(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, messages.UNSUPPORTED_COMMAND,
                                  description=f"{cmd.name} is not a command of this ATM")

    @staticmethod
    def _error(cmd: Message, error_code: str, description: str) -> Message:
        return messages.completion(cmd, messages.COMMAND_ERROR, {"errorCode": error_code}, description)

    def _status(self, cmd: Message) -> Iterator[Message]:
        lg = self.ledger
        yield messages.completion(cmd, payload={
            "terminalId": lg.terminal_id, "cycleId": lg.cycle_id, "currency": lg.currency,
            "cycleState": self.cycle_state, "openedAt": lg.opened_at, "closedAt": lg.closed_at,
            "lineSpeed": self.baud, "transactionCount": len(lg.transactions),
            "noteCount": len(lg.notes or ()), "safeDoor": self.safe_door, "agent": self.agent,
        })

    def _capabilities(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, payload={
            "protocolVersions": list(self.versions), "compression": list(self.compression),
            "maxFrame": self.max_frame, "window": self.window, "lineSpeeds": list(self.line_speeds),
            "commands": list(COMMANDS), "maxPageSize": MAX_PAGE,
        })

    def _storage(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, payload={"storage": records.encode_units(self.ledger.units)})

    def _totals(self, cmd: Message) -> Iterator[Message]:
        yield messages.completion(cmd, payload=records.encode_totals(self.ledger))

    def _wrong_cycle(self, cmd: Message) -> Message | None:
        cycle = cmd.payload.get("cycleId")
        if cycle is not None and cycle != self.ledger.cycle_id:
            return self._error(cmd, "cycleChanged", f"the current cycle is {self.ledger.cycle_id}, not {cycle}")
        return None

    def _stream(self, cmd: Message, items: list, encode, event_name: str) -> Iterator[Message]:
        wrong = self._wrong_cycle(cmd)
        if wrong is not None:
            yield wrong
            return
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
            page = encode(items[cursor:end])
            page.update(cursor=cursor, nextCursor=end, total=total)
            yield messages.event(event_name, cmd.request_id, page)
            cursor = end
        yield messages.completion(cmd, payload={"total": total, "cursor": total})

    def _read_transactions(self, cmd: Message) -> Iterator[Message]:
        return self._stream(cmd, self.ledger.transactions, records.encode_transactions,
                            messages.TRANSACTIONS_PAGE)

    def _read_notes(self, cmd: Message) -> Iterator[Message]:
        return self._stream(cmd, self.ledger.notes or [], records.encode_notes, messages.NOTES_PAGE)

    def _notes_for_tsn(self, cmd: Message) -> Iterator[Message]:
        wrong = self._wrong_cycle(cmd)
        if wrong is not None:
            yield wrong
            return
        tsn = cmd.payload.get("tsn")
        if type(tsn) is not str:
            yield messages.completion(cmd, messages.INVALID_DATA, description="tsn must be a string")
            return
        found = [n for n in self.ledger.notes or () if n.tsn == tsn]
        page = records.encode_notes(found)
        page["tsn"] = tsn
        yield messages.completion(cmd, payload=page)

    def _now(self) -> str:
        tz = datetime.fromisoformat(self.ledger.opened_at.replace("Z", "+00:00")).tzinfo
        return datetime.now(tz).replace(microsecond=0).isoformat()

    def _close(self) -> None:
        if self.cycle_state == "open":
            if self.ledger.closed_at is None:
                self.ledger = replace(self.ledger, closed_at=self._now())
            self.cycle_state = "closed"

    def _close_cycle(self, cmd: Message) -> Iterator[Message]:
        wrong = self._wrong_cycle(cmd)
        if wrong is not None:
            yield wrong
            return
        self._close()
        yield messages.completion(cmd, payload={"cycleId": self.ledger.cycle_id, "closedAt": self.ledger.closed_at})

    def _start_exchange(self, cmd: Message) -> Iterator[Message]:
        if self.cycle_state == "exchange":
            yield messages.completion(cmd, messages.SEQUENCE_ERROR, description="an exchange is already active")
            return
        self._close()
        self.cycle_state = "exchange"
        yield messages.completion(cmd, payload={"cycleId": self.ledger.cycle_id})

    def _end_exchange(self, cmd: Message) -> Iterator[Message]:
        if self.cycle_state != "exchange":
            yield messages.completion(cmd, messages.SEQUENCE_ERROR,
                                      description="Storage.StartExchange must come first")
            return
        units = cmd.payload.get("units")
        ids = [u.id for u in self.ledger.units]
        if type(units) is not dict:
            yield messages.completion(cmd, messages.INVALID_DATA, description="units must map unit id to {initial}")
            return
        missing = [i for i in ids if i not in units]
        unknown = [i for i in units if i not in ids]
        if missing or unknown:
            yield messages.completion(cmd, messages.INVALID_DATA, description=(
                f"EndExchange needs every unit: missing {missing}, unknown {unknown}"))
            return
        initial: dict[str, int] = {}
        for uid in ids:
            entry = units[uid]
            n = entry.get("initial") if type(entry) is dict else None
            if type(n) is not int or n < 0:
                yield messages.completion(cmd, messages.INVALID_DATA,
                                          description=f"unit {uid}: initial must be a whole number >= 0")
                return
            initial[uid] = n
        old = self.ledger
        self.cycles.append(old)
        self.ledger = self._next_cycle(old, initial)
        self.cycle_state = "open"
        self.stats.exchanges += 1
        self._events.put((messages.CYCLE_OPENED, {"cycleId": self.ledger.cycle_id}))
        yield messages.completion(cmd, payload={"cycleId": self.ledger.cycle_id, "openedAt": self.ledger.opened_at})

    def _next_cycle(self, old: AtmLedger, initial: dict[str, int]) -> AtmLedger:
        opened = self._now()
        known = {c.cycle_id for c in self.cycles} | {old.cycle_id}
        stem = f"{old.terminal_id[:20]}-{opened[:10].replace('-', '')}"
        cycle_id, n = stem, 1
        while cycle_id in known:
            n += 1
            cycle_id = f"{stem}-{n}"
        units = [Unit(u.id, u.type, u.currency, u.value, initial[u.id], {k: 0 for k in u.out},
                      {k: 0 for k in u.in_}) for u in old.units]
        loaded = sum(u.initial * u.value for u in units
                     if u.value is not None and u.type in ("cashOut", "recycling"))
        return AtmLedger(old.terminal_id, cycle_id, old.currency, opened, None,
                         Totals(loaded, TypeTotals(0, 0), TypeTotals(0, 0)), units, [],
                         [] if old.notes is not None else None, source=old.source)

    def _set_line_speed(self, cmd: Message) -> Iterator[Message]:
        speed = cmd.payload.get("lineSpeed")
        if speed not in self.line_speeds:
            yield messages.completion(cmd, messages.INVALID_DATA,
                                      description=f"line speed must be one of {list(self.line_speeds)}")
            return
        self._pending_speed = int(speed)  # switched once this completion is acknowledged
        yield messages.completion(cmd, payload={"lineSpeed": speed})
