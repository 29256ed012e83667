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

from typing import Iterable

from custodian_app.domain.catalogue import Catalogue, default_catalogue
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
from custodian_app.domain.money import format_amount

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
    mismatches: list[Mismatch] = []

    # ---- the backend's booked records, tied by (TSN, type)
    booked: dict[tuple[str, str], list] = {}  # -> [H, n, refs, first record]
    host_w_count = host_w_amount = host_d_count = host_d_amount = 0
    host_only_null: list = []
    for h in host.transactions:
        if h.status != "booked":
            continue
        if h.type == WITHDRAWAL:
            host_w_count += 1
            host_w_amount += h.amount
        else:
            host_d_count += 1
            host_d_amount += h.amount
        if h.tsn is None:
            host_only_null.append(h)
            continue
        key = (h.tsn, h.type)
        entry = booked.get(key)
        if entry is None:
            booked[key] = [h.amount, 1, [h.host_ref], h]
        else:
            entry[0] += h.amount
            entry[1] += 1
            entry[2].append(h.host_ref)
            first = entry[3]
            # The record a HOST_ONLY entry shows time and card of: the same whatever the order.
            if (h.host_ref, h.time, h.card) < (first.host_ref, first.time, first.card):
                entry[3] = h

    # ---- the ATM's transactions, one table row each
    atm_w_count = atm_w_amount = atm_d_count = atm_d_amount = 0
    sum_taken = sum_deposited = 0
    seen_keys: set[tuple[str, str]] = set()
    for i, t in enumerate(atm.transactions):
        wd = t.type == WITHDRAWAL
        T, R, C = t.taken, t.retracted, t.deposited
        if wd:
            if C or t.returned:
                _cross_type_cash(atm, i, "deposited" if C else "returned", "withdrawal")
        elif T or R:
            _cross_type_cash(atm, i, "taken" if T else "retracted", "deposit")
        sum_taken += T
        sum_deposited += C
        atm_booked = t.host_code in success and not t.reversed
        if atm_booked:
            if wd:
                atm_w_count += 1
                atm_w_amount += t.amount
            else:
                atm_d_count += 1
                atm_d_amount += t.amount
        key = (t.tsn, t.type)
        seen_keys.add(key)
        entry = booked.get(key)
        A = t.amount
        if entry is None:
            H = n = 0
        else:
            H, n = entry[0], entry[1]
        # The common case first: one booking, same amount, cash agrees, both sides say booked.
        if n == 1 and H == A and atm_booked and (T == H and R == 0 if wd else C == H):
            continue

        if n >= 2:
            category = "DUPLICATE_BOOKING"
        elif n == 0:
            if atm_booked:
                category = "HOST_LOST_BOOKING" if (T > 0 or C > 0) else "CODE_DISAGREES"
            elif wd and T > 0:
                category = "DISPENSED_NOT_DEBITED"
            elif not wd and C > 0:
                category = "DEPOSIT_NOT_CREDITED"
            else:
                continue  # a clean decline: no entry, and no cash moved
        elif H != A:
            category = "AMOUNT_MISMATCH"
        elif wd:
            if R > 0:
                category = "RETRACTED"
            elif T == 0:
                category = "DEBITED_NOT_DISPENSED"
            elif T < H:
                category = "PARTIAL_DISPENSE"
            elif T > H:
                category = "OVER_DISPENSE"
            else:
                category = "CODE_DISAGREES"  # cash agrees, not ATM-booked (the fast path took the rest)
        elif C == 0:
            category = "CREDITED_NOT_DEPOSITED"
        elif C != H:
            category = "DEPOSIT_COUNT_DIFFERS"
        else:
            category = "CODE_DISAGREES"
        reject = None if t.host_code in success else t.host_code
        mismatches.append(Mismatch(
            category=category, tsn=t.tsn, type=t.type, atm_amount=A,
            host_amount=H if n else None, reject_code=reject,
            cash_effect=(H - T) if wd else (C - H),
            action=cat.action(category, reject, "zh"), action_en=cat.action(category, reject, "en"),
            host_refs=sorted(entry[2]) if entry else [], time=t.time, card=t.card,
        ))

    # ---- outside the table: backend-only bookings
    for key, entry in booked.items():
        if key in seen_keys:
            continue
        H, _, refs, first = entry
        refs = sorted(refs)
        mismatches.append(_host_only(cat, key[0], key[1], H, refs, first))
    for h in host_only_null:
        mismatches.append(_host_only(cat, None, h.type, h.amount, [h.host_ref], h))

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
        mismatches.extend(_note_flow_mismatches(atm, cat, booked, success))

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
    cash = CashPosition(
        atm_expected=atm_loaded + sum_deposited - sum_taken,
        host_expected=host_loaded + host_d_amount - host_w_amount,
        counted=None if counts is None else counts.total,
    )
    return ClearingResult(atm.terminal_id, atm.cycle_id, atm.currency, totals, cash, mismatches)


