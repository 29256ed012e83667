"""Tying notes: the FSN files' banknotes, each tied to the transaction whose time window and
direction it falls in (docs/journals.md, "Tying notes"), and the FSN files found and read.
"""

from __future__ import annotations

import os
from bisect import bisect_right
from typing import Any

from custodian_app.domain.money import format_amount
from custodian_app.journal import fsn as fsnlib
from custodian_app.journal.dialect import Dialect
from custodian_app.journal.ej import Tx
from custodian_app.journal.errors import JournalError

# A transaction without an end line is taken to last until the next one starts, at most this.
LAST_WINDOW = 300


def _windows(txs: list[Tx]) -> list[int]:
    """Each transaction's end: its end line, else until the next starts (at most LAST_WINDOW)."""
    ends = []
    for i, tx in enumerate(txs):
        if tx.end is not None and tx.end >= tx.start:
            ends.append(tx.end)
        elif i + 1 < len(txs):
            ends.append(max(tx.start, min(tx.start + LAST_WINDOW, txs[i + 1].start - 1)))
        else:
            ends.append(tx.start + LAST_WINDOW)
    return ends


class _Tier:
    """The transactions one direction of notes can belong to, searchable by time."""

    def __init__(self, items: list[tuple[int, int, str]]) -> None:
        items.sort()
        self.starts = [s for s, _, _ in items]
        self.ends = [e for _, e, _ in items]
        self.tsns = [t for _, _, t in items]
        self.longest = max((e - s for s, e, _ in items), default=0)
        self.cache: dict[int, tuple[str | None, int]] = {}

    def tie(self, t: int) -> tuple[str | None, int]:
        """(tsn, how many windows fit) for a note stamped ``t`` (really t .. t+1: FSN keeps
        two-second steps)."""
        hit = self.cache.get(t)
        if hit is None:
            starts, ends = self.starts, self.ends
            j = bisect_right(starts, t + 1) - 1
            floor = t - self.longest
            n, found = 0, None
            while j >= 0 and starts[j] >= floor:
                if ends[j] >= t:
                    n += 1
                    found = self.tsns[j]
                j -= 1
            hit = self.cache[t] = (found if n == 1 else None, n)
        return hit


def fsn_direction(fname: str, d: Dialect) -> str:
    stem = os.path.basename(fname)
    hits = [direction for direction, rx in d.fsn_names.items() if rx.search(stem)]
    if len(hits) != 1:
        why = "matches none" if not hits else f"matches several ({', '.join(hits)})"
        raise JournalError(
            fname,
            f"cannot tell which way this FSN file's notes went: its name {why} of "
            f"the dialect's FSN name patterns (dispense, deposit, retract, return)",
        )
    return hits[0]


def fsn_files(fsn_dir: str | None) -> list[str]:
    if not fsn_dir:
        return []
    try:
        names = sorted(n for n in os.listdir(fsn_dir) if n.lower().endswith(".fsn"))
    except OSError as exc:
        raise JournalError(str(fsn_dir), f"cannot list the FSN folder: {exc.strerror or exc}") from None
    return [os.path.join(fsn_dir, n) for n in names]


def read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise JournalError(str(path), f"cannot read the file: {exc.strerror or exc}") from None


