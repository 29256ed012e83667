"""The reconciliation engine: the patent's method, exact to the cent (spec: "Reconciliation rules").

Totals first, then details, the ATM side as the reference. ``reconcile`` compares an ATM ledger
with the backend's ledger (and, when given, the custodians' counts) and returns the
``ClearingResult``: the five totals items, the cash position and the mismatch list, each
mismatch with its cash effect and its suggested action from the catalogue.

Invariant (checked by the tests for arbitrary ledgers): the cash effects of all mismatches add
up to ``cash_position.difference`` exactly. Why it holds: per ATM transaction the difference
receives ``C - T`` from the ATM side and ``+H`` (withdrawal) or ``-H`` (deposit) from the
backend's booked records with the same TSN and type; the table's two "no entry" rows (a clean
decline, a clean match) are exactly the cases where that share is zero, every other row carries
it as its cash effect; backend records tied to no ATM transaction are HOST_ONLY with ``±H``, and
the loading difference is LOADING_MISMATCH. That needs a withdrawal to deposit nothing and a
deposit to pay nothing out (the spec: "the other two are 0.00"): a transaction that breaks this
is refused as invalid input, here as in the reader, rather than leave a cent unexplained.

The mismatch order is canonical (by TSN, type, category, backend refs), so the same books give
the same list whatever the order of the records.
"""

from __future__ import annotations

from itertools import compress, repeat
from operator import and_, attrgetter, eq, gt, ne, not_
from typing import Iterable

from custodian_app.domain.catalogue import TOTALS_ITEM_NAMES, Catalogue, default_catalogue
from custodian_app.domain.formats import (
    CATEGORIES,
    AtmLedger,
    CashPosition,
    ClearingResult,
    Counts,
    FormatError,
    HostLedger,
    Mismatch,
    TotalsItem,
    check_same_clearing,
)
from custodian_app.domain.fastpath import AtmTransactions, HostTransactions, paused_gc
from custodian_app.domain.money import format_amount

ATM_FIELDS = AtmTransactions.FIELDS
HOST_FIELDS = HostTransactions.FIELDS

DEFAULT_SUCCESS_CODES = frozenset({"00"})

WITHDRAWAL = "withdrawal"
DEPOSIT = "deposit"

_CATEGORY_RANK = {c: i for i, c in enumerate(CATEGORIES)}
# Entries without a TSN come first, in the order a supervisor reads them.
_NO_TSN_RANK = {"LOADING_MISMATCH": 0, "TOTALS_INCONSISTENT": 1, "HOST_ONLY": 2}
_TYPE_RANK = {WITHDRAWAL: 0, DEPOSIT: 1, None: 2}
_ITEM_RANK = {"withdrawals.count": 0, "withdrawals.amount": 1, "deposits.count": 2, "deposits.amount": 3}
_EVENTS = ("taken", "retracted", "deposited", "returned")
_EVENT_ZH = {"taken": "取走", "retracted": "回收", "deposited": "存入", "returned": "退还"}


def reconcile(
    atm: AtmLedger,
    host: HostLedger,
    counts: Counts | None = None,
    *,
    success_codes: Iterable[str] = DEFAULT_SUCCESS_CODES,
    catalogue: Catalogue | None = None,
) -> ClearingResult:
    """Reconcile one clearing cycle. Raises FormatError when the documents do not belong to one
    clearing (terminal, cycle, currency) or a transaction's cash figures contradict its type."""
    check_same_clearing(atm, host, counts)
    cat = catalogue if catalogue is not None else default_catalogue()
    success = frozenset(success_codes)
    if not success:
        raise ValueError("at least one success code is needed (the backend's 'booked' answer)")
    with paused_gc():
        return _reconcile(atm, host, counts, success, cat)


def _columns(records, fields: tuple[str, ...]) -> tuple:
    cols = getattr(records, "columns", None)  # the fast reader's columns, when still valid
    if cols is not None:
        return cols
    records = list(records)
    return tuple(list(map(attrgetter(f), records)) for f in fields)


