"""Write a cycle (an atm-ledger/1 document) as an ATM would have recorded it: a journal in a
dialect (printed with the dialect's templates) and FSN files. For the tests' round trips,
the demo and the benchmarks; the product itself only reads journals.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from datetime import datetime, timedelta

from custodian_app.domain.money import format_amount, parse_amount
from custodian_app.journal import fsn as fsnlib
from custodian_app.journal.dialect import Dialect, load_dialect

_PLACE = re.compile(r"\{([A-Za-z_]+)\}")
_OPTIONAL = re.compile(r"<<(.*?)>>")
_EPOCH = datetime(1970, 1, 1)
# How long the writer lets a transaction last: up to this, and 2 s short of the next one (FSN
# keeps two-second steps, so a note's window must not touch the neighbour's).
TX_SECONDS = 20


class CannotWrite(ValueError):
    """A cycle the journal layout cannot express (e.g. notes both taken and of unknown fate)."""


def _render(template: str, ctx: dict) -> str | None:
    def opt(m):
        names = _PLACE.findall(m.group(1))
        return m.group(1) if all(ctx.get(n) is not None for n in names) else ""

    text = _OPTIONAL.sub(opt, template)
    if any(ctx.get(n) is None for n in _PLACE.findall(text)):
        return None
    return _PLACE.sub(lambda m: str(ctx[m.group(1)]), text)


def _local(ts: str, offset: str) -> int:
    if ts[19:] not in (offset, "") and not ts.endswith(offset):
        raise CannotWrite(f"time {ts} is not in the dialect's offset {offset}")
    dt = datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")
    return int((dt - _EPOCH).total_seconds())


class _Printer:
    def __init__(self, d: Dialect) -> None:
        self.d = d
        self.lines: list[str] = []
        self.stamp_cache: dict[int, tuple[str, str]] = {}

    def stamp(self, sec: int) -> tuple[str, str]:
        v = self.stamp_cache.get(sec)
        if v is None:
            dt = _EPOCH + timedelta(seconds=sec)
            v = self.stamp_cache[sec] = (dt.strftime(self.d.date_format), dt.strftime(self.d.time_format))
        return v

    def emit(self, event: str, ctx: dict, *, first: bool = True, units: str | None = None) -> None:
        for rule in self.d.rules:
            if rule.event != event or rule.template is None:
                continue
            if units is not None and rule.units and units not in rule.units:
                continue
            line = _render(rule.template, ctx)
            if line is not None:
                self.lines.append(line)
                if first:
                    break
        for rule in self.d.rules:
            if rule.event == "ignore" and rule.write_after == event and rule.template is not None:
                line = _render(rule.template, ctx)
                if line is not None:
                    self.lines.append(line)


def _breakdown(amount: int, cassettes: list[dict], hint: Counter, sep: str) -> str:
    """Notes per cassette for a dispense of ``amount``: greedy by denomination, each
    denomination from the cassette the ledger's notes say (else the first of that value)."""
    counts = [0] * len(cassettes)
    rest = amount
    for v in sorted({parse_amount(c["value"]) for c in cassettes}, reverse=True):
        k, rest = divmod(rest, v)
        if k:
            idx = [i for i, c in enumerate(cassettes) if parse_amount(c["value"]) == v]
            best = max(idx, key=lambda i: (hint[cassettes[i]["id"]], -i))
            counts[best] += k
    if rest:
        raise CannotWrite(f"{format_amount(amount)} cannot be paid from the cassettes' denominations")
    return sep.join(str(c) for c in counts)


