"""The static source: one atm-ledger/1 held in memory (``simulate-atm``, the tests, the
benchmarks). Everything is at hand, so every future it returns is already done."""

from __future__ import annotations

from collections.abc import Mapping

from custodian_app.agent import cycles
from custodian_app.agent.source import (
    MEMORY,
    OK,
    AtmSource,
    CycleInfo,
    ExchangeRefused,
    SourceState,
    done,
    failed,
)
from custodian_app.domain.formats import AtmLedger


class StaticSource(AtmSource):
    agent = "custodian-atm-sim 1.0"

    def __init__(self, ledger: AtmLedger) -> None:
        self.ledger = ledger
        self.cycles: list[AtmLedger] = []  # cycles ended by an exchange, oldest first
        self.cycle_state = "open" if ledger.closed_at is None else "closed"
        self._states = {MEMORY: SourceState(MEMORY, OK)}

    def info(self) -> CycleInfo:
        lg = self.ledger
        return CycleInfo(
            lg.terminal_id,
            lg.cycle_id,
            lg.currency,
            self.cycle_state,
            lg.opened_at,
            lg.closed_at,
            len(lg.transactions),
            len(lg.notes or ()),
        )

    def states(self) -> Mapping[str, SourceState]:
        return self._states

    def cycle(self):
        return done(self.ledger)

    def units(self):
        return done(list(self.ledger.units))

    def _close(self, now: str) -> None:
        if self.cycle_state == "open":
            self.ledger = cycles.closed(self.ledger, now)
            self.cycle_state = "closed"

    def close_cycle(self, now: str):
        self._close(now)
        return done(self.info())

    def start_exchange(self, now: str) -> CycleInfo:
        self._close(now)
        self.cycle_state = "exchange"
        return self.info()

    def exchange(self, initial: Mapping[str, int], now: str):
        old = self.ledger
        try:
            counts = cycles.check_initial(old.units, initial)
        except ExchangeRefused as exc:
            return failed(exc)
        self.cycles.append(old)
        cycle_id = cycles.next_cycle_id(old.terminal_id, now, [c.cycle_id for c in self.cycles])
        self.ledger = cycles.empty_cycle(old, cycle_id, now, cycles.fresh_units(old.units, counts))
        self.cycle_state = "open"
        return done(self.info())
