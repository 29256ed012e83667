"""A seeded scenario generator: one realistic clearing cycle, with any chosen mix of faults.

It is the tests' oracle (every injected fault produces exactly its mismatch category, nothing
else does), the simulators' and the demo's source, and the benchmark's data.

The cycle: a Chinese ATM / cash recycler with four dispensing cassettes (¥100 ×2, ¥50, ¥10), a
cash-in unit, a reject bin and a retract bin (XFS4IoT storage units); withdrawals, deposits,
declines (51, 55, 61 …), timeouts the ATM reversed, notes rejected during a dispense, notes a
depositor got back, and the 冠字号 trail of every banknote. The unit counters are the sums of
what happened, so the derived counts (initial + in − out; the out counters are exclusive:
``presented`` went to the customer's hand, ``rejected`` to the reject bin) are exactly what the
custodians find; ``counts`` is that physical cash.

``build_documents`` writes the three documents as JSON bytes directly (fast enough for a
million transactions with ~9 million note records); ``generate`` parses them back into
objects, so the generator's output always passes the reader.

Why one module of about 600 lines: every fault is a few lines in ``build_documents`` that reach
into the same cycle bookkeeping (``_Cycle``: the units' counters, the banknote trail, the
backend's bookings), and the counters only add up because they are kept in one place; split,
each half would need the other's private state.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from custodian_app.domain import formats
from custodian_app.domain.formats import CATEGORIES, AtmLedger, Counts, HostLedger

FAULT_LIMITS = {"LOADING_MISMATCH": 1, "TOTALS_INCONSISTENT": 8, "COUNT_DIFFERS": 4}

# Faults of rules revision 2 that are not named after one category, and what each produces:
# a partial reversal the backend applied and a TSN the backend lost or garbled (its host_ref
# kept) tie up cleanly; a retained card is on the hand-over list, not the mismatch list.
CASE_FAULTS: dict[str, dict[str, int]] = {
    "PARTIAL_REVERSAL": {},
    "PARTIAL_REVERSAL_IGNORED": {"AMOUNT_MISMATCH": 1},
    "TSN_LOST": {},
    "TSN_GARBLED": {},
    # the custodians find the notes in the reject bin, where the recovery purged them uncounted
    "UNKNOWN_OUTCOME_FOUND": {"UNKNOWN_OUTCOME": 1},
    "RETAINED_CARD": {},
}
FAULTS = CATEGORIES + tuple(CASE_FAULTS)

NAMED_MIXES: dict[str, dict[str, int]] = {
    "none": {},
    "all": {c: 1 for c in FAULTS},
    # What a branch sees in a busy week: a retract or two, a timeout each way, a jam, a partial
    # reversal, a record the backend could not tie by TSN, a captured card.
    "realistic": {
        "RETRACTED": 2,
        "DISPENSED_NOT_DEBITED": 1,
        "DEBITED_NOT_DISPENSED": 1,
        "PARTIAL_DISPENSE": 1,
        "DEPOSIT_NOT_CREDITED": 1,
        "HOST_ONLY": 1,
        "PARTIAL_REVERSAL": 1,
        "TSN_LOST": 1,
        "RETAINED_CARD": 1,
    },
}

# Faults that need an ATM transaction of their own (the others live in the backend or totals).
_ATM_FAULTS = (
    "DUPLICATE_BOOKING",
    "HOST_LOST_BOOKING",
    "DISPENSED_NOT_DEBITED",
    "DEPOSIT_NOT_CREDITED",
    "CODE_DISAGREES",
    "AMOUNT_MISMATCH",
    "RETRACTED",
    "DEBITED_NOT_DISPENSED",
    "PARTIAL_DISPENSE",
    "OVER_DISPENSE",
    "CREDITED_NOT_DEPOSITED",
    "DEPOSIT_COUNT_DIFFERS",
    "NOTE_FLOW_MISMATCH",
    "UNKNOWN_OUTCOME",
    "PARTIAL_REVERSAL",
    "PARTIAL_REVERSAL_IGNORED",
    "TSN_LOST",
    "TSN_GARBLED",
    "UNKNOWN_OUTCOME_FOUND",
    "RETAINED_CARD",
)
_CASSETTES = ("CST1", "CST2", "CST3", "CST4")

Y100, Y50, Y20, Y10 = 10000, 5000, 2000, 1000
# (id, type, value) in the order an ATM reports them.
UNITS = (
    ("CST1", "recycling", Y100),
    ("CST2", "cashOut", Y100),
    ("CST3", "cashOut", Y50),
    ("CST4", "cashOut", Y10),
    ("CIN1", "cashIn", None),
    ("REJ1", "reject", None),
    ("RTR1", "retract", None),
)
_DISPENSE = (("CST3", Y50), ("CST4", Y10))  # after the ¥100 cassettes, greedy

# Withdrawal amounts in yuan and their weights: mostly round hundreds, some fifties and tens.
_WD_AMOUNTS = (
    100,
    200,
    300,
    500,
    600,
    800,
    1000,
    1500,
    2000,
    2500,
    3000,
    5000,
    150,
    250,
    350,
    450,
    1050,
    120,
    280,
    1990,
)
_WD_WEIGHTS = (6, 9, 8, 14, 3, 5, 20, 6, 11, 3, 4, 2, 3, 2, 1, 1, 1, 1, 1, 1)
_CARD_BINS = ("622202", "621226", "621700", "623668", "622848", "621661", "622588", "622609", "621483")
_DECLINE_WD = ("51", "51", "51", "55", "55", "61", "05", "75", "65", "14", "54")
_DECLINE_DEP = ("14", "57", "62", "05")
_SERIAL_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


class FaultSpecError(ValueError):
    """A --faults specification that names no known fault or mix."""


def parse_fault_spec(spec: str | Mapping[str, int] | None) -> Counter[str]:
    """ "RETRACTED=2,HOST_ONLY=1", "all", "realistic,RETRACTED=3", "none" -> Counter[str].
    A mix name adds its faults; ``CATEGORY=N`` sets that category's count; ``CATEGORY`` is =1."""
    out: Counter[str] = Counter()
    if spec is None:
        return out
    if isinstance(spec, Mapping):
        items = [f"{k}={v}" for k, v in spec.items()]
    else:
        items = [s.strip() for s in spec.split(",") if s.strip()]
    for item in items:
        name, _, count = item.partition("=")
        name = name.strip()
        if name.lower() in NAMED_MIXES and not count:
            out.update(NAMED_MIXES[name.lower()])
            continue
        name = name.upper()
        if name not in FAULTS:
            raise FaultSpecError(
                f"unknown fault {name!r}; use one of {', '.join(FAULTS)} or a mix: {', '.join(NAMED_MIXES)}"
            )
        try:
            n = int(count) if count else 1
        except ValueError:
            raise FaultSpecError(f"fault count for {name} must be a whole number, found {count!r}") from None
        if n < 0:
            raise FaultSpecError(f"fault count for {name} must be >= 0, found {n}")
        out[name] = n
    for name, limit in FAULT_LIMITS.items():
        if out[name] > limit:
            raise FaultSpecError(f"{name} can be injected at most {limit} time(s), asked {out[name]}")
    return +out