def journal_text(ledger: dict, dialect: str | Dialect) -> str:
    """The cycle as a journal in ``dialect``."""
    d = dialect if isinstance(dialect, Dialect) else load_dialect(dialect)
    p = _Printer(d)
    off = d.utc_offset
    units = ledger["units"]
    cassettes = [u for u in units if u["type"] in ("cashOut", "recycling")]
    opened = _local(ledger["opened_at"], off)
    txs = ledger["transactions"]
    times = [_local(t["time"], off) for t in txs]
    closed = (
        _local(ledger["closed_at"], off) if ledger.get("closed_at") else (max(times, default=opened) + 60)
    )
    hints: dict[str, Counter] = {}
    for n in ledger.get("notes") or ():
        if n["event"] == "taken" and n["tsn"] is not None:
            hints.setdefault(n["tsn"], Counter())[n["unit"]] += 1
    retained = ledger.get("retained_cards") or []
    by_tsn: dict[str, list] = {}
    loose = []
    for r in retained:
        (by_tsn.setdefault(r["tsn"], []) if r["tsn"] is not None else loose).append(r)
    loose.sort(key=lambda r: r["time"])

    def counters(sec: int, final: bool) -> None:
        date, time = p.stamp(sec)
        base = {"date": date, "time": time, "terminal": ledger["terminal_id"]}
        p.emit("counters_start", base)
        p.emit("terminal", base)
        for u in units:
            o, i = u["out"], u["in"]
            ctx = dict(
                base,
                unit=u["id"],
                unit_type=d.word_for("unit_types", u["type"]),
                currency=u["currency"],
                value=u["value"],
                loaded=u["initial"],
            )
            if final:
                ctx.update(
                    dispensed=o["presented"],
                    rejected=o["rejected"],
                    unknown=o["unknown"],
                    deposited=i["deposited"],
                    retracted=i["retracted"],
                    count=i["deposited"] + i["retracted"] + i["rejected"],
                    remaining=u["initial"]
                    + i["deposited"]
                    + i["retracted"]
                    + i["rejected"]
                    - o["presented"]
                    - o["rejected"]
                    - o["unknown"],
                )
            else:
                ctx.update(
                    dispensed=0,
                    rejected=0,
                    unknown=0,
                    deposited=0,
                    retracted=0,
                    count=0,
                    remaining=u["initial"],
                )
            p.emit("counter_unit", ctx, units=u["type"])
        p.emit("counters_end", base)

    def loose_card(r) -> None:
        sec = _local(r["time"], off)
        date, time = p.stamp(sec)
        p.emit(
            "card_retained",
            {
                "date": date,
                "time": time,
                "card": r["card"],
                "reason": d.word_for("retain_reasons", r["reason"]),
            },
        )

    counters(opened, False)
    li = 0
    for k, t in enumerate(txs):
        start = times[k]
        while li < len(loose) and _local(loose[li]["time"], off) < start:
            loose_card(loose[li])
            li += 1
        nxt = times[k + 1] if k + 1 < len(txs) else start + 10 * TX_SECONDS
        end = max(start, min(start + TX_SECONDS, nxt - 2))
        date, time = p.stamp(start)
        ctx = {
            "date": date,
            "time": time,
            "tsn": t["tsn"],
            "card": t["card"],
            "type": d.word_for("types", t["type"]),
            "amount": t["amount"],
            "code": t["host_code"],
            "ref": t["host_ref"],
        }
        p.emit("tx_start", ctx)
        p.emit("tx_field", ctx, first=False)
        cash = t["cash"]
        if t["type"] == "withdrawal":
            taken, retr = parse_amount(cash["taken"]), parse_amount(cash["retracted"])
            unk = parse_amount(cash.get("unknown", "0.00"))
            if taken + retr + unk:
                if unk and taken:
                    raise CannotWrite(f"TSN {t['tsn']}: notes both taken and of unknown fate")
                p.emit(
                    "notes_presented",
                    dict(
                        ctx,
                        counts=_breakdown(
                            taken + retr + unk, cassettes, hints.get(t["tsn"], Counter()), d.counts_separator
                        ),
                    ),
                )
                if taken:
                    p.emit("notes_taken", ctx)
                if retr:
                    p.emit("cash_retracted", dict(ctx, cash=cash["retracted"] if (taken or unk) else None))
                if unk:
                    p.emit("power_failure", ctx)
        else:
            if parse_amount(cash["deposited"]):
                p.emit("deposit_accepted", dict(ctx, cash=cash["deposited"]))
            if parse_amount(cash["returned"]):
                p.emit("deposit_returned", dict(ctx, cash=cash["returned"]))
        if t["reversed"]:
            p.emit("reversal", ctx)
        elif t.get("reversed_amount"):
            p.emit("reversal", dict(ctx, cash=t["reversed_amount"]))
        for r in by_tsn.get(t["tsn"], ()):
            rdate, rtime = p.stamp(_local(r["time"], off))
            p.emit(
                "card_retained",
                dict(
                    ctx,
                    date=rdate,
                    time=rtime,
                    card=None if r["card"] == t["card"] else r["card"],
                    reason=d.word_for("retain_reasons", r["reason"]),
                ),
            )
        edate, etime = p.stamp(end)
        p.emit("tx_end", dict(ctx, date=edate, time=etime))
    for r in loose[li:]:
        loose_card(r)
    counters(closed, True)
    return "\n".join(p.lines) + "\n"