def _reconcile(atm: AtmLedger, host: HostLedger, counts: Counts | None, success: frozenset,
               cat: Catalogue) -> ClearingResult:
    # The work is done a column at a time (C-speed map/zip/set operations); Python code runs
    # per transaction only for the exceptions, so a million-transaction cycle costs little
    # more than reading it. The rules are the spec's table, row by row, in ``_table_row``;
    # the column step only sets aside the rows that row 15 (a clean match) leaves alone.
    mismatches: list[Mismatch] = []
    (tsn, time_, typ, card, amount, code, _ref, rev,
     taken, retracted, deposited, returned) = _columns(atm.transactions, ATM_FIELDS)
    n = len(tsn)

    # ---- a withdrawal deposits nothing, a deposit pays nothing out (else a cent is lost)
    is_w = list(map(eq, typ, repeat(WITHDRAWAL)))
    for w, T, R, C, Ret in set(zip(is_w, taken, retracted, deposited, returned)):
        if (w and (C or Ret)) or (not w and (T or R)):
            i = list(zip(is_w, taken, retracted, deposited, returned)).index((w, T, R, C, Ret))
            field = ("deposited" if C else "returned") if w else ("taken" if T else "retracted")
            raise FormatError(atm.source, f"$.transactions[{i}].cash.{field}",
                              f"a {typ[i]} cannot have cash {field} (found "
                              f"{format_amount((C or Ret) if w else (T or R))}); the spec requires \"0.00\" there")

    # ---- the backend's booked records, tied by (TSN, type): one index per type, keyed by TSN
    h_ref, h_tsn, h_time, h_type, h_card, h_amount, h_status = _columns(host.transactions, HOST_FIELDS)
    bi = list(compress(range(len(h_ref)), map(eq, h_status, repeat("booked"))))
    b_amount = list(map(h_amount.__getitem__, bi))
    b_is_w = list(map(eq, map(h_type.__getitem__, bi), repeat(WITHDRAWAL)))
    host_w_count = sum(b_is_w)
    host_w_amount = sum(compress(b_amount, b_is_w))
    host_d_count = len(bi) - host_w_count
    host_d_amount = sum(b_amount) - host_w_amount
    booked = {WITHDRAWAL: _Bookings(list(compress(bi, b_is_w)), h_tsn, h_amount),
              DEPOSIT: _Bookings(list(compress(bi, map(not_, b_is_w))), h_tsn, h_amount)}
    bw, bd = booked[WITHDRAWAL], booked[DEPOSIT]

    def refs_of(typ_: str, t: str) -> list[str]:
        return sorted(map(h_ref.__getitem__, booked[typ_].records.get(t, ())))

    # ---- the ATM's side
    ok_code = list(map(success.__contains__, code))
    atm_booked = list(map(gt, ok_code, rev))  # a success code and not reversed
    w_booked = list(map(and_, atm_booked, is_w))
    d_booked = list(map(gt, atm_booked, is_w))
    atm_w_count, atm_d_count = sum(w_booked), sum(d_booked)
    atm_w_amount = sum(compress(amount, w_booked))
    atm_d_amount = sum(compress(amount, d_booked))
    sum_taken, sum_deposited = sum(taken), sum(deposited)

    # Row 15 (booked once, same amount, cash agrees, both sides say booked) is most of a
    # cycle: set those rows aside cheaply; every other row goes through the table.
    w_once, d_once = bw.once, bd.once
    exceptions = []
    for i, (t, w, A, T, R, C, b) in enumerate(zip(tsn, is_w, amount, taken, retracted, deposited, atm_booked)):
        if b:
            # T > 0 / C > 0: a booked zero amount with no cash is row 9 or 12, not row 15
            if w:
                if T == A and T and not R and w_once.get(t) == A:
                    continue
            elif C == A and C and d_once.get(t) == A:
                continue
        exceptions.append(i)
    for i in exceptions:
        t, ty = tsn[i], typ[i]
        bk = booked[ty]
        k = bk.count(t)
        H = bk.total(t)
        category = _table_row(is_w[i], k, amount[i], H, atm_booked[i], taken[i], retracted[i], deposited[i])
        if category is None:
            continue
        reject = None if ok_code[i] else code[i]
        mismatches.append(Mismatch(
            category=category, tsn=t, type=ty, atm_amount=amount[i],
            host_amount=H if k else None, reject_code=reject,
            cash_effect=(H - taken[i]) if is_w[i] else (deposited[i] - H),
            action=cat.action(category, reject, "zh"), action_en=cat.action(category, reject, "en"),
            host_refs=refs_of(ty, t), time=time_[i], card=card[i],
        ))

    # ---- outside the table: backend-only bookings
    for ty, bk, atm_tsns in ((WITHDRAWAL, bw, compress(tsn, is_w)), (DEPOSIT, bd, compress(tsn, map(not_, is_w)))):
        for t in bk.records.keys() - set(atm_tsns):
            if t is None:
                continue  # one entry per record, below
            # time and card of the lowest reference: the same whatever the record order
            j = min(bk.records[t], key=lambda j: (h_ref[j], h_time[j], h_card[j]))
            mismatches.append(_host_only(cat, t, ty, bk.total(t), refs_of(ty, t), h_time[j], h_card[j]))
        for j in bk.records.get(None, ()):
            mismatches.append(_host_only(cat, None, ty, h_amount[j], [h_ref[j]], h_time[j], h_card[j]))

    # ---- loading
    atm_loaded, host_loaded = atm.totals.loaded_amount, host.totals.loaded_amount
    if atm_loaded != host_loaded:
        mismatches.append(Mismatch(
            category="LOADING_MISMATCH", tsn=None, type=None, atm_amount=atm_loaded,
            host_amount=host_loaded, reject_code=None, cash_effect=atm_loaded - host_loaded,
            action=cat.action("LOADING_MISMATCH", None, "zh"),
            action_en=cat.action("LOADING_MISMATCH", None, "en"),
        ))

    # ---- the banknote trail
    if atm.notes:
        flows = note_flows(atm)
        zero = (0, 0, 0, 0)
        cash = zip(taken, retracted, deposited, returned)
        for i in compress(range(n), map(ne, map(flows.get, tsn, repeat(zero)), cash)):
            bk = booked[typ[i]]
            k = bk.count(tsn[i])
            reject = None if ok_code[i] else code[i]
            zh, en = _note_detail(flows.get(tsn[i], zero), (taken[i], retracted[i], deposited[i], returned[i]))
            mismatches.append(Mismatch(
                category="NOTE_FLOW_MISMATCH", tsn=tsn[i], type=typ[i], atm_amount=amount[i],
                host_amount=bk.total(tsn[i]) if k else None, reject_code=reject, cash_effect=0,
                action=zh + cat.action("NOTE_FLOW_MISMATCH", None, "zh"),
                action_en=en + cat.action("NOTE_FLOW_MISMATCH", None, "en"),
                host_refs=refs_of(typ[i], tsn[i]), time=time_[i], card=card[i],
            ))
        for unknown in set(flows).difference(tsn):
            zh, en = _note_detail(flows[unknown], zero)
            mismatches.append(Mismatch(
                category="NOTE_FLOW_MISMATCH", tsn=unknown, type=None, atm_amount=None, host_amount=None,
                reject_code=None, cash_effect=0,
                action="流水中无此流水号。" + zh + cat.action("NOTE_FLOW_MISMATCH", None, "zh"),
                action_en="The ledger has no transaction with this TSN. " + en
                          + cat.action("NOTE_FLOW_MISMATCH", None, "en"),
            ))

    # ---- each side's totals against its own details
    for side, stated, computed in (
        ("atm", atm.totals, (atm_w_count, atm_w_amount, atm_d_count, atm_d_amount)),
        ("host", host.totals, (host_w_count, host_w_amount, host_d_count, host_d_amount)),
    ):
        figures = (stated.withdrawals.count, stated.withdrawals.amount,
                   stated.deposits.count, stated.deposits.amount)
        for item, said, found in zip(_ITEM_RANK, figures, computed):
            if said != found:
                mismatches.append(_totals_inconsistent(cat, side, item, said, found))

    mismatches.sort(key=_canonical_key)
    totals = [
        TotalsItem("loaded_amount", atm_loaded, host_loaded),
        TotalsItem("withdrawals.count", atm.totals.withdrawals.count, host.totals.withdrawals.count),
        TotalsItem("withdrawals.amount", atm.totals.withdrawals.amount, host.totals.withdrawals.amount),
        TotalsItem("deposits.count", atm.totals.deposits.count, host.totals.deposits.count),
        TotalsItem("deposits.amount", atm.totals.deposits.amount, host.totals.deposits.amount),
    ]
    cash_position = CashPosition(
        atm_expected=atm_loaded + sum_deposited - sum_taken,
        host_expected=host_loaded + host_d_amount - host_w_amount,
        counted=None if counts is None else counts.total,
    )
    return ClearingResult(atm.terminal_id, atm.cycle_id, atm.currency, totals, cash_position, mismatches)