@dataclass
class Documents:
    atm: bytes
    host: bytes
    counts: bytes
    expected: Counter[str]
    retained_cards: int = 0


@dataclass
class Scenario:
    atm: AtmLedger
    host: HostLedger
    counts: Counts
    expected: Counter[str]  # category -> how many mismatches reconcile() must report
    documents: Documents | None = None


def generate(
    seed: int,
    transactions: int,
    faults: str | Mapping[str, int] | None = None,
    *,
    notes: bool = True,
    terminal_id: str = "NJ-0001",
    cycle_id: str | None = None,
    currency: str = "CNY",
    opened_at: datetime | None = None,
    keep_documents: bool = False,
) -> Scenario:
    """A consistent cycle of ``transactions`` ATM transactions with ``faults`` injected."""
    docs = build_documents(
        seed,
        transactions,
        faults,
        notes=notes,
        terminal_id=terminal_id,
        cycle_id=cycle_id,
        currency=currency,
        opened_at=opened_at,
    )
    return Scenario(
        formats.parse_atm_ledger(docs.atm, "<generated atm ledger>"),
        formats.parse_host_ledger(docs.host, "<generated host ledger>"),
        formats.parse_counts(docs.counts, "<generated counts>"),
        docs.expected,
        docs if keep_documents else None,
    )


