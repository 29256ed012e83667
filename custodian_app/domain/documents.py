"""The four clearing documents as objects (docs/formats.md, rules revision 2).

Money fields are int minor units. ``formats`` reads and writes them; the engine, the link, the
backend connector, the store and the report use them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

# Counters of a unit that the spec requires, and those kept when present (XFS4IoT)
OUT_COUNTERS = ("presented", "rejected", "distributed", "unknown")
OUT_COUNTERS_OPTIONAL = ("stacked", "diverted", "transport")
IN_COUNTERS = ("deposited", "retracted", "rejected")
IN_COUNTERS_OPTIONAL = ("retractOperations", "distributed", "transport")
# The note events that put a note into a unit: a mixed bin's derived amount (rev 2)
INTO_UNIT_EVENTS = frozenset({"retracted", "deposited", "rejected"})


@dataclass(slots=True)
class TypeTotals:
    """One type's totals: how many, and their sum in minor units."""

    count: int
    amount: int


@dataclass(slots=True)
class Totals:
    """A ledger's totals: cash loaded, and the booked withdrawals and deposits."""

    loaded_amount: int
    withdrawals: TypeTotals
    deposits: TypeTotals


def unit_count(initial: int, in_: Mapping[str, int], out: Mapping[str, int]) -> int:
    """The notes a unit should hold, by the spec's exact arithmetic (rev 2): initial +
    in.deposited + in.retracted + in.rejected − out.presented − out.rejected − out.unknown.
    ``out.distributed`` overlaps ``presented`` and is never subtracted. The one place of this
    rule: the ledger's units, the journal's counter prints and XFS4IoT's counters use it."""
    return (
        initial
        + in_["deposited"]
        + in_["retracted"]
        + in_["rejected"]
        - out["presented"]
        - out["rejected"]
        - out["unknown"]
    )


@dataclass(slots=True)
class Unit:
    """An XFS4IoT storage unit. ``value`` is the denomination (minor units) or None (mixed)."""

    id: str
    type: str
    currency: str
    value: int | None
    initial: int
    out: dict[str, int]
    in_: dict[str, int]

    @property
    def count(self) -> int:
        """The notes the unit should hold (``unit_count``)."""
        return unit_count(self.initial, self.in_, self.out)

    def derived_amount(self, into_units: dict[str, int] | None) -> int | None:
        """What the unit should hold, in minor units: count × value; for a mixed bin the value
        of the notes that went into it (``into_units``, from the trail), or None without one."""
        if self.value is not None:
            return self.count * self.value
        if into_units is None:
            return None
        return into_units.get(self.id, 0)


@dataclass(slots=True)
class AtmTransaction:
    """One ATM transaction (money in minor units): what was asked, the backend's answer as the
    ATM recorded it, and the cash that moved (``cash`` in the document)."""

    tsn: str
    time: str
    type: str
    card: str
    amount: int
    host_code: str
    host_ref: str | None
    reversed: bool
    reversed_amount: int | None = None  # rev 2: a partial reversal
    taken: int = 0
    retracted: int = 0
    deposited: int = 0
    returned: int = 0
    unknown: int = 0  # rev 2: notes whose fate the ATM could not establish

    @property
    def booked_amount(self) -> int:
        """``A`` of the spec: the amount less a partial reversal."""
        return self.amount - (self.reversed_amount or 0)


@dataclass(slots=True)
class NoteRecord:
    """One banknote movement of the 冠字号 trail (``tsn`` None: outside any transaction)."""

    serial: str
    value: int
    tsn: str | None
    unit: str
    event: str


@dataclass(slots=True)
class RetainedCard:
    """A card the ATM captured (吞卡) during the cycle (rev 2)."""

    time: str
    card: str
    tsn: str | None
    reason: str


class NoteTrail(Sequence[NoteRecord]):
    """``AtmLedger.notes`` as the C scanner read it: the JSON array's bytes, already checked,
    with the per-TSN flows and the per-unit sums counted on the way. ``NoteRecord`` objects are
    built only when somebody looks at the records (the engine needs only the sums)."""

    __slots__ = ("_array", "_len", "_items", "flows", "into_units")

    def __init__(
        self,
        array: bytes,
        length: int,
        flows: dict[str, tuple[int, int, int, int]],
        into_units: dict[str, int],
    ) -> None:
        self._array = array
        self._len = length
        self._items: list[NoteRecord] | None = None
        self.flows = flows
        self.into_units = into_units

    def _list(self) -> list[NoteRecord]:
        if self._items is None:
            money: dict[str, int] = {}
            items = []
            for d in orjson.loads(self._array):
                v = d["value"]
                m = money.get(v)
                if m is None:
                    m = money[v] = int(v.replace(".", "", 1))
                items.append(NoteRecord(d["serial"], m, d["tsn"], d["unit"], d["event"]))
            self._items = items
        return self._items

    def __len__(self) -> int:
        return self._len

    def __getitem__(self, index: Any) -> Any:
        return self._list()[index]

    def __iter__(self) -> Iterator[NoteRecord]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, NoteTrail)):
            return self._list() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"NoteTrail({self._len} notes)"


