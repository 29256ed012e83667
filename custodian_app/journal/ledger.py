"""Journal + FSN -> an ``atm-ledger/1`` document (rules revision 2).

The journal gives the transactions, the retained cards and the units' counters (its last
supervisor counter print); the FSN files give the banknotes, each tied to the transaction
whose time window and direction it falls in (docs/journals.md, "Tying notes"; done in
``custodian_app.journal.notes``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from custodian_app.domain.documents import unit_count
from custodian_app.domain.money import format_amount
from custodian_app.journal.dialect import Dialect, load_dialect
from custodian_app.journal.ej import Gap, JournalParse, Tx, decode, parse_journals, parse_money
from custodian_app.journal.errors import JournalError
from custodian_app.journal.notes import fsn_files, read_file, tie_notes

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
    raw = [(p, read_file(p)) for p in paths]
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
        ledger["notes"] = tie_notes(fsn_paths, d, txs, cash_of, tx_of, units, cassettes, values, result, step)
    # Unknown keys are ignored by every reader; this one says where the ledger came from and
    # what the report must list (gap lines by file and line only: their text stays out).
    ledger["source"] = {
        "kind": "atm-journal",
        "dialect": d.name,
        "gaps": [{"file": g.file, "line": g.line, "reason": g.reason} for g in parse.gaps],
        "notes_without_tsn": result.notes_without_tsn,
    }
    return result