def _money_formatter() -> Callable[[int], str]:
    cache: dict[int, str] = {}

    def fa(minor: int) -> str:
        s = cache.get(minor)
        if s is None:
            s = cache[minor] = f"{'-' if minor < 0 else ''}{abs(minor) // 100}.{abs(minor) % 100:02d}"
        return s

    return fa


class _Cycle:
    """Generation state: counters per unit, the ledgers' lines, the running totals."""

    def __init__(self, seed: int, n: int, notes: bool, opened: datetime) -> None:
        self.rng = random.Random(seed)
        self.notes_on = notes
        self.opened = opened
        self.fa = _money_formatter()
        self.out_presented: Counter[str] = Counter()
        self.out_rejected: Counter[str] = Counter()
        self.out_unknown: Counter[str] = Counter()
        self.retained: list[str] = []
        self.in_deposited: Counter[str] = Counter()
        self.in_rejected: Counter[str] = Counter()
        self.in_retracted: Counter[str] = Counter()
        self.bin_value: Counter[str] = Counter()  # value held in mixed bins (CIN1, REJ1, RTR1)
        self.tx_lines: list[str] = []
        self.note_lines: list[str] = []
        self.host_lines: list[tuple[str, str]] = []  # (sort key, line)
        self.host_ref = 632409000000 + self.rng.randrange(100000) * 1000
        self.span = 48 * 3600
        self.n = max(n, 1)
        self._day_prefix: dict[int, str] = {}
        off = opened.strftime("%z") or "+0800"
        self.offset = f"{off[:3]}:{off[3:]}"
        self.atm_w = [0, 0]  # ATM-booked count, amount
        self.atm_d = [0, 0]
        self.host_w = [0, 0]
        self.host_d = [0, 0]
        self.serial_no = self.rng.randrange(10_000_000, 90_000_000)

    # -- helpers
    def when(self, sec: int) -> str:
        """The time ``sec`` seconds after the cycle opened, in the ATM's local time."""
        o = self.opened
        day, rest = divmod(o.hour * 3600 + o.minute * 60 + o.second + sec, 86400)
        prefix = self._day_prefix.get(day)
        if prefix is None:
            prefix = self._day_prefix[day] = (o + timedelta(days=day)).strftime("%Y-%m-%dT")
        h, rest = divmod(rest, 3600)
        m, s = divmod(rest, 60)
        return f"{prefix}{h:02d}:{m:02d}:{s:02d}{self.offset}"

    def card(self) -> str:
        r = self.rng
        return f"{r.choice(_CARD_BINS)}******{r.randrange(10000):04d}"

    def next_ref(self) -> str:
        self.host_ref += self.rng.randrange(1, 40)
        return str(self.host_ref)

    def serial(self) -> str:
        # 冠字号: two letters and eight digits; now and then a character the reader could not read.
        r = self.rng
        self.serial_no += r.randrange(1, 9000)
        s = f"{_SERIAL_LETTERS[self.serial_no % 24]}{_SERIAL_LETTERS[(self.serial_no // 24) % 24]}{self.serial_no % 100000000:08d}"
        if r.random() < 0.01:
            k = r.randrange(2, 10)
            s = s[:k] + "?" + s[k + 1 :]
        return s

    def note(self, value: int, tsn: str | None, unit: str, event: str) -> None:
        if self.notes_on:
            t = "null" if tsn is None else f'"{tsn}"'
            self.note_lines.append(
                f'{{"serial":"{self.serial()}","value":"{self.fa(value)}","tsn":{t},"unit":"{unit}","event":"{event}"}}'
            )

    def notes_for(self, amount: int) -> list[tuple[str, int]]:
        """The notes a dispense of ``amount`` takes, greedy, ¥100 from CST1 or CST2."""
        out = []
        hundreds, rest = divmod(amount, Y100)
        cst = "CST1" if self.rng.random() < 0.5 else "CST2"
        out.extend([(cst, Y100)] * hundreds)
        for unit, value in _DISPENSE:
            k, rest = divmod(rest, value)
            out.extend([(unit, value)] * k)
        assert rest == 0, amount
        return out

    def deposit_notes(self) -> list[int]:
        r = self.rng
        k = max(1, min(60, int(r.expovariate(1 / 9)) + 1))
        return [
            Y100 if x < 0.86 else Y50 if x < 0.93 else Y20 if x < 0.97 else Y10
            for x in (r.random() for _ in range(k))
        ]

    def book_host(
        self,
        sec: int,
        tsn: str | None,
        typ: str,
        card: str,
        amount: int,
        status: str = "booked",
        ref: str | None = None,
    ) -> str:
        ref = ref or self.next_ref()
        t = "null" if tsn is None else f'"{tsn}"'
        self.host_lines.append(
            (
                ref,
                f'{{"host_ref":"{ref}","tsn":{t},"time":"{self.when(sec)}",'
                f'"type":"{typ}","card":"{card}","amount":"{self.fa(amount)}",'
                f'"status":"{status}"}}',
            )
        )
        if status == "booked":
            tot = self.host_w if typ == "withdrawal" else self.host_d
            tot[0] += 1
            tot[1] += amount
        return ref

    def atm_tx(
        self,
        tsn: str,
        sec: int,
        typ: str,
        card: str,
        amount: int,
        code: str,
        ref: str | None,
        reversed_: bool,
        taken: int = 0,
        retracted: int = 0,
        deposited: int = 0,
        returned: int = 0,
        reversed_amount: int | None = None,
        unknown: int = 0,
    ) -> None:
        fa = self.fa
        r = "null" if ref is None else f'"{ref}"'
        partial = "" if reversed_amount is None else f',"reversed_amount":"{fa(reversed_amount)}"'
        lost = f',"unknown":"{fa(unknown)}"' if unknown else ""
        self.tx_lines.append(
            f'{{"tsn":"{tsn}","time":"{self.when(sec)}","type":"{typ}","card":"{card}",'
            f'"amount":"{fa(amount)}","host_code":"{code}","host_ref":{r},'
            f'"reversed":{"true" if reversed_ else "false"}{partial},"cash":{{"taken":"{fa(taken)}",'
            f'"retracted":"{fa(retracted)}","deposited":"{fa(deposited)}","returned":"{fa(returned)}"{lost}}}}}'
        )
        if code == "00" and not reversed_:
            tot = self.atm_w if typ == "withdrawal" else self.atm_d
            tot[0] += 1
            tot[1] += amount - (reversed_amount or 0)

    # -- the physical movements
    def dispense(self, tsn: str, amount: int, *, taken: bool = True) -> None:
        """Notes leave the cassettes; taken by the customer, or retracted into RTR1."""
        for unit, value in self.notes_for(amount):
            self.out_presented[unit] += 1
            if taken:
                self.note(value, tsn, unit, "taken")
            else:
                self.in_retracted["RTR1"] += 1
                self.bin_value["RTR1"] += value
                self.note(value, tsn, "RTR1", "retracted")
        if self.rng.random() < 0.03:  # a worn note diverted to the reject bin on the way
            self.reject_note(tsn)

    def lose(self, amount: int) -> None:
        """Notes leave the cassettes and nobody knows where (power lost mid-dispense)."""
        for unit, _value in self.notes_for(amount):
            self.out_unknown[unit] += 1

    def reject_note(self, tsn: str | None) -> None:
        unit = "CST1" if self.rng.random() < 0.5 else "CST2"
        self.out_rejected[unit] += 1
        self.in_rejected["REJ1"] += 1
        self.bin_value["REJ1"] += Y100
        self.note(Y100, tsn, "REJ1", "rejected")

    def accept(self, tsn: str, values: list[int]) -> int:
        for v in values:
            self.in_deposited["CIN1"] += 1
            self.bin_value["CIN1"] += v
            self.note(v, tsn, "CIN1", "deposited")
        return sum(values)

    def give_back(self, tsn: str, values: list[int]) -> int:
        for v in values:
            self.note(v, tsn, "CIN1", "returned")
        return sum(values)


