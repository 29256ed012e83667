"""Cycle bookkeeping every source shares: checking an exchange's counts, naming and opening
the next cycle, closing one. Pure functions over the domain's records (no I/O)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping

from custodian_app.agent.source import ExchangeRefused
from custodian_app.domain.formats import AtmLedger, Totals, TypeTotals, Unit

DISPENSING = ("cashOut", "recycling")


def check_initial(units: Iterable[Unit], initial: Mapping) -> dict[str, int]:
    """Every unit named exactly once with a whole count >= 0, else ExchangeRefused."""
    ids = [u.id for u in units]
    if not isinstance(initial, Mapping):
        raise ExchangeRefused("units must map unit id to {initial}")
    missing = [i for i in ids if i not in initial]
    unknown = [i for i in initial if i not in ids]
    if missing or unknown:
        raise ExchangeRefused(f"EndExchange needs every unit: missing {missing}, unknown {unknown}")
    out: dict[str, int] = {}
    for uid in ids:
        n = initial[uid]
        if type(n) is not int or n < 0:
            raise ExchangeRefused(f"unit {uid}: initial must be a whole number >= 0")
        out[uid] = n
    return out


def next_cycle_id(terminal_id: str, opened_at: str, known: Iterable[str]) -> str:
    """TERMINAL-YYYYMMDD of the opening, with -2, -3 … when that is taken."""
    taken = set(known)
    stem = f"{terminal_id[:20]}-{opened_at[:10].replace('-', '')}"
    cycle_id, n = stem, 1
    while cycle_id in taken:
        n += 1
        cycle_id = f"{stem}-{n}"
    return cycle_id


def loaded_amount(units: Iterable[Unit]) -> int:
    return sum(u.initial * u.value for u in units if u.value is not None and u.type in DISPENSING)


def fresh_units(units: Iterable[Unit], initial: Mapping[str, int]) -> list[Unit]:
    """The units of a new cycle: the new initial counts, every counter at 0. Built explicitly
    (not by replacing fields) so it works whatever record class the domain uses."""
    return [
        Unit(u.id, u.type, u.currency, u.value, initial[u.id], {k: 0 for k in u.out}, {k: 0 for k in u.in_})
        for u in units
    ]


def empty_cycle(old: AtmLedger, cycle_id: str, opened_at: str, units: list[Unit]) -> AtmLedger:
    """A cycle just opened: no transactions, no banknote records yet (if the old one kept them)."""
    return AtmLedger(
        old.terminal_id,
        cycle_id,
        old.currency,
        opened_at,
        None,
        Totals(loaded_amount(units), TypeTotals(0, 0), TypeTotals(0, 0)),
        units,
        [],
        [] if old.notes is not None else None,
        source=old.source,
    )


def closed(ledger: AtmLedger, closed_at: str) -> AtmLedger:
    """The same cycle with its closing time (a shallow copy; the records are shared)."""
    if ledger.closed_at is not None:
        return ledger
    out = copy.copy(ledger)
    out.closed_at = closed_at
    return out
