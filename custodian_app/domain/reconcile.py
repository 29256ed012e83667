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

from collections import namedtuple
from collections.abc import Iterable
from itertools import compress, repeat
from operator import and_, attrgetter, eq, gt, ne, not_

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
from custodian_app.domain import fastpath
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
    # The bulk of the work (joining the two sides, setting aside the clean matches, the sums)
    # is ``_triage``: in C when the accelerator is built, else a column at a time in Python;
    # both give the same answer. Python code then runs per exception only: the rules are the
    # spec's table, row by row, in ``_table_row``.
    mismatches: list[Mismatch] = []
    atm_cols = _columns(atm.transactions, ATM_FIELDS)
    (tsn, time_, typ, card, amount, code, _ref, rev,
     taken, retracted, deposited, returned) = atm_cols
    host_cols = _columns(host.transactions, HOST_FIELDS)
    h_ref, h_tsn, h_time, h_type, h_card, h_amount, h_status = host_cols

    # the banknote trail: transactions whose notes do not add up to their cash
    odd = note_mismatches(atm, atm_cols) if atm.notes else []
    tri = _triage(atm_cols, host_cols, success, [i for i, _t, _f in odd if i is not None])

    # ---- a withdrawal deposits nothing, a deposit pays nothing out (else a cent is lost)
    if tri.bad_cash >= 0:
        i = tri.bad_cash
        if typ[i] == WITHDRAWAL:
            field, value = ("deposited", deposited[i]) if deposited[i] else ("returned", returned[i])
        else:
            field, value = ("taken", taken[i]) if taken[i] else ("retracted", retracted[i])
        raise FormatError(atm.source, f"$.transactions[{i}].cash.{field}",
                          f"a {typ[i]} cannot have cash {field} (found {format_amount(value)}); "
                          "the spec requires \"0.00\" there")

    def tied(hosts: list[int]) -> tuple[int | None, list[str]]:
        """H (None when no backend record is tied) and the sorted references."""
        if not hosts:
            return None, []
        return sum(map(h_amount.__getitem__, hosts)), sorted(map(h_ref.__getitem__, hosts))

    # ---- the table, for every transaction that is not a clean match
    for i, hosts in tri.exceptions:
        H, refs = tied(hosts)
        is_w = typ[i] == WITHDRAWAL
        ok = code[i] in success
        category = _table_row(is_w, len(hosts), amount[i], H or 0, ok and not rev[i],
                              taken[i], retracted[i], deposited[i])
        if category is None:
            continue
        reject = None if ok else code[i]
        mismatches.append(Mismatch(
            category=category, tsn=tsn[i], type=typ[i], atm_amount=amount[i],
            host_amount=H, reject_code=reject,
            cash_effect=((H or 0) - taken[i]) if is_w else (deposited[i] - (H or 0)),
            action=cat.action(category, reject, "zh"), action_en=cat.action(category, reject, "en"),
            host_refs=refs, time=time_[i], card=card[i],
        ))

    # ---- outside the table: backend-only bookings
    for t, is_w, hosts in tri.host_only:
        H, refs = tied(hosts)
        # time and card of the lowest reference: the same whatever the record order
        j = min(hosts, key=lambda j: (h_ref[j], h_time[j], h_card[j]))
        mismatches.append(_host_only(cat, t, WITHDRAWAL if is_w else DEPOSIT, H, refs, h_time[j], h_card[j]))

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
    zero = (0, 0, 0, 0)
    for i, t, flows in odd:
        if i is None:
            zh, en = _note_detail(flows, zero)
            mismatches.append(Mismatch(
                category="NOTE_FLOW_MISMATCH", tsn=t, type=None, atm_amount=None, host_amount=None,
                reject_code=None, cash_effect=0,
                action="流水中无此流水号。" + zh + cat.action("NOTE_FLOW_MISMATCH", None, "zh"),
                action_en="The ledger has no transaction with this TSN. " + en
                          + cat.action("NOTE_FLOW_MISMATCH", None, "en"),
            ))
            continue
        H, refs = tied(tri.extra_hosts[i])
        reject = None if code[i] in success else code[i]
        zh, en = _note_detail(flows, (taken[i], retracted[i], deposited[i], returned[i]))
        mismatches.append(Mismatch(
            category="NOTE_FLOW_MISMATCH", tsn=t, type=typ[i], atm_amount=amount[i],
            host_amount=H, reject_code=reject, cash_effect=0,
            action=zh + cat.action("NOTE_FLOW_MISMATCH", None, "zh"),
            action_en=en + cat.action("NOTE_FLOW_MISMATCH", None, "en"),
            host_refs=refs, time=time_[i], card=card[i],
        ))

    # ---- each side's totals against its own details
    (atm_w_count, atm_w_amount, atm_d_count, atm_d_amount,
     host_w_count, host_w_amount, host_d_count, host_d_amount, sum_taken, sum_deposited) = tri.sums
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