def _cross_type_cash(atm: AtmLedger, index: int, field: str, typ: str) -> None:
    t = atm.transactions[index]
    raise FormatError(atm.source, f"$.transactions[{index}].cash.{field}",
                      f"a {typ} cannot have cash {field} (found {format_amount(getattr(t, field))}); "
                      "the spec requires \"0.00\" there")


def _host_only(cat: Catalogue, tsn, typ, amount, refs, record) -> Mismatch:
    return Mismatch(
        category="HOST_ONLY", tsn=tsn, type=typ, atm_amount=None, host_amount=amount,
        reject_code=None, cash_effect=amount if typ == WITHDRAWAL else -amount,
        action=cat.action("HOST_ONLY", None, "zh"), action_en=cat.action("HOST_ONLY", None, "en"),
        # No ATM transaction to take them from: the backend's own time and masked card.
        host_refs=refs, time=record.time, card=record.card,
    )


def _totals_inconsistent(cat: Catalogue, side: str, item: str, said: int, found: int) -> Mismatch:
    amount = item.endswith(".amount")
    show = format_amount if amount else str
    who_zh, who_en = ("ATM", "ATM") if side == "atm" else ("后台", "backend")
    detail_zh = f"{who_zh}汇总 {item} 为 {show(said)}，其明细合计为 {show(found)}。"
    detail_en = f"The {who_en} totals give {item} = {show(said)}; its details add up to {show(found)}. "
    return Mismatch(
        category="TOTALS_INCONSISTENT", tsn=None,
        type=WITHDRAWAL if item.startswith("withdrawals") else DEPOSIT,
        atm_amount=None, host_amount=None, reject_code=None, cash_effect=0,
        action=detail_zh + cat.action("TOTALS_INCONSISTENT", None, "zh"),
        action_en=detail_en + cat.action("TOTALS_INCONSISTENT", None, "en"),
        side=side, item=item,
    )


def note_flows(atm: AtmLedger) -> dict[str, list[int]]:
    """Per TSN, the value of its notes by event: [taken, retracted, deposited, returned].
    Notes without a TSN and ``rejected`` movements are not part of any transaction's cash."""
    notes = atm.notes
    if notes is None:
        return {}
    precomputed = getattr(notes, "flows_by_tsn", None)
    if precomputed is not None:  # the fast reader aggregates while it validates
        return precomputed()
    flows: dict[str, list[int]] = {}
    index = {"taken": 0, "retracted": 1, "deposited": 2, "returned": 3}
    for n in notes:
        if n.tsn is None:
            continue
        slot = index.get(n.event)
        if slot is None:
            continue
        f = flows.get(n.tsn)
        if f is None:
            f = flows[n.tsn] = [0, 0, 0, 0]
        f[slot] += n.value
    return flows


def _note_flow_mismatches(atm: AtmLedger, cat: Catalogue, booked: dict, success: frozenset) -> list[Mismatch]:
    flows = note_flows(atm)
    out = []
    zero = (0, 0, 0, 0)
    known = set()
    for t in atm.transactions:
        known.add(t.tsn)
        cash = (t.taken, t.retracted, t.deposited, t.returned)
        f = flows.get(t.tsn, zero)
        if tuple(f) == cash:
            continue
        entry = booked.get((t.tsn, t.type))
        reject = None if t.host_code in success else t.host_code
        zh, en = _note_detail(f, cash)
        out.append(Mismatch(
            category="NOTE_FLOW_MISMATCH", tsn=t.tsn, type=t.type, atm_amount=t.amount,
            host_amount=entry[0] if entry else None, reject_code=reject, cash_effect=0,
            action=zh + cat.action("NOTE_FLOW_MISMATCH", None, "zh"),
            action_en=en + cat.action("NOTE_FLOW_MISMATCH", None, "en"),
            host_refs=sorted(entry[2]) if entry else [], time=t.time, card=t.card,
        ))
    for tsn, f in flows.items():
        if tsn in known:
            continue
        zh, en = _note_detail(f, zero)
        out.append(Mismatch(
            category="NOTE_FLOW_MISMATCH", tsn=tsn, type=None, atm_amount=None, host_amount=None,
            reject_code=None, cash_effect=0,
            action="流水中无此流水号。" + zh + cat.action("NOTE_FLOW_MISMATCH", None, "zh"),
            action_en="The ledger has no transaction with this TSN. " + en
                      + cat.action("NOTE_FLOW_MISMATCH", None, "en"),
        ))
    return out


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
