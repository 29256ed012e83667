"""Journal + FSN -> an ``atm-ledger/1`` document (rules revision 2).

The journal gives the transactions, the retained cards and the units' counters (its last
supervisor counter print); the FSN files give the banknotes, each tied to the transaction
whose time window and direction it falls in (docs/journals.md, "Tying notes").
"""

from __future__ import annotations

import os
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custodian_app.domain.documents import unit_count
from custodian_app.domain.money import format_amount
from custodian_app.journal import fsn as fsnlib
from custodian_app.journal.dialect import Dialect, load_dialect
from custodian_app.journal.ej import Gap, JournalParse, Tx, decode, parse_journals, parse_money
from custodian_app.journal.errors import JournalError

# A transaction without an end line is taken to last until the next one starts, at most this.
LAST_WINDOW = 300
_CASSETTES = ("cashOut", "recycling")
_BIN_COUNTER = {"cashIn": "deposited", "reject": "rejected", "retract": "retracted"}


class JournalGapsError(JournalError):
    """Lines the dialect does not describe, and the caller did not accept gaps."""

    def __init__(self, gaps: list[Gap]) -> None:
        self.gaps = gaps
        shown = "; ".join(f"{g.file}:{g.line}" for g in gaps[:5])
        more = f" and {len(gaps) - 5} more" if len(gaps) > 5 else ""
        super().__init__(
            f"{gaps[0].file}:{gaps[0].line}",
            f"{len(gaps)} journal line(s) match no rule of the dialect ({shown}{more}); "
            "choose the right dialect, or accept the gaps knowingly (--accept-gaps) "
            "and have them listed in the report",
        )


@dataclass
class JournalRead:
    """What reading an ATM's journals and FSN files gave."""

    ledger: dict  # an atm-ledger/1 document
    dialect: str
    gaps: list[Gap] = field(default_factory=list)
    untied_notes: int = 0  # notes whose time and direction fit no transaction
    ambiguous_notes: int = 0  # notes that fit several transactions
    unknown_fate_notes: int = 0  # notes of a dispense whose outcome the ATM never learnt
    skipped_transactions: int = 0  # inquiries, transfers: no cash, no place in the ledger
    journal_lines: int = 0
    fsn_files: int = 0

    @property
    def notes_without_tsn(self) -> int:
        return self.untied_notes + self.ambiguous_notes


def _iso_maker(offset: str):
    cache: dict[int, str] = {}
    epoch = datetime(1970, 1, 1)

    def iso(sec: int) -> str:
        day, rest = divmod(sec, 86400)
        prefix = cache.get(day)
        if prefix is None:
            prefix = cache[day] = (epoch + timedelta(days=day)).strftime("%Y-%m-%dT")
        h, rest = divmod(rest, 3600)
        m, s = divmod(rest, 60)
        return f"{prefix}{h:02d}:{m:02d}:{s:02d}{offset}"

    return iso


def _count(text: str | None, where: str, what: str) -> int:
    if text is None:
        return 0
    try:
        return int(text)
    except ValueError:
        raise JournalError(where, f"{what} {text!r} is not a whole number") from None


def _units(parse: JournalParse, d: Dialect, where: str) -> list[dict]:
    if not parse.prints or not parse.prints[-1].units:
        raise JournalError(
            where,
            "no supervisor counter print with the cassettes in the journal; "
            "the ledger needs the units' counters (print them at clearing)",
        )
    units = []
    seen = set()
    for cu in parse.prints[-1].units:
        f, where = cu.fields, cu.where
        utype = d.lookup("unit_types", f["unit_type"])
        if utype is None:
            raise JournalError(where, f"unit type {f['unit_type']!r} is not in the dialect's [unit_types]")
        uid = f["unit"]
        if uid in seen:
            raise JournalError(where, f"unit {uid} is printed twice in one counter print")
        seen.add(uid)
        n = {
            k: _count(f.get(k), where, k)
            for k in (
                "loaded",
                "dispensed",
                "rejected",
                "unknown",
                "deposited",
                "retracted",
                "count",
                "remaining",
            )
        }
        out = {"presented": 0, "rejected": 0, "distributed": 0, "unknown": 0}
        in_ = {"deposited": 0, "retracted": 0, "rejected": 0}
        if utype in _CASSETTES:
            if "value" not in f:
                raise JournalError(where, f"cassette {uid} has no denomination on its counter line")
            value = format_amount(parse_money(f["value"], where))
            # a journal's "dispensed" is both counters: the notes presented, which rules revision
            # 2's informational `distributed` overlaps (never subtracted)
            out.update(
                presented=n["dispensed"],
                distributed=n["dispensed"],
                rejected=n["rejected"],
                unknown=n["unknown"],
            )
            in_.update(deposited=n["deposited"], retracted=n["retracted"])
            derived = unit_count(n["loaded"], in_, out)
            if "remaining" in f and derived != n["remaining"]:
                raise JournalError(
                    where,
                    f"cassette {uid}: loaded {n['loaded']} − dispensed {out['presented']} − "
                    f"rejected {out['rejected']} − unknown {out['unknown']} = {derived}, "
                    f"but the print says {n['remaining']} remain",
                )
        else:
            value = None
            in_[_BIN_COUNTER[utype]] = n["count"]
        units.append(
            {
                "id": uid,
                "type": utype,
                "currency": f.get("currency") or d.currency,
                "value": value,
                "initial": n["loaded"],
                "out": out,
                "in": in_,
            }
        )
    return units


