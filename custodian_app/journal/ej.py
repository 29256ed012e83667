"""The electronic journal reader: text lines -> transactions, retained cards, counter prints.

One pass over each file; each line is tried first against the rule that followed the
previous line's rule last time, then against the rules in order (see dialect.py). A line that matches no rule is a *gap*: it is kept with its file and line
number (its text scrubbed of anything that could be a card number) for the caller, who fails
the read or, knowingly, lists the gaps in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from custodian_app.domain.errors import scrub
from custodian_app.journal.cards import mask_card
from custodian_app.journal.dialect import TX_EVENTS, Dialect
from custodian_app.journal.errors import JournalError

_EPOCH_ORD = datetime(1970, 1, 1).toordinal()
_MONEY = re.compile(r"(\d+)(?:\.(\d{1,2}))?\Z")
_COUNTS = re.compile(r"\d+")
# A card number printed in groups ("6217 0012 3456 7890") escapes the 12-digit scrubber.
_GROUPED_DIGITS = re.compile(r"\d(?:[ -]?\d){11,18}")


def _shown(line: str) -> str:
    """A gap line as it may be shown: no card number, whole or grouped; at most 200 chars."""
    return scrub(_GROUPED_DIGITS.sub("<digits withheld>", line.rstrip("\r")))[:200]


@dataclass
class Gap:
    """A journal line the dialect does not describe."""

    file: str
    line: int
    text: str  # scrubbed: no card number survives
    reason: str = "matches no rule of the dialect"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}: {self.text}"


@dataclass(slots=True)
class Tx:
    """One transaction as the journal tells it; times are local seconds since 1970."""

    where: str
    start: int
    end: int | None = None
    tsn: str | None = None
    card: str | None = None
    type: str | None = None
    amount: int | None = None
    code: str | None = None
    ref: str | None = None
    presented: list[int] | None = None
    taken: bool = False
    retracted: int | None = None  # -1: all that was presented
    unknown: int | None = None  # -1: all that was presented and not otherwise accounted
    reversed: bool = False
    reversal_cash: int | None = None
    deposited: int = 0
    returned: int = 0


@dataclass
class CounterUnit:
    where: str
    fields: dict[str, str]


@dataclass
class CounterPrint:
    where: str
    time: int
    units: list[CounterUnit] = field(default_factory=list)


@dataclass
class Retained:
    where: str
    time: int
    card: str | None
    tsn: str | None
    reason: str


@dataclass
class JournalParse:
    transactions: list[Tx] = field(default_factory=list)
    retained: list[Retained] = field(default_factory=list)
    prints: list[CounterPrint] = field(default_factory=list)
    terminal: str | None = None
    cycle: str | None = None
    gaps: list[Gap] = field(default_factory=list)
    skipped: int = 0  # transactions of other kinds (inquiries, transfers) or without a type
    lines: int = 0


def parse_money(text: str, where: str) -> int:
    """ "1,000.00", "1000.5", "1000" -> minor units; never a float."""
    m = _MONEY.match(text.strip().replace(",", ""))
    if m is None:
        raise JournalError(where, f"not an amount: {scrub(text)!r}")
    return int(m.group(1)) * 100 + int((m.group(2) or "0").ljust(2, "0"))


def decode(data: bytes, name: str) -> str:
    """Journals are UTF-8 or, on older domestic ATMs, GB18030 (GBK)."""
    for enc in ("utf-8", "gb18030"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise JournalError(name, "the journal is neither UTF-8 nor GB18030 text")


class _Clock:
    """Turns the dialect's date and time words into local seconds, caching each distinct word."""

    def __init__(self, d: Dialect) -> None:
        self.date_format, self.time_format = d.date_format, d.time_format
        self.dates: dict[str, int] = {}
        self.times: dict[str, int] = {}

    def date(self, text: str, where: str) -> int:
        v = self.dates.get(text)
        if v is None:
            try:
                v = (datetime.strptime(text, self.date_format).toordinal() - _EPOCH_ORD) * 86400
            except ValueError:
                raise JournalError(where, f"date {text!r} does not follow {self.date_format}") from None
            self.dates[text] = v
        return v

    def time(self, text: str, where: str) -> int:
        v = self.times.get(text)
        if (
            v is None
            and self.time_format == "%H:%M:%S"
            and len(text) == 8
            and text[2] == text[5] == ":"
            and text[:2].isdigit()
            and text[3:5].isdigit()
            and text[6:].isdigit()
        ):
            h, m, s = int(text[:2]), int(text[3:5]), int(text[6:])
            if h < 24 and m < 60 and s < 60:  # strptime is 10x slower for the usual layout
                v = self.times[text] = h * 3600 + m * 60 + s
        if v is None:
            try:
                t = datetime.strptime(text, self.time_format)
            except ValueError:
                raise JournalError(where, f"time {text!r} does not follow {self.time_format}") from None
            v = self.times[text] = t.hour * 3600 + t.minute * 60 + t.second
        return v


