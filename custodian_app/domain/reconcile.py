"""The reconciliation engine, exact to the cent (spec: "Reconciliation rules", revision 2).

Totals first, then details, the ATM side as the reference. ``reconcile`` compares an ATM ledger
with the backend's ledger (and, when given, the custodians' counts) and returns the
``ClearingResult``: the five totals items, the cash position, the mismatch list (each entry with
its cash effect and its action from the catalogue) and the retained cards.

Invariant (property-tested against arbitrary ledgers): the cash effects of all mismatches add
up to ``cash_position.difference`` exactly. Why it holds: per ATM transaction the difference
receives ``C − T − U`` from the ATM side and ``+H`` (withdrawal) or ``−H`` (deposit) from the
backend's booked records tied to it; the table's two "no entry" rows (a clean decline, a clean
match) are exactly the cases where that share is zero (row 1a takes every ``U > 0`` first),
every other row carries it as its cash effect; backend records tied to no ATM transaction are
HOST_ONLY with ``±H``, and the loading difference is LOADING_MISMATCH. That needs a withdrawal
to deposit nothing and a deposit to pay nothing out nor lose notes: a transaction that breaks
this is refused as invalid input (``formats.check_transaction``), here as in the reader.

The mismatch order is canonical (by TSN, type, category, backend refs …), so the same books give
the same list whatever the order of the records.

Kept as one module of about 500 lines: the spec's table, the entries outside it and the cash
effects are one rule set whose invariant only holds when read together.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from custodian_app.domain.catalogue import TOTALS_ITEM_NAMES, Catalogue, default_catalogue
from custodian_app.domain.documents import (
    INTO_UNIT_EVENTS,
    AtmLedger,
    AtmTransaction,
    CashPosition,
    ClearingResult,
    Counts,
    HostLedger,
    HostTransaction,
    Mismatch,
    NoteRecord,
    NoteTrail,
    TotalsItem,
)
from custodian_app.domain.formats import CATEGORIES, FormatError, check_same_clearing, check_transaction
from custodian_app.domain.money import format_amount

DEFAULT_SUCCESS_CODES = frozenset({"00"})

WITHDRAWAL = "withdrawal"
DEPOSIT = "deposit"

_CATEGORY_RANK = {c: i for i, c in enumerate(CATEGORIES)}
# Entries without a TSN come first, in the order a supervisor reads them.
_NO_TSN_RANK = {"LOADING_MISMATCH": 0, "COUNT_DIFFERS": 1, "TOTALS_INCONSISTENT": 2, "HOST_ONLY": 3}
_TYPE_RANK = {WITHDRAWAL: 0, DEPOSIT: 1, None: 2}
_ITEM_RANK = {"withdrawals.count": 0, "withdrawals.amount": 1, "deposits.count": 2, "deposits.amount": 3}
_EVENTS = ("taken", "retracted", "deposited", "returned")
_EVENT_SLOT = {e: i for i, e in enumerate(_EVENTS)}
_EVENT_ZH = {"taken": "取走", "retracted": "回收", "deposited": "存入", "returned": "退还"}
_ZERO_FLOW = (0, 0, 0, 0)


def reconcile(
    atm: AtmLedger,
    host: HostLedger,
    counts: Counts | None = None,
    *,
    success_codes: Iterable[str] = DEFAULT_SUCCESS_CODES,
    catalogue: Catalogue | None = None,
) -> ClearingResult:
    """Reconcile one clearing cycle. ``success_codes``: the backend's response codes that mean
    "booked" (the settings' ``reconciliation.success_codes``; every caller passes the same set).
    Raises FormatError when the documents do not belong to one clearing, a count names a unit
    the ATM does not have, or a transaction's figures contradict each other."""
    check_same_clearing(atm, host, counts)
    cat = catalogue if catalogue is not None else default_catalogue()
    success = frozenset(success_codes)
    if not success:
        raise ValueError("at least one success code is needed (the backend's 'booked' answer)")
    with _paused_gc():
        return _Engine(atm, host, counts, success, cat).run()


@contextmanager
def _paused_gc() -> Iterator[None]:
    """A big cycle builds many objects that all live on; the cyclic collector would re-scan
    them again and again and can find nothing."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class _Engine:
    def __init__(
        self, atm: AtmLedger, host: HostLedger, counts: Counts | None, success: frozenset[str], cat: Catalogue
    ) -> None:
        self.atm, self.host, self.counts, self.success, self.cat = atm, host, counts, success, cat
        self.mismatches: list[Mismatch] = []

    def action(self, category: str, reject: str | None = None, variant: str | None = None) -> tuple[str, str]:
        return (
            self.cat.action(category, reject, "zh", variant=variant),
            self.cat.action(category, reject, "en", variant=variant),
        )

    def run(self) -> ClearingResult:
        atm, host = self.atm, self.host
        txs = atm.transactions
        tied, host_only = tie(txs, host.transactions)
        h = host.transactions
        success = self.success
        add = self.mismatches.append

        w_count = w_amount = d_count = d_amount = 0
        sum_out = sum_in = 0  # Σ taken + Σ unknown; Σ deposited
        for i, t in enumerate(txs):
            is_w = t.type == WITHDRAWAL
            T, C, U = t.taken, t.deposited, t.unknown
            if (
                (is_w and (C or t.returned))
                or (not is_w and (T or t.retracted or U))
                or t.reversed_amount is not None
            ):
                check_transaction(t, _at(atm.source, f"$.transactions[{i}]"))
            A = t.amount - (t.reversed_amount or 0)
            ok = t.host_code in success
            booked = ok and not t.reversed
            if booked:
                if is_w:
                    w_count += 1
                    w_amount += A
                else:
                    d_count += 1
                    d_amount += A
            sum_out += T + U
            sum_in += C
            hosts = tied.get(i, [])
            n = len(hosts)
            # the usual case first: booked once, the same amount, the cash agrees (row 15)
            if (
                n == 1
                and booked
                and not U
                and h[hosts[0]].amount == A
                and ((is_w and T == A and T and not t.retracted) or (not is_w and C == A and C))
            ):
                continue
            if n == 0 and not booked and not (T if is_w else C) and not U:
                continue  # row 6: a clean decline
            H: int | None = None if n == 0 else sum(h[j].amount for j in hosts)
            category = table_row(is_w, n, A, H or 0, booked, T, t.retracted, C, U)
            if category is None:
                continue
            reject = None if ok else t.host_code
            variant = (
                "partial_reversal"
                if t.reversed_amount is not None and category == "AMOUNT_MISMATCH"
                else None
            )
            zh, en = self.action(category, reject, variant)
            add(
                Mismatch(
                    category=category,
                    tsn=t.tsn,
                    type=t.type,
                    atm_amount=t.amount,
                    host_amount=H,
                    reject_code=reject,
                    cash_effect=((H or 0) - T - U) if is_w else (C - (H or 0)),
                    action=zh,
                    action_en=en,
                    host_refs=self._refs(hosts),
                    time=t.time,
                    card=t.card,
                    reversed_amount=t.reversed_amount,
                )
            )

        for key, js in host_only:
            is_w = h[js[0]].type == WITHDRAWAL
            H = sum(h[j].amount for j in js)
            # time and card of the lowest reference: the same whatever the record order
            first = min((h[j] for j in js), key=lambda r: (r.host_ref, r.time, r.card))
            zh, en = self.action("HOST_ONLY")
            add(
                Mismatch(
                    category="HOST_ONLY",
                    tsn=key,
                    type=first.type,
                    atm_amount=None,
                    host_amount=H,
                    reject_code=None,
                    cash_effect=H if is_w else -H,
                    action=zh,
                    action_en=en,
                    host_refs=self._refs(js),
                    time=first.time,
                    card=first.card,
                )
            )

        atm_loaded, host_loaded = atm.totals.loaded_amount, host.totals.loaded_amount
        if atm_loaded != host_loaded:
            zh, en = self.action("LOADING_MISMATCH")
            add(
                Mismatch(
                    category="LOADING_MISMATCH",
                    tsn=None,
                    type=None,
                    atm_amount=atm_loaded,
                    host_amount=host_loaded,
                    reject_code=None,
                    cash_effect=atm_loaded - host_loaded,
                    action=zh,
                    action_en=en,
                )
            )

        if atm.notes is not None:
            self._note_flows(atm.notes, tied)
        if self.counts is not None:
            self._unit_counts()

        booked_h = [r for r in host.transactions if r.status == "booked"]
        hw = [r.amount for r in booked_h if r.type == WITHDRAWAL]
        hd = [r.amount for r in booked_h if r.type != WITHDRAWAL]
        for side, stated, computed in (
            ("atm", atm.totals, (w_count, w_amount, d_count, d_amount)),
            ("host", host.totals, (len(hw), sum(hw), len(hd), sum(hd))),
        ):
            figures = (
                stated.withdrawals.count,
                stated.withdrawals.amount,
                stated.deposits.count,
                stated.deposits.amount,
            )
            for item, said, found in zip(_ITEM_RANK, figures, computed, strict=False):
                if said != found:
                    add(self._totals_inconsistent(side, item, said, found))

        self.mismatches.sort(key=_canonical_key)
        totals = [
            TotalsItem("loaded_amount", atm_loaded, host_loaded),
            TotalsItem("withdrawals.count", atm.totals.withdrawals.count, host.totals.withdrawals.count),
            TotalsItem("withdrawals.amount", atm.totals.withdrawals.amount, host.totals.withdrawals.amount),
            TotalsItem("deposits.count", atm.totals.deposits.count, host.totals.deposits.count),
            TotalsItem("deposits.amount", atm.totals.deposits.amount, host.totals.deposits.amount),
        ]
        cash_position = CashPosition(
            atm_expected=atm_loaded + sum_in - sum_out,
            host_expected=host_loaded + sum(hd) - sum(hw),
            counted=None if self.counts is None else self.counts.total,
        )
        retained = sorted(atm.retained_cards, key=lambda c: (c.time, c.tsn or "", c.card, c.reason))
        return ClearingResult(
            atm.terminal_id,
            atm.cycle_id,
            atm.currency,
            totals,
            cash_position,
            self.mismatches,
            retained_cards=retained,
        )

    def _refs(self, hosts: list[int] | None) -> list[str]:
        h = self.host.transactions
        return [] if not hosts else sorted(h[j].host_ref for j in hosts)

    def _note_flows(self, notes: Sequence[NoteRecord], tied: dict[int, list[int]]) -> None:
        """NOTE_FLOW_MISMATCH: a TSN whose notes by event do not add up to its cash figures."""
        atm = self.atm
        flows = note_flows(notes)
        known = set()
        for i, t in enumerate(atm.transactions):
            known.add(t.tsn)
            got = flows.get(t.tsn, _ZERO_FLOW)
            want = (t.taken, t.retracted, t.deposited, t.returned)
            if got == want:
                continue
            hosts = tied.get(i)
            H = None if not hosts else sum(self.host.transactions[j].amount for j in hosts)
            reject = None if t.host_code in self.success else t.host_code
            zh, en = _note_detail(got, want)
            base_zh, base_en = self.action("NOTE_FLOW_MISMATCH")
            self.mismatches.append(
                Mismatch(
                    category="NOTE_FLOW_MISMATCH",
                    tsn=t.tsn,
                    type=t.type,
                    atm_amount=t.amount,
                    host_amount=H,
                    reject_code=reject,
                    cash_effect=0,
                    action=zh + base_zh,
                    action_en=en + base_en,
                    host_refs=self._refs(hosts),
                    time=t.time,
                    card=t.card,
                    reversed_amount=t.reversed_amount,
                )
            )
        for tsn in sorted(set(flows) - known):
            zh, en = _note_detail(flows[tsn], _ZERO_FLOW)
            base_zh, base_en = self.action("NOTE_FLOW_MISMATCH")
            self.mismatches.append(
                Mismatch(
                    category="NOTE_FLOW_MISMATCH",
                    tsn=tsn,
                    type=None,
                    atm_amount=None,
                    host_amount=None,
                    reject_code=None,
                    cash_effect=0,
                    action="流水中无此流水号。" + zh + base_zh,
                    action_en="The ledger has no transaction with this TSN. " + en + base_en,
                )
            )

    def _unit_counts(self) -> None:
        """COUNT_DIFFERS (rev 2): each counted unit against its derived amount."""
        atm, counts = self.atm, self.counts
        assert counts is not None
        into = None if atm.notes is None else notes_into_units(atm.notes)
        by_id = {u.id: u for u in atm.units}
        for uid, counted in counts.units.items():
            derived = by_id[uid].derived_amount(into)  # check_same_clearing: the unit exists
            if derived is None or counted == derived:
                continue
            variant = "shortage" if counted < derived else "overage"
            zh, en = self.action("COUNT_DIFFERS", variant=variant)
            self.mismatches.append(
                Mismatch(
                    category="COUNT_DIFFERS",
                    tsn=None,
                    type=None,
                    atm_amount=None,
                    host_amount=None,
                    reject_code=None,
                    cash_effect=0,
                    action=f"{uid}：清点 {format_amount(counted)}，应有 {format_amount(derived)}。" + zh,
                    action_en=f"{uid}: counted {format_amount(counted)}, should hold "
                    f"{format_amount(derived)}. " + en,
                    unit=uid,
                    counted=counted,
                    derived=derived,
                )
            )

    def _totals_inconsistent(self, side: str, item: str, said: int, found: int) -> Mismatch:
        show = format_amount if item.endswith(".amount") else str
        who_zh, who_en = ("ATM", "ATM") if side == "atm" else ("后台", "backend")
        name_zh, name_en = TOTALS_ITEM_NAMES[item]
        zh, en = self.action("TOTALS_INCONSISTENT")
        return Mismatch(
            category="TOTALS_INCONSISTENT",
            tsn=None,
            type=WITHDRAWAL if item.startswith("withdrawals") else DEPOSIT,
            atm_amount=None,
            host_amount=None,
            reject_code=None,
            cash_effect=0,
            action=f"{who_zh}汇总的{name_zh}为 {show(said)}，其明细合计为 {show(found)}。" + zh,
            action_en=f"The {who_en} totals give {name_en.lower()} = {show(said)}; its details add "
            f"up to {show(found)}. " + en,
            side=side,
            item=item,
        )


def tie(
    atm_txs: Sequence[AtmTransaction], host_txs: Sequence[HostTransaction]
) -> tuple[dict[int, list[int]], list[tuple[str | None, list[int]]]]:
    """The spec's tying: each booked backend record goes to the ATM transaction of its type with
    its TSN; else (rev 2) to the one of its type with its ``host_ref``. Returns (ATM index ->
    backend indices, the untied records grouped as HOST_ONLY entries: (TSN or None, indices))."""
    by_tsn: dict[tuple[str, str], int] = {}
    by_ref: dict[tuple[str, str], int] = {}
    for i, t in enumerate(atm_txs):
        by_tsn[(t.tsn, t.type)] = i
        if t.host_ref is not None:
            key = (t.host_ref, t.type)
            j = by_ref.get(key)
            # two ATM transactions with one reference: the lowest TSN, whatever the order
            if j is None or _tsn_key(t.tsn) < _tsn_key(atm_txs[j].tsn):
                by_ref[key] = i
    tied: dict[int, list[int]] = {}
    untied: dict[tuple[str, str], list[int]] = {}
    loose: list[tuple[str | None, list[int]]] = []
    for j, r in enumerate(host_txs):
        if r.status != "booked":
            continue
        k = None if r.tsn is None else by_tsn.get((r.tsn, r.type))
        if k is None:
            k = by_ref.get((r.host_ref, r.type))
        if k is not None:
            tied.setdefault(k, []).append(j)
        elif r.tsn is None:
            loose.append((None, [j]))
        else:
            untied.setdefault((r.tsn, r.type), []).append(j)
    return tied, [(tsn, js) for (tsn, _type), js in untied.items()] + loose


def table_row(
    wd: bool, n: int, A: int, H: int, atm_booked: bool, T: int, R: int, C: int, U: int = 0
) -> str | None:
    """The spec's table for one ATM transaction; first match wins; None: no entry."""
    if n >= 2:
        return "DUPLICATE_BOOKING"  # 1
    if wd and U > 0:
        return "UNKNOWN_OUTCOME"  # 1a (rev 2)
    if n == 0:
        if atm_booked:
            return "HOST_LOST_BOOKING" if (T > 0 or C > 0) else "CODE_DISAGREES"  # 2, 5
        if wd and T > 0:
            return "DISPENSED_NOT_DEBITED"  # 3
        if not wd and C > 0:
            return "DEPOSIT_NOT_CREDITED"  # 4
        return None  # 6: a clean decline, no cash moved
    if H != A:
        return "AMOUNT_MISMATCH"  # 7
    if wd:
        if R > 0:
            return "RETRACTED"  # 8
        if T == 0:
            return "DEBITED_NOT_DISPENSED"  # 9
        if T < H:
            return "PARTIAL_DISPENSE"  # 10
        if T > H:
            return "OVER_DISPENSE"  # 11
    else:
        if C == 0:
            return "CREDITED_NOT_DEPOSITED"  # 12
        if C != H:
            return "DEPOSIT_COUNT_DIFFERS"  # 13
    return None if atm_booked else "CODE_DISAGREES"  # 15, 14


def note_flows(notes: Sequence[NoteRecord]) -> dict[str, tuple[int, int, int, int]]:
    """Per TSN named by a note, the value of its notes by event: (taken, retracted, deposited,
    returned). Notes without a TSN and ``rejected`` movements are not part of any transaction's
    cash, but a rejected note still names its TSN (one the ledger lacks is a mismatch). The C
    scanner counts them while it reads (TSNs of the ledger with only zero flows left out, which
    compares the same)."""
    if isinstance(notes, NoteTrail):
        return notes.flows
    flows: dict[str, list[int]] = {}
    for n in notes:
        if n.tsn is None:
            continue
        f = flows.get(n.tsn)
        if f is None:
            f = flows[n.tsn] = [0, 0, 0, 0]
        slot = _EVENT_SLOT.get(n.event)
        if slot is not None:
            f[slot] += n.value
    return {k: (v[0], v[1], v[2], v[3]) for k, v in flows.items()}


def notes_into_units(notes: Sequence[NoteRecord]) -> dict[str, int]:
    """Per unit, the value of the notes that went into it (retracted, deposited, rejected): a
    mixed bin's derived amount (rev 2)."""
    if isinstance(notes, NoteTrail):
        return notes.into_units
    into: dict[str, int] = {}
    for n in notes:
        if n.event in INTO_UNIT_EVENTS:
            into[n.unit] = into.get(n.unit, 0) + n.value
    return into


def _note_detail(notes: Iterable[int], cash: Iterable[int]) -> tuple[str, str]:
    zh, en = [], []
    for event, got, want in zip(_EVENTS, notes, cash, strict=False):
        if got != want:
            zh.append(f"{_EVENT_ZH[event]}：冠字号合计 {format_amount(got)}，流水 {format_amount(want)}")
            en.append(f"{event}: notes {format_amount(got)}, ledger {format_amount(want)}")
    return "；".join(zh) + "。", "; ".join(en) + ". "


def _at(source: str, path: str) -> Callable[[str, str], FormatError]:
    """How ``check_transaction`` names a fault of a ledger built in code: its source and path."""
    return lambda name, message: FormatError(source, f"{path}.{name}", message)


def _tsn_key(tsn: str) -> tuple[int, str]:
    # TSNs are usually zero-padded digits; length first keeps unpadded ones in number order.
    return (len(tsn), tsn)


def _canonical_key(m: Mismatch) -> tuple[Any, ...]:
    head = (0, _NO_TSN_RANK.get(m.category, 4), 0, "") if m.tsn is None else (1, 0, *_tsn_key(m.tsn))
    return (
        *head,
        _TYPE_RANK[m.type],
        _CATEGORY_RANK[m.category],
        m.side or "",
        _ITEM_RANK.get(m.item or "", -1),
        m.unit or "",
        m.host_refs,
        m.host_amount or 0,
        m.time or "",
        m.card or "",
    )