@dataclass(slots=True)
class _Cash:
    presented: int = 0
    taken: int = 0
    retracted: int = 0
    unknown: int = 0


def _cash(tx: Tx, values: list[int]) -> _Cash:
    c = _Cash()
    if tx.presented:
        if len(tx.presented) > len(values):
            raise JournalError(
                tx.where,
                f"notes presented from {len(tx.presented)} cassettes; the counter print lists {len(values)}",
            )
        c.presented = sum(k * v for k, v in zip(tx.presented, values, strict=False))
    if tx.retracted is not None:
        c.retracted = c.presented if tx.retracted < 0 else tx.retracted
        if c.retracted > c.presented:
            raise JournalError(tx.where, "more cash retracted than the notes presented")
    rest = c.presented - c.retracted
    if tx.unknown is not None or not tx.taken:
        c.unknown = rest  # power lost, or no line says where the presented notes went
    else:
        c.taken = rest
    return c


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


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise JournalError(str(path), f"cannot read the file: {exc.strerror or exc}") from None


def _transactions(txs: list[Tx], values: list[int], iso, success_codes):
    """The ledger's transactions, each one's cash, and the ATM-booked count and amount by type."""
    seen: dict[str, str] = {}
    docs = []
    cash_of: dict[str, _Cash] = {}
    tx_of: dict[str, Tx] = {}
    booked_by = {"withdrawal": [0, 0], "deposit": [0, 0]}
    for tx in txs:
        if tx.tsn in seen:
            raise JournalError(
                tx.where, f"TSN {tx.tsn} was used already at {seen[tx.tsn]}; a TSN is unique in a cycle"
            )
        seen[tx.tsn] = tx.where
        c = _cash(tx, values) if tx.type == "withdrawal" else _Cash()
        if tx.type == "deposit" and tx.presented:
            raise JournalError(tx.where, "notes presented during a deposit")
        cash_of[tx.tsn] = c
        tx_of[tx.tsn] = tx
        reversed_, partial = tx.reversed, None
        if tx.reversed and tx.reversal_cash is not None and tx.reversal_cash != tx.amount:
            if not 0 < tx.reversal_cash < tx.amount:
                raise JournalError(
                    tx.where,
                    f"reversal of {format_amount(tx.reversal_cash)} for a transaction "
                    f"of {format_amount(tx.amount)}",
                )
            reversed_, partial = False, tx.reversal_cash  # a partial reversal (rev 2)
        if tx.type == "withdrawal":
            cash = {
                "taken": format_amount(c.taken),
                "retracted": format_amount(c.retracted),
                "deposited": "0.00",
                "returned": "0.00",
            }
            if c.unknown:
                cash["unknown"] = format_amount(c.unknown)
        else:
            cash = {
                "taken": "0.00",
                "retracted": "0.00",
                "deposited": format_amount(tx.deposited),
                "returned": format_amount(tx.returned),
            }
        doc = {
            "tsn": tx.tsn,
            "time": iso(tx.start),
            "type": tx.type,
            "card": tx.card,
            "amount": format_amount(tx.amount),
            "host_code": tx.code,
            "host_ref": tx.ref,
            "reversed": reversed_,
            "cash": cash,
        }
        if partial is not None:
            doc["reversed_amount"] = format_amount(partial)
        docs.append(doc)
        if tx.code in success_codes and not reversed_:
            b = booked_by[tx.type]
            b[0] += 1
            b[1] += tx.amount - (partial or 0)
    return docs, cash_of, tx_of, booked_by