def parse_journals(
    sources: list[tuple[str, str]], dialect: Dialect, *, progress=None, predict: bool = True
) -> JournalParse:
    """Parse ``(name, text)`` journals in order (a cycle may span several files).

    Faults in what a recognised line says (a bad date, a card that is not a card number, a
    transaction without an amount) raise JournalError naming file and line; lines that match
    no rule are gaps, returned for the caller to judge. ``predict=False`` tries the rules in
    their order for every line (the benchmark's plain reference)."""
    out = JournalParse()
    clock = _Clock(dialect)
    matchers = dialect.matchers
    after: dict[int, tuple] = {}  # rule index -> the matcher that matched the next line last time
    prev = -1
    lookup_type = dialect.types.get
    lookup_reason = dialect.retain_reasons.get
    tx: Tx | None = None
    cp: CounterPrint | None = None
    day: int | None = None  # the current date (seconds), for lines that carry only a time
    done = 0
    total = sum(len(t) for _, t in sources)

    pending: list[Retained] = []  # cards retained during the open transaction

    def close() -> None:
        nonlocal tx
        if tx is not None:
            kept = _finish(tx, out, dialect)
            for r in pending:  # a transaction left out of the ledger is named by none
                r.tsn = tx.tsn if kept else None
            pending.clear()
            tx = None

    for name, text in sources:
        lines = text.split("\n")
        for lineno, line in enumerate(lines, 1):
            if progress is not None and not lineno % 20000:
                progress(done + len(text) * lineno // len(lines), total)
            guess = after.get(prev) if predict else None
            m = guess[1](line) if guess is not None else None
            if m is None:
                for guess in matchers:
                    m = guess[1](line)
                    if m is not None:
                        after[prev] = guess
                        break
                else:
                    out.gaps.append(Gap(name, lineno, _shown(line)))
                    prev = -1
                    continue
            rule = guess[0]
            prev = rule.index
            event = rule.event
            if event == "ignore":
                continue
            where = f"{name}:{lineno}"
            vals = {f: v for f, v in m.groupdict().items() if v is not None} if rule.fields else {}
            when = None
            if "date" in vals:
                day = clock.date(vals["date"], where)
            if "time" in vals:
                if day is None:
                    raise JournalError(where, "a time before any date in the journal")
                when = day + clock.time(vals["time"], where)
                if tx is not None and when < tx.start - 43200 and "date" not in vals:
                    when += 86400  # the transaction crossed midnight
            if event in TX_EVENTS:
                if event == "tx_start":
                    close()
                    cp = None
                    tx = Tx(where, when)
                elif event == "card_retained":
                    reason = lookup_reason(vals.get("reason", "").strip().upper(), "other")
                    card = vals.get("card")
                    if card is not None:
                        card = mask_card(card)
                        if card is None:
                            raise JournalError(
                                where, "the retained card is neither a masked nor a full card number"
                            )
                    if tx is None:
                        if card is None or when is None:
                            out.gaps.append(
                                Gap(
                                    name,
                                    lineno,
                                    _shown(line),
                                    "a card retained outside a transaction needs its card number and time",
                                )
                            )
                            continue
                        out.retained.append(Retained(where, when, card, None, reason))
                    else:
                        r = Retained(
                            where, when if when is not None else tx.start, card or tx.card, None, reason
                        )
                        out.retained.append(r)
                        pending.append(r)
                    continue
                elif tx is None:
                    out.gaps.append(Gap(name, lineno, _shown(line), f"a {event} line outside a transaction"))
                    continue
                # the transaction's own fields, on whatever line carries them
                if "tsn" in vals:
                    tx.tsn = vals["tsn"]
                if "card" in vals:
                    card = mask_card(vals["card"])
                    if card is None:
                        raise JournalError(where, "the card is neither a masked nor a full card number")
                    tx.card = card
                if "type" in vals:
                    tx.type = lookup_type(vals["type"].strip().upper())
                    if tx.type is None:
                        raise JournalError(
                            where, f"transaction type {vals['type']!r} is not in the dialect's [types]"
                        )
                if "amount" in vals:
                    tx.amount = parse_money(vals["amount"], where)
                if "code" in vals:
                    tx.code = vals["code"]
                if "ref" in vals:
                    tx.ref = vals["ref"]
                if event == "notes_presented":
                    counts = [int(c) for c in _COUNTS.findall(vals["counts"])]
                    if tx.presented is None:
                        tx.presented = counts
                    else:
                        n = max(len(counts), len(tx.presented))
                        tx.presented = [
                            (tx.presented[i] if i < len(tx.presented) else 0)
                            + (counts[i] if i < len(counts) else 0)
                            for i in range(n)
                        ]
                elif event == "notes_taken":
                    tx.taken = True
                elif event == "cash_retracted":
                    tx.retracted = parse_money(vals["cash"], where) if "cash" in vals else -1
                elif event == "power_failure":
                    tx.unknown = -1
                elif event == "reversal":
                    tx.reversed = True
                    if "cash" in vals:
                        tx.reversal_cash = parse_money(vals["cash"], where)
                elif event == "deposit_accepted":
                    tx.deposited += parse_money(vals["cash"], where)
                elif event == "deposit_returned":
                    tx.returned += parse_money(vals["cash"], where)
                elif event == "tx_end":
                    tx.end = when
                    close()
                continue
            # the counter print
            if event == "counters_start":
                close()
                cp = CounterPrint(where, when)
                out.prints.append(cp)
            elif event == "terminal":
                close()
                out.terminal = vals["terminal"]
            elif event == "counter_unit":
                if cp is None:
                    out.gaps.append(Gap(name, lineno, _shown(line), "a counter line outside a counter print"))
                    continue
                cp.units.append(CounterUnit(where, vals))
            elif event == "counters_end":
                cp = None
            if "cycle" in vals:
                out.cycle = vals["cycle"]
        out.lines += lineno
        done += len(text)
        if progress is not None:
            progress(done, total)
    close()
    return out


def _finish(tx: Tx, out: JournalParse, d: Dialect) -> bool:
    """Check a closed transaction has what the ledger needs; other kinds are counted, not
    kept. True when the transaction goes into the ledger."""
    if tx.type is None or tx.type == "other":
        out.skipped += 1
        return False
    missing = [n for n in ("tsn", "card", "amount") if getattr(tx, n) is None]
    if missing:
        raise JournalError(
            tx.where,
            f"the {tx.type} that starts here has no {', '.join(missing)}; "
            "the journal is cut or the dialect misses the line that carries it",
        )
    if tx.code is None:
        tx.code = d.no_answer_code  # the ATM had no answer from the host
    out.transactions.append(tx)
    return True