def build_documents(
    seed: int,
    transactions: int,
    faults: str | Mapping[str, int] | None = None,
    *,
    notes: bool = True,
    terminal_id: str = "NJ-0001",
    cycle_id: str | None = None,
    currency: str = "CNY",
    opened_at: datetime | None = None,
) -> Documents:
    """The ATM ledger, the backend ledger and the counts of one cycle, as JSON bytes."""
    if type(transactions) is not int or transactions < 0:
        raise ValueError(f"transactions must be a whole number >= 0, found {transactions!r}")
    wanted = parse_fault_spec(faults)
    if wanted["NOTE_FLOW_MISMATCH"] and not notes:
        raise FaultSpecError("NOTE_FLOW_MISMATCH needs the banknote trail; drop --no-notes")
    if wanted["UNKNOWN_OUTCOME_FOUND"] and not notes:
        # without the trail a mixed bin has no derived amount to find the notes against
        raise FaultSpecError("UNKNOWN_OUTCOME_FOUND needs the banknote trail; drop --no-notes")
    needs_tx = sum(wanted[f] for f in _ATM_FAULTS)
    if needs_tx > transactions:
        raise FaultSpecError(f"the faults need {needs_tx} ATM transactions; the cycle has {transactions}")
    opened = opened_at or datetime(2026, 11, 20, 8, 0, 0, tzinfo=timezone(timedelta(hours=8)))
    cycle_id = cycle_id or f"{terminal_id}-{opened:%Y%m%d}"
    c = _Cycle(seed, transactions, notes, opened)
    rng = c.rng

    kinds: list[str] = [f for f in _ATM_FAULTS for _ in range(wanted[f])]
    kinds += ["normal"] * (transactions - len(kinds))
    rng.shuffle(kinds)

    first_tsn = rng.randrange(100, 1000)
    width = max(6, len(str(first_tsn + transactions + 100)))
    gap = c.span / max(transactions, 1)
    occurrence: Counter[str] = Counter()
    found: Counter[str] = Counter()  # unit -> value the custodians find there beyond its counters

    # Dispenser self-test at the start of the cycle: two notes to the reject bin, no TSN.
    for _ in range(2):
        c.reject_note(None)

    sec = 0.0
    for i, kind in enumerate(kinds):
        sec += rng.random() * 2 * gap
        s = int(sec)
        tsn = f"{first_tsn + i:0{width}d}"
        card = c.card()
        occurrence[kind] += 1
        k = occurrence[kind]
        if kind == "normal":
            x = rng.random()
            if x < 0.70:
                kind = "w_ok"
            elif x < 0.87:
                kind = "d_ok"
            elif x < 0.96:
                kind = "w_decline"
            elif x < 0.98:
                kind = "d_decline"
            else:
                kind = "w_timeout_reversed"
        amount = rng.choices(_WD_AMOUNTS, _WD_WEIGHTS)[0] * 100

        if kind == "w_ok":
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount)
            c.dispense(tsn, amount)
        elif kind == "d_ok":
            values = c.deposit_notes()
            back = [Y100] if rng.random() < 0.05 else []  # a suspect note handed back
            got = c.accept(tsn, values)
            ret = c.give_back(tsn, back)
            ref = c.book_host(s + 1, tsn, "deposit", card, got)
            c.atm_tx(tsn, s, "deposit", card, got, "00", ref, False, deposited=got, returned=ret)
        elif kind == "w_decline":
            c.atm_tx(tsn, s, "withdrawal", card, amount, rng.choice(_DECLINE_WD), None, False)
        elif kind == "d_decline":
            values = c.deposit_notes()
            ret = c.give_back(tsn, values)
            c.atm_tx(tsn, s, "deposit", card, ret, rng.choice(_DECLINE_DEP), None, False, returned=ret)
        elif kind == "w_timeout_reversed":
            # No answer in time, nothing paid out, reversal sent and honoured by the backend.
            c.book_host(s + 1, tsn, "withdrawal", card, amount, status="reversed")
            c.atm_tx(tsn, s, "withdrawal", card, amount, "68", None, True)

        # ---- the faults, one transaction each
        elif kind == "DUPLICATE_BOOKING":
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.book_host(s + 2, tsn, "withdrawal", card, amount)  # the switch resent, both booked
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount)
            c.dispense(tsn, amount)
        elif kind == "HOST_LOST_BOOKING":
            ref = str(c.host_ref + 7)  # the ATM has the answer; the backend lost the record
            if k % 2:
                c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount)
                c.dispense(tsn, amount)
            else:
                got = c.accept(tsn, c.deposit_notes())
                c.atm_tx(tsn, s, "deposit", card, got, "00", ref, False, deposited=got)
        elif kind == "DISPENSED_NOT_DEBITED":
            c.atm_tx(
                tsn, s, "withdrawal", card, amount, rng.choice(("68", "91", "96")), None, False, taken=amount
            )
            c.dispense(tsn, amount)
        elif kind == "DEPOSIT_NOT_CREDITED":
            got = c.accept(tsn, c.deposit_notes())
            c.atm_tx(tsn, s, "deposit", card, got, rng.choice(("68", "96")), None, False, deposited=got)
        elif kind == "CODE_DISAGREES":
            if k % 2:
                # Timeout on the ATM, yet the backend booked it and the cash went out.
                c.book_host(s + 1, tsn, "withdrawal", card, amount)
                c.atm_tx(tsn, s, "withdrawal", card, amount, "68", None, False, taken=amount)
                c.dispense(tsn, amount)
            else:
                # The ATM logged an approval for a withdrawal that never happened anywhere.
                c.atm_tx(tsn, s, "withdrawal", card, amount, "00", c.next_ref(), False)
        elif kind == "AMOUNT_MISMATCH":
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount * 10)  # a zero too many
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount)
            c.dispense(tsn, amount)
        elif kind == "RETRACTED":
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, retracted=amount)
            c.dispense(tsn, amount, taken=False)
        elif kind == "DEBITED_NOT_DISPENSED":
            # Dispenser fault; the ATM reversed, the backend never applied the reversal.
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, True)
        elif kind == "PARTIAL_DISPENSE":
            amount = max(amount, 2 * Y100)
            paid = (amount // 2) // Y100 * Y100  # a jam after half the hundreds
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=paid)
            c.dispense(tsn, paid)
        elif kind == "OVER_DISPENSE":
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount + Y100)
            c.dispense(tsn, amount + Y100)  # two notes stuck together
        elif kind == "CREDITED_NOT_DEPOSITED":
            values = c.deposit_notes()
            got = sum(values)
            ref = c.book_host(s + 1, tsn, "deposit", card, got)
            c.give_back(tsn, values)
            c.atm_tx(tsn, s, "deposit", card, got, "68", None, True, returned=got)
        elif kind == "DEPOSIT_COUNT_DIFFERS":
            values = c.deposit_notes() + [Y100]
            got = c.accept(tsn, values[:-1])
            ret = c.give_back(tsn, values[-1:])  # the escrow handed one note back after counting
            ref = c.book_host(s + 1, tsn, "deposit", card, got + Y100)
            c.atm_tx(tsn, s, "deposit", card, got + Y100, "00", ref, False, deposited=got, returned=ret)
        elif kind == "NOTE_FLOW_MISMATCH":
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount)
            mark = len(c.note_lines)
            c.dispense(tsn, amount)
            # the serial reader lost one taken note's record
            lost = next(j for j in range(mark, len(c.note_lines)) if '"taken"' in c.note_lines[j])
            del c.note_lines[lost]
        # ---- rules revision 2
        elif kind == "UNKNOWN_OUTCOME" or kind == "UNKNOWN_OUTCOME_FOUND":
            # Power lost mid-dispense after the backend's approval: the notes left the
            # cassettes, the ATM cannot say where. Gone, or found by the custodians in the
            # reject bin, where the recovery purged them without counting them.
            ref = c.book_host(s + 1, tsn, "withdrawal", card, amount)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, unknown=amount)
            c.lose(amount)
            if kind == "UNKNOWN_OUTCOME_FOUND":
                found["REJ1"] += amount
        elif kind == "PARTIAL_REVERSAL" or kind == "PARTIAL_REVERSAL_IGNORED":
            # A jam after part of the notes: the ATM pays what it has, reverses the rest (0420
            # with the replacement amount); the backend applies it, or books the full amount.
            amount = max(amount, 2 * Y100)
            paid = (amount // 2) // Y100 * Y100
            booked = paid if kind == "PARTIAL_REVERSAL" else amount
            ref = c.book_host(s + 1, tsn, "withdrawal", card, booked)
            c.atm_tx(
                tsn,
                s,
                "withdrawal",
                card,
                amount,
                "00",
                ref,
                False,
                taken=paid,
                reversed_amount=amount - paid,
            )
            c.dispense(tsn, paid)
        elif kind == "TSN_LOST" or kind == "TSN_GARBLED":
            # The backend's record lost the TSN, or got it garbled; its own reference, which
            # the ATM was told, ties it.
            ref = c.next_ref()
            c.book_host(s + 1, None if kind == "TSN_LOST" else tsn + "0", "withdrawal", card, amount, ref=ref)
            c.atm_tx(tsn, s, "withdrawal", card, amount, "00", ref, False, taken=amount)
            c.dispense(tsn, amount)
        elif kind == "RETAINED_CARD":
            # A declined withdrawal whose card the host told the ATM to keep (41: lost card).
            c.atm_tx(tsn, s, "withdrawal", card, amount, "41", None, False)
            c.retained.append(f'{{"time":"{c.when(s + 2)}","card":"{card}","tsn":"{tsn}","reason":"host"}}')
        else:  # pragma: no cover - kinds are built above
            raise AssertionError(kind)

    end_sec = int(sec) + 60
    # ---- backend-only bookings
    for k in range(wanted["HOST_ONLY"]):
        amount = rng.choice((500, 1000, 2000)) * 100
        s = int(rng.random() * max(end_sec, 1))
        if k % 2 == 0:  # a TSN this ATM never issued (another terminal's, misrouted)
            c.book_host(s, f"{first_tsn + transactions + 10 + k:0{width}d}", "withdrawal", c.card(), amount)
        else:  # the backend could not tie it to a TSN
            c.book_host(s, None, "withdrawal", c.card(), amount)

    # ---- the units: initial loads cover what was paid out, with a margin
    fa = c.fa
    loaded = 0
    unit_docs = []
    for uid, utype, value in UNITS:
        if utype in ("cashOut", "recycling"):
            used = c.out_presented[uid] + c.out_rejected[uid] + c.out_unknown[uid]
            initial = max(500 if value != Y10 else 200, -(-int(used * 1.2 + 100) // 100) * 100)
            assert value is not None  # cassettes have a denomination
            loaded += initial * value
        else:
            initial = 0
        unit_docs.append((uid, utype, value, initial))
    closed = c.when(end_sec)

    atm_totals = [list(c.atm_w), list(c.atm_d)]
    host_totals = [list(c.host_w), list(c.host_d)]
    host_loaded = loaded
    if wanted["LOADING_MISMATCH"]:
        host_loaded = loaded + 10000 * 100  # the loading slip keyed one bundle too many
    # TOTALS_INCONSISTENT: each fault bends one (side, item) of a side's stated totals.
    slots = [(side, t, f) for side in (atm_totals, host_totals) for t in (0, 1) for f in (0, 1)]
    for side, t, f in slots[: wanted["TOTALS_INCONSISTENT"]]:
        side[t][f] += 1 if f == 0 else 5000

    def totals(loaded_amount: int, tot: list[list[int]]) -> str:
        return (
            f'{{"loaded_amount":"{fa(loaded_amount)}","withdrawals":{{"count":{tot[0][0]},'
            f'"amount":"{fa(tot[0][1])}"}},"deposits":{{"count":{tot[1][0]},"amount":"{fa(tot[1][1])}"}}}}'
        )

    units_json = ",\n".join(
        f'{{"id":"{uid}","type":"{utype}","currency":"{currency}",'
        f'"value":{"null" if value is None else chr(34) + fa(value) + chr(34)},"initial":{initial},'
        f'"out":{{"presented":{c.out_presented[uid]},"rejected":{c.out_rejected[uid]},'
        f'"distributed":{c.out_presented[uid]},"unknown":{c.out_unknown[uid]}}},'
        f'"in":{{"deposited":{c.in_deposited[uid]},"retracted":{c.in_retracted[uid]},"rejected":{c.in_rejected[uid]}}}}}'
        for uid, utype, value, initial in unit_docs
    )
    head = (
        f'{{"format":"atm-ledger/1","terminal_id":"{terminal_id}","cycle_id":"{cycle_id}",'
        f'"currency":"{currency}","opened_at":"{c.when(0)}","closed_at":"{closed}",'
        f'"totals":{totals(loaded, atm_totals)},\n"units":[\n{units_json}\n],\n"transactions":[\n'
    )
    parts = [head, ",\n".join(c.tx_lines), "\n]"]
    if c.retained:
        parts += [',\n"retained_cards":[', ",".join(c.retained), "]"]
    if notes:
        parts += [',\n"notes":[\n', ",\n".join(c.note_lines), "\n]"]
    parts.append("}\n")
    atm = "".join(parts).encode()

    c.host_lines.sort()  # the backend lists by its own reference
    host = (
        f'{{"format":"host-ledger/1","terminal_id":"{terminal_id}","cycle_id":"{cycle_id}",'
        f'"currency":"{currency}","totals":{totals(host_loaded, host_totals)},\n"transactions":[\n'
        + ",\n".join(line for _, line in c.host_lines)
        + "\n]}\n"
    ).encode()

    counted = {}
    for uid, _utype, value, initial in unit_docs:
        if value is None:
            counted[uid] = c.bin_value[uid]
        else:
            counted[uid] = (
                initial
                + c.in_deposited[uid]
                + c.in_retracted[uid]
                + c.in_rejected[uid]
                - c.out_presented[uid]
                - c.out_rejected[uid]
                - c.out_unknown[uid]
            ) * value
        counted[uid] += found[uid]
    # COUNT_DIFFERS: a note short in a cassette (one cassette per fault)
    for k in range(wanted["COUNT_DIFFERS"]):
        uid = _CASSETTES[k]
        counted[uid] -= next(v for u, _t, v in UNITS if u == uid and v is not None)
    counts = formats.dumps(
        {
            "format": "counts/1",
            "terminal_id": terminal_id,
            "cycle_id": cycle_id,
            "currency": currency,
            "counted_by": ["custodian-a", "custodian-b"],
            "units": {uid: fa(v) for uid, v in counted.items()},
        },
        indent=True,
    )
    expected = Counter({k: v for k, v in wanted.items() if v and k in CATEGORIES})
    for name, produces in CASE_FAULTS.items():
        for category, n in produces.items():
            expected[category] += n * wanted[name]
    expected["COUNT_DIFFERS"] += 1 if found else 0  # one entry for the reject bin
    return Documents(atm, host, counts, +expected, len(c.retained))