def read_journals(
    journals,
    fsn_dir: str | None,
    dialect: str | Dialect,
    *,
    accept_gaps: bool = False,
    progress=None,
    success_codes=frozenset({"00"}),
    terminal_id: str | None = None,
    cycle_id: str | None = None,
) -> JournalRead:
    """Read an ATM's journal files (in the order given) and the FSN files of ``fsn_dir`` into
    an atm-ledger/1 document. ``progress(done, total)`` is called with bytes read so far.

    Raises JournalError naming the file and line (or byte offset) of the first fault, and
    JournalGapsError when lines match no rule and ``accept_gaps`` is false."""
    d = dialect if isinstance(dialect, Dialect) else load_dialect(dialect)
    if isinstance(journals, (str, os.PathLike)):
        journals = [journals]
    paths = [os.fspath(p) for p in journals]
    if not paths:
        raise JournalError("journal", "no journal file given")
    fsn_paths = fsn_files(fsn_dir)
    raw = [(p, _read(p)) for p in paths]
    total = sum(len(b) for _, b in raw) + sum(os.path.getsize(p) for p in fsn_paths)
    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress is not None:
            progress(done, total)

    sources = [(p, decode(b, p)) for p, b in raw]
    jbytes = sum(len(b) for _, b in raw)
    chars = sum(len(t) for _, t in sources) or 1
    # the journal's share of the progress, from characters read to bytes
    parse = parse_journals(
        sources, d, progress=None if progress is None else lambda c, _: progress(jbytes * c // chars, total)
    )
    step(jbytes)
    if parse.gaps and not accept_gaps:
        raise JournalGapsError(parse.gaps)

    units = _units(parse, d, paths[-1])
    cassettes = [u for u in units if u["type"] in _CASSETTES]
    values = [parse_money(u["value"], u["id"]) for u in cassettes]
    iso = _iso_maker(d.utc_offset)
    terminal = terminal_id or parse.terminal
    if not terminal:
        raise JournalError(
            paths[0],
            "the journal names no terminal (no terminal line in its counter print); give the terminal id",
        )
    opened = parse.prints[0].time
    closed = parse.prints[-1].time if len(parse.prints) > 1 else None

    txs = sorted(parse.transactions, key=lambda t: t.start)
    docs, cash_of, tx_of, booked = _transactions(txs, values, iso, success_codes)
    (w_count, w_amount), (d_count, d_amount) = booked["withdrawal"], booked["deposit"]

    loaded = sum(u["initial"] * parse_money(u["value"], u["id"]) for u in cassettes)
    for r in parse.retained:
        if r.card is None:
            raise JournalError(
                r.where,
                "a card retained before the journal said which card; the custodians' hand-over list needs it",
            )
    retained = [
        {"time": iso(r.time), "card": r.card, "tsn": r.tsn, "reason": r.reason}
        for r in sorted(parse.retained, key=lambda r: r.time)
    ]
    ledger = {
        "format": "atm-ledger/1",
        "terminal_id": terminal,
        "cycle_id": cycle_id or parse.cycle or f"{terminal}-{iso(opened)[:10].replace('-', '')}",
        "currency": d.currency,
        "opened_at": iso(opened),
        "closed_at": None if closed is None else iso(closed),
        "totals": {
            "loaded_amount": format_amount(loaded),
            "withdrawals": {"count": w_count, "amount": format_amount(w_amount)},
            "deposits": {"count": d_count, "amount": format_amount(d_amount)},
        },
        "units": units,
        "transactions": docs,
    }
    if retained:
        ledger["retained_cards"] = retained
    result = JournalRead(
        ledger,
        d.name,
        parse.gaps,
        skipped_transactions=parse.skipped,
        journal_lines=parse.lines,
        fsn_files=len(fsn_paths),
    )
    if fsn_paths:
        ledger["notes"] = _notes(fsn_paths, d, txs, cash_of, tx_of, units, cassettes, values, result, step)
    # Unknown keys are ignored by every reader; this one says where the ledger came from and
    # what the report must list (gap lines by file and line only: their text stays out).
    ledger["source"] = {
        "kind": "atm-journal",
        "dialect": d.name,
        "gaps": [{"file": g.file, "line": g.line, "reason": g.reason} for g in parse.gaps],
        "notes_without_tsn": result.notes_without_tsn,
    }
    return result


def _notes(
    paths, d: Dialect, txs, cash_of, tx_of, units, cassettes, values, result: JournalRead, step
) -> list[dict]:
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
        data = _read(p)
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