class _Bookings:
    """The backend's booked records of one type, by TSN (None: records without a TSN)."""

    __slots__ = ("records", "once", "_totals")

    def __init__(self, index: list[int], h_tsn, h_amount) -> None:
        tsns = list(map(h_tsn.__getitem__, index))
        amounts = list(map(h_amount.__getitem__, index))
        self.once = dict(zip(tsns, amounts))  # TSN -> amount, for TSNs booked exactly once
        self._totals: dict = {}
        self.records: dict = {}
        if len(self.once) == len(tsns):  # the usual case: no TSN booked twice
            self.records = _Singles(zip(tsns, index))
        else:
            for t, j in zip(tsns, index):
                self.records.setdefault(t, []).append(j)
            for t, js in self.records.items():
                if len(js) > 1:
                    del self.once[t]
                    self._totals[t] = sum(map(h_amount.__getitem__, js))

    def count(self, t) -> int:
        return len(self.records.get(t, ()))

    def total(self, t) -> int:
        """H: the sum of the booked amounts for this TSN (0 when none)."""
        h = self.once.get(t)
        return h if h is not None else self._totals.get(t, 0)


class _Singles(dict):
    """TSN -> [record] without building a list per TSN until one is asked for."""

    def get(self, key, default=None):
        j = dict.get(self, key)
        return default if j is None else [j]

    def __getitem__(self, key):
        return [dict.__getitem__(self, key)]