# The engine's bulk step, as ``_ledgerscan.triage`` documents it:
# exceptions  (ATM index, [backend indices tied to it]) for each transaction that the table's
#             no-entry rows (6 and 15) do not set aside
# host_only   (tsn or None, is_withdrawal, [backend indices]): booked, with no ATM match
# sums        ATM w/d count and amount, backend w/d count and amount, sum taken, sum deposited
# bad_cash    the first ATM index whose cash contradicts its type, or -1
# extra_hosts ATM index -> [backend indices], for the indices asked for
Triage = namedtuple("Triage", "exceptions host_only sums bad_cash extra_hosts")


def _triage(atm_cols: tuple, host_cols: tuple, success: frozenset, extra: list[int]) -> Triage:
    tsn, _time, typ, _card, amount, code, _ref, rev, taken, retracted, deposited, returned = atm_cols
    _h_ref, h_tsn, _h_time, h_type, _h_card, h_amount, h_status = host_cols
    native = fastpath.native  # the C accelerator, when built
    if native is not None:
        out = native.triage(*(_as_list(c) for c in (tsn, typ, amount, code, rev, taken, retracted,
                                                      deposited, returned)), success,
                             *(_as_list(c) for c in (h_tsn, h_type, h_amount, h_status)), list(extra))
        if out is not None:
            return Triage(*out)
    return triage_py(atm_cols, host_cols, success, extra)


def _as_list(column) -> list:
    return column if type(column) is list else list(column)