def fsn_documents(
    ledger: dict, dialect: str | Dialect, *, variant: str = "classic", with_image: bool = False
) -> dict[str, bytes]:
    """The cycle's notes as FSN files, one per day and direction, named as the dialect's FSN
    name patterns expect: {file name: bytes}."""
    d = dialect if isinstance(dialect, Dialect) else load_dialect(dialect)
    off = d.utc_offset
    start_of = {t["tsn"]: _local(t["time"], off) for t in ledger["transactions"]}
    before = _local(ledger["opened_at"], off) - 2  # notes outside any transaction: the self-test
    files: dict[tuple[str, int], list] = {}
    cur = ledger["currency"]

    def add(direction: str, sec: int, tf: int, n: dict) -> None:
        files.setdefault((direction, sec // 86400), []).append(
            fsnlib.FsnNote(sec, tf, parse_amount(n["value"]), n["serial"], cur)
        )

    for n in ledger.get("notes") or ():
        sec = start_of.get(n["tsn"], before) if n["tsn"] is not None else before
        ev = n["event"]
        if ev == "taken":
            add("dispense", sec, fsnlib.GENUINE, n)
        elif ev == "retracted":
            add("dispense", sec, fsnlib.GENUINE, n)
            add("retract", sec, fsnlib.GENUINE, n)
        elif ev == "rejected":
            add("dispense", sec, fsnlib.WORN, n)
        elif ev == "deposited":
            add("deposit", sec, fsnlib.GENUINE, n)
        else:
            add("return", sec, fsnlib.GENUINE, n)
    header = fsnlib.FsnHeader(
        variant,
        with_image,
        0,
        machine_sno=ledger["terminal_id"][:24],
        bank="CUSTODIAN",
        outlet=ledger["terminal_id"][:14],
    )
    out = {}
    for (direction, day), notes in sorted(files.items()):
        stamp = (_EPOCH + timedelta(days=day)).strftime("%Y%m%d")
        name = f"{ledger['terminal_id']}_{stamp}_{d.fsn_tags[direction]}.FSN"
        out[name] = fsnlib.write_fsn(notes, variant=variant, with_image=with_image, header=header)
    return out


def write_cycle(
    ledger: dict,
    dialect: str | Dialect,
    folder: str | os.PathLike,
    *,
    variant: str = "classic",
    with_image: bool = False,
) -> tuple[str, str]:
    """Write the journal (``journal.txt``) and the FSN files (``fsn/``) into ``folder``;
    returns (journal path, FSN folder)."""
    d = dialect if isinstance(dialect, Dialect) else load_dialect(dialect)
    folder = os.fspath(folder)
    fsn_dir = os.path.join(folder, "fsn")
    os.makedirs(fsn_dir, exist_ok=True)
    jpath = os.path.join(folder, "journal.txt")
    with open(jpath, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(journal_text(ledger, d))
    for name, data in fsn_documents(ledger, d, variant=variant, with_image=with_image).items():
        with open(os.path.join(fsn_dir, name), "wb") as fh:
            fh.write(data)
    return jpath, fsn_dir