@dataclass(slots=True)
class AtmLedger:
    """atm-ledger/1: the ATM's books for one cycle (the reference)."""

    terminal_id: str
    cycle_id: str
    currency: str
    opened_at: str
    closed_at: str | None
    totals: Totals
    units: list[Unit]
    transactions: list[AtmTransaction]
    notes: Sequence[NoteRecord] | None = None
    source: str = field(default="<atm ledger>", compare=False)
    retained_cards: list[RetainedCard] = field(default_factory=list)  # rev 2


@dataclass(slots=True)
class HostTransaction:
    """One backend record; only ``booked`` ones count."""

    host_ref: str
    tsn: str | None
    time: str
    type: str
    card: str
    amount: int
    status: str


@dataclass(slots=True)
class HostLedger:
    """host-ledger/1: the backend's books for the same cycle."""

    terminal_id: str
    cycle_id: str
    currency: str
    totals: Totals
    transactions: list[HostTransaction]
    source: str = field(default="<host ledger>", compare=False)


@dataclass(slots=True)
class Counts:
    """counts/1: the cash the custodians found in each unit (minor units)."""

    terminal_id: str
    cycle_id: str
    currency: str
    counted_by: list[str]
    units: dict[str, int]
    source: str = field(default="<counts>", compare=False)

    @property
    def total(self) -> int:
        return sum(self.units.values())


@dataclass(slots=True)
class TotalsItem:
    """One line of the totals check: the ATM's figure and the backend's."""

    item: str
    atm: int  # minor units for amounts, a plain count for counts
    host: int

    @property
    def equal(self) -> bool:
        return self.atm == self.host

    @property
    def is_amount(self) -> bool:
        return not self.item.endswith(".count")


@dataclass(slots=True)
class CashPosition:
    """What the cash should be by each side's books, and what was counted."""

    atm_expected: int
    host_expected: int
    counted: int | None = None

    @property
    def difference(self) -> int:
        """Positive: overage (长款) against the backend's books; negative: shortage (短款)."""
        return self.atm_expected - self.host_expected

    @property
    def counted_vs_atm(self) -> int | None:
        return None if self.counted is None else self.counted - self.atm_expected

    @property
    def counted_vs_host(self) -> int | None:
        return None if self.counted is None else self.counted - self.host_expected


@dataclass(slots=True)
class Mismatch:
    """One entry of the mismatch list: its category, the figures of both sides, its cash
    effect and what to do."""

    category: str
    tsn: str | None
    type: str | None
    atm_amount: int | None
    host_amount: int | None
    reject_code: str | None
    cash_effect: int
    action: str = ""  # what to do, Chinese
    action_en: str = ""  # the same in English
    host_refs: list[str] = field(default_factory=list)
    side: str | None = None  # TOTALS_INCONSISTENT only
    item: str | None = None  # TOTALS_INCONSISTENT only
    time: str | None = None  # the ATM transaction's time, when there is one
    card: str | None = None  # masked card, when there is one
    unit: str | None = None  # COUNT_DIFFERS only (rev 2)
    counted: int | None = None  # COUNT_DIFFERS only (rev 2)
    derived: int | None = None  # COUNT_DIFFERS only (rev 2)
    reversed_amount: int | None = None  # a partially reversed transaction (rev 2)


@dataclass(slots=True)
class ClearingResult:
    """clearing-result/1: the reconciliation's conclusion."""

    terminal_id: str
    cycle_id: str
    currency: str
    totals: list[TotalsItem]
    cash_position: CashPosition
    mismatches: list[Mismatch]
    source: str = field(default="<clearing result>", compare=False)
    retained_cards: list[RetainedCard] = field(default_factory=list)  # rev 2

    @property
    def balanced(self) -> bool:
        cp = self.cash_position
        if self.mismatches or not all(t.equal for t in self.totals):
            return False
        return cp.counted is None or cp.counted == cp.atm_expected == cp.host_expected