def triage_py(atm_cols: tuple, host_cols: tuple, success: frozenset, extra: list[int]) -> Triage:
    """``_triage`` without the accelerator: the same answer, a column at a time (C-speed
    map/zip/set operations; Python code per transaction only where a clean match is checked)."""
    tsn, _time, typ, _card, amount, code, _ref, rev, taken, retracted, deposited, returned = atm_cols
    _h_ref, h_tsn, _h_time, h_type, _h_card, h_amount, h_status = host_cols
    is_w = list(map(eq, typ, repeat(WITHDRAWAL)))
    bad_cash = -1
    for w, T, R, C, Ret in set(zip(is_w, taken, retracted, deposited, returned)):
        if (w and (C or Ret)) or (not w and (T or R)):
            i = list(zip(is_w, taken, retracted, deposited, returned)).index((w, T, R, C, Ret))
            bad_cash = i if bad_cash < 0 else min(bad_cash, i)

    # the backend's booked records, tied by (TSN, type): one index per type, keyed by TSN
    bi = list(compress(range(len(h_tsn)), map(eq, h_status, repeat("booked"))))
    b_amount = list(map(h_amount.__getitem__, bi))
    b_is_w = list(map(eq, map(h_type.__getitem__, bi), repeat(WITHDRAWAL)))
    host_w_count = sum(b_is_w)
    host_w_amount = sum(compress(b_amount, b_is_w))
    booked = {True: _Bookings(list(compress(bi, b_is_w)), h_tsn, h_amount),
              False: _Bookings(list(compress(bi, map(not_, b_is_w))), h_tsn, h_amount)}
    bw, bd = booked[True], booked[False]

    ok_code = list(map(success.__contains__, code))
    atm_booked = list(map(gt, ok_code, rev))  # a success code and not reversed
    w_booked = list(map(and_, atm_booked, is_w))
    d_booked = list(map(gt, atm_booked, is_w))

    # Row 15 (booked once, same amount, cash agrees, both sides say booked) is most of a
    # cycle, row 6 (a clean decline) much of the rest: set those rows aside cheaply; every
    # other row goes through the table.
    w_once, d_once = bw.once, bd.once
    w_records, d_records = bw.records, bd.records
    exceptions = []
    for i, (t, w, A, T, R, C, b) in enumerate(zip(tsn, is_w, amount, taken, retracted, deposited, atm_booked)):
        if b:
            # T > 0 / C > 0: a booked zero amount with no cash is row 9 or 12, not row 15
            if w:
                if T == A and T and not R and w_once.get(t) == A:
                    continue
            elif C == A and C and d_once.get(t) == A:
                continue
        elif not (T if w else C) and t not in (w_records if w else d_records):
            continue
        exceptions.append((i, booked[w].records.get(t, [])))

    host_only = []
    for w, bk in booked.items():
        for t in bk.records.keys() - set(compress(tsn, is_w if w else map(not_, is_w))):
            if t is None:
                host_only.extend((None, w, [j]) for j in bk.records[t])
            else:
                host_only.append((t, w, list(bk.records[t])))
    sums = (sum(w_booked), sum(compress(amount, w_booked)), sum(d_booked), sum(compress(amount, d_booked)),
            host_w_count, host_w_amount, len(bi) - host_w_count, sum(b_amount) - host_w_amount,
            sum(taken), sum(deposited))
    extra_hosts = {i: list(booked[is_w[i]].records.get(tsn[i], [])) for i in extra}
    return Triage(exceptions, host_only, sums, bad_cash, extra_hosts)


class _Bookings:
    """The backend's booked records of one type, by TSN (None: records without a TSN)."""

    __slots__ = ("records", "once")

    def __init__(self, index: list[int], h_tsn, h_amount) -> None:
        tsns = list(map(h_tsn.__getitem__, index))
        amounts = list(map(h_amount.__getitem__, index))
        self.once = dict(zip(tsns, amounts))  # TSN -> amount, for TSNs booked exactly once
        self.records: dict = {}
        if len(self.once) == len(tsns):  # the usual case: no TSN booked twice
            self.records = _Singles(zip(tsns, index))
        else:
            for t, j in zip(tsns, index):
                self.records.setdefault(t, []).append(j)
            for t, js in self.records.items():
                if len(js) > 1:
                    del self.once[t]


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


def note_mismatches(atm: AtmLedger, atm_cols: tuple | None = None) -> list[tuple[int | None, str, tuple]]:
    """(index of the transaction or None when the ledger has no such TSN, TSN, note flows) for
    every TSN whose notes do not add up to its transaction's cash, in ledger order, then the
    unknown TSNs."""
    odd = getattr(atm.notes, "mismatches_for", None)
    if odd is not None:  # the C reader compared them while it read the trail
        found = odd(atm.transactions)
        if found is not None:
            return found
    if atm_cols is None:
        atm_cols = _columns(atm.transactions, ATM_FIELDS)
    tsn, cash = atm_cols[0], zip(*atm_cols[8:12])
    flows = note_flows(atm)
    zero = (0, 0, 0, 0)
    out: list = [(i, tsn[i], flows.get(tsn[i], zero))
                 for i in compress(range(len(tsn)), map(ne, map(flows.get, tsn, repeat(zero)), cash))]
    out.extend((None, t, flows[t]) for t in sorted(set(flows).difference(tsn)))
    return out


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