def _table_row(wd: bool, n: int, A: int, H: int, atm_booked: bool, T: int, R: int, C: int) -> str | None:
    """The spec's table for one ATM transaction; first match wins; None: no entry."""
    if n >= 2:
        return "DUPLICATE_BOOKING"  # 1
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


def _host_only(cat: Catalogue, tsn, typ, amount, refs, time, card) -> Mismatch:
    return Mismatch(
        category="HOST_ONLY", tsn=tsn, type=typ, atm_amount=None, host_amount=amount,
        reject_code=None, cash_effect=amount if typ == WITHDRAWAL else -amount,
        action=cat.action("HOST_ONLY", None, "zh"), action_en=cat.action("HOST_ONLY", None, "en"),
        # No ATM transaction to take them from: the backend's own time and masked card.
        host_refs=refs, time=time, card=card,
    )


def _totals_inconsistent(cat: Catalogue, side: str, item: str, said: int, found: int) -> Mismatch:
    amount = item.endswith(".amount")
    show = format_amount if amount else str
    who_zh, who_en = ("ATM", "ATM") if side == "atm" else ("后台", "backend")
    name_zh, name_en = TOTALS_ITEM_NAMES[item]
    detail_zh = f"{who_zh}汇总的{name_zh}为 {show(said)}，其明细合计为 {show(found)}。"
    detail_en = f"The {who_en} totals give {name_en.lower()} = {show(said)}; its details add up to {show(found)}. "
    return Mismatch(
        category="TOTALS_INCONSISTENT", tsn=None,
        type=WITHDRAWAL if item.startswith("withdrawals") else DEPOSIT,
        atm_amount=None, host_amount=None, reject_code=None, cash_effect=0,
        action=detail_zh + cat.action("TOTALS_INCONSISTENT", None, "zh"),
        action_en=detail_en + cat.action("TOTALS_INCONSISTENT", None, "en"),
        side=side, item=item,
    )


def note_flows(atm: AtmLedger) -> dict[str, tuple[int, int, int, int]]:
    """Per TSN named by a note, the value of its notes by event: (taken, retracted, deposited,
    returned). Notes without a TSN and ``rejected`` movements are not part of any transaction's
    cash, but a rejected note still names its TSN (one the ledger lacks is a mismatch)."""
    notes = atm.notes
    if notes is None:
        return {}
    counted = getattr(notes, "flows_by_tsn", None)
    if counted is not None:  # the fast reader counted them while it checked the bytes
        flows = counted()
        if flows is not None:
            return flows
    return note_flows_of(notes)


def note_flows_of(notes) -> dict[str, tuple[int, int, int, int]]:
    flows: dict[str, list[int]] = {}
    index = {"taken": 0, "retracted": 1, "deposited": 2, "returned": 3}
    for n in notes:
        if n.tsn is None:
            continue
        f = flows.get(n.tsn)
        if f is None:  # every TSN a note names, rejected ones too: the ledger must know it
            f = flows[n.tsn] = [0, 0, 0, 0]
        slot = index.get(n.event)
        if slot is not None:
            f[slot] += n.value
    return {k: tuple(v) for k, v in flows.items()}


def _note_detail(notes: Iterable[int], cash: Iterable[int]) -> tuple[str, str]:
    zh, en = [], []
    for event, got, want in zip(_EVENTS, notes, cash):
        if got != want:
            zh.append(f"{_EVENT_ZH[event]}：冠字号合计 {format_amount(got)}，流水 {format_amount(want)}")
            en.append(f"{event}: notes {format_amount(got)}, ledger {format_amount(want)}")
    return "；".join(zh) + "。", "; ".join(en) + ". "


def _canonical_key(m: Mismatch):
    if m.tsn is None:
        head = (0, _NO_TSN_RANK.get(m.category, 3), 0, "")
    else:
        # TSNs are usually zero-padded digits; length first keeps unpadded ones in number order.
        head = (1, 0, len(m.tsn), m.tsn)
    return (*head, _TYPE_RANK[m.type], _CATEGORY_RANK[m.category], m.side or "",
            _ITEM_RANK.get(m.item, -1), m.host_refs, m.host_amount or 0, m.time or "", m.card or "")