def tie_notes(
    paths, d: Dialect, txs, cash_of, tx_of, units, cassettes, values, result: Any, step
) -> list[dict]:
    """The FSN files' notes as the ledger's ``notes``, each tied to its transaction; counts
    what could not be tied on ``result`` (the JournalRead being built)."""
    money: dict[int, str] = {}

    def fa(minor: int) -> str:  # a few denominations, 300,000 notes
        s = money.get(minor)
        if s is None:
            s = money[minor] = format_amount(minor)
        return s

    ends = _windows(txs)
    tiers = {
        "dispense": _Tier(
            [(t.start, e, t.tsn) for t, e in zip(txs, ends, strict=False) if cash_of[t.tsn].presented]
        ),
        "retract": _Tier(
            [(t.start, e, t.tsn) for t, e in zip(txs, ends, strict=False) if cash_of[t.tsn].retracted]
        ),
        "deposit": _Tier(
            [
                (t.start, e, t.tsn)
                for t, e in zip(txs, ends, strict=False)
                if t.type == "deposit" and t.deposited
            ]
        ),
        "return": _Tier(
            [
                (t.start, e, t.tsn)
                for t, e in zip(txs, ends, strict=False)
                if t.type == "deposit" and t.returned
            ]
        ),
    }
    first = {}
    for u in units:
        first.setdefault(u["type"], u["id"])
    retract_unit = first.get("retract")
    reject_unit = first.get("reject")
    cashin_unit = first.get("cashIn") or first.get("recycling")
    by_value: dict[int, list[int]] = {}
    for i, v in enumerate(values):
        by_value.setdefault(v, []).append(i)
    left: dict[str, list[int]] = {}  # notes per cassette still to be placed, per TSN

    files: dict[str, list] = {k: [] for k in tiers}
    for p in paths:
        direction = fsn_direction(p, d)
        data = read_file(p)
        files[direction].append(fsnlib.read_fsn(data, p))
        step(len(data))

    def need(unit: str | None, what: str, f) -> str:
        if unit is None:
            raise JournalError(
                f.name, f"{what} notes in this FSN file, but the counter print has no such unit"
            )
        return unit

    def tie(tier: _Tier, t: int) -> str | None:
        tsn, n = tier.tie(t)
        if tsn is None:
            if n == 0:
                result.untied_notes += 1
            else:
                result.ambiguous_notes += 1
        return tsn

    def cassette_for(tsn: str | None, value: int) -> str:
        idx = by_value.get(value)
        if not idx:
            return cassettes[0]["id"] if cassettes else "?"
        if tsn is not None:
            rest = left.get(tsn)
            if rest is None:
                rest = left[tsn] = list(tx_of[tsn].presented or [])
            for i in idx:
                if i < len(rest) and rest[i] > 0:
                    rest[i] -= 1
                    return cassettes[i]["id"]
        return cassettes[idx[0]]["id"]

    retracted: dict[str, list] = {}  # serial -> [tsn, used]
    for f in files["retract"]:
        for n in f.notes:
            tsn, count = tiers["retract"].tie(n.time)
            retracted.setdefault(n.serial, [tsn, False, n, count])
    out: list[dict] = []
    append = out.append
    for f in files["dispense"]:
        for n in f.notes:
            if n.tf != fsnlib.GENUINE:
                tsn = tie(tiers["dispense"], n.time)
                append(
                    {
                        "serial": n.serial,
                        "value": fa(n.value),
                        "tsn": tsn,
                        "unit": need(reject_unit, "rejected", f),
                        "event": "rejected",
                    }
                )
                continue
            r = retracted.get(n.serial)
            if r is not None and not r[1]:
                r[1] = True
                tsn, n_fit = tiers["dispense"].tie(n.time)
                tsn = tsn or r[0]
                if tsn is None:
                    if n_fit or r[3]:
                        result.ambiguous_notes += 1
                    else:
                        result.untied_notes += 1
                append(
                    {
                        "serial": n.serial,
                        "value": fa(n.value),
                        "tsn": tsn,
                        "unit": need(retract_unit, "retracted", f),
                        "event": "retracted",
                    }
                )
                continue
            tsn = tie(tiers["dispense"], n.time)
            if tsn is not None and cash_of[tsn].unknown and not cash_of[tsn].taken:
                result.unknown_fate_notes += 1  # left the cassettes; where they went is not known
                continue
            append(
                {
                    "serial": n.serial,
                    "value": fa(n.value),
                    "tsn": tsn,
                    "unit": cassette_for(tsn, n.value),
                    "event": "taken",
                }
            )
    for serial, (tsn, used, n, count) in retracted.items():
        if not used:
            if tsn is None:
                if count:
                    result.ambiguous_notes += 1
                else:
                    result.untied_notes += 1
            append(
                {
                    "serial": serial,
                    "value": fa(n.value),
                    "tsn": tsn,
                    "unit": need(retract_unit, "retracted", files["retract"][0]),
                    "event": "retracted",
                }
            )
    for direction, event in (("deposit", "deposited"), ("return", "returned")):
        for f in files[direction]:
            unit = need(cashin_unit, event, f)
            for n in f.notes:
                append(
                    {
                        "serial": n.serial,
                        "value": fa(n.value),
                        "tsn": tie(tiers[direction], n.time),
                        "unit": unit,
                        "event": event,
                    }
                )
    return out
