"""clearing-result/1: the reconciliation's conclusion, read and written (spec: "clearing-result/1")."""

from __future__ import annotations

from typing import Any

from custodian_app.domain import fields as rules
from custodian_app.domain.documents import CashPosition, ClearingResult, Mismatch, TotalsItem
from custodian_app.domain.money import format_amount
from custodian_app.domain.reading import (
    CATEGORIES,
    CLEARING_RESULT,
    TOTALS_ITEMS,
    TX_TYPES,
    Reader,
    decode,
    retained_card_dict,
    retained_cards,
    show,
)


def _signed(r: Reader, value: Any, path: str) -> int:
    if type(value) is not str or rules.SIGNED_MONEY.match(value) is None:
        raise r.fail(path, f'expected a signed amount like "-50.00", found {show(value)}')
    return int(value.replace(".", "", 1))


def parse_result(data: bytes | str | dict[str, Any], source: str = "<clearing result>") -> ClearingResult:
    r = Reader(source)
    doc = decode(data, source)
    r.fmt(doc, CLEARING_RESULT)
    terminal_id, cycle_id, currency = r.header(doc)
    totals_raw = r.arr(r.key(doc, "totals", "$"), "$.totals")
    if len(totals_raw) != 5:
        raise r.fail("$.totals", f"expected the 5 totals items, found {len(totals_raw)}")
    totals = []
    for i, t in enumerate(totals_raw):
        p = f"$.totals[{i}]"
        t = r.obj(t, p)
        item = r.enum(r.key(t, "item", p), p + ".item", TOTALS_ITEMS)
        conv = r.integer if item.endswith(".count") else r.money
        ti = TotalsItem(item, conv(r.key(t, "atm", p), p + ".atm"), conv(r.key(t, "host", p), p + ".host"))
        if r.key(t, "equal", p) is not ti.equal:
            raise r.fail(p + ".equal", "does not agree with the atm and host figures")
        totals.append(ti)
    cp_raw = r.obj(r.key(doc, "cash_position", "$"), "$.cash_position")
    p = "$.cash_position"
    counted_raw = r.key(cp_raw, "counted", p)
    cp = CashPosition(
        _signed(r, r.key(cp_raw, "atm_expected", p), p + ".atm_expected"),
        _signed(r, r.key(cp_raw, "host_expected", p), p + ".host_expected"),
        None if counted_raw is None else r.money(counted_raw, p + ".counted"),
    )
    for name in ("difference", "counted_vs_atm", "counted_vs_host"):
        raw = r.key(cp_raw, name, p)
        want = getattr(cp, name)
        got = None if raw is None else _signed(r, raw, f"{p}.{name}")
        if got != want:
            raise r.fail(f"{p}.{name}", f"{show(raw)} does not follow from the other figures")
    mismatches = []
    for i, m in enumerate(r.arr(r.key(doc, "mismatches", "$"), "$.mismatches")):
        p = f"$.mismatches[{i}]"
        m = r.obj(m, p)
        tsn = r.key(m, "tsn", p)
        typ = r.key(m, "type", p)
        atm_amount = r.key(m, "atm_amount", p)
        host_amount = r.key(m, "host_amount", p)
        reject_code = r.key(m, "reject_code", p)
        refs = r.arr(r.key(m, "host_refs", p), p + ".host_refs")
        side = m.get("side")
        card = m.get("card")
        mismatches.append(
            Mismatch(
                category=r.enum(r.key(m, "category", p), p + ".category", CATEGORIES),
                tsn=None if tsn is None else r.text(tsn, p + ".tsn", rules.TSN, "a TSN or null"),
                type=None if typ is None else r.enum(typ, p + ".type", TX_TYPES),
                atm_amount=None if atm_amount is None else r.money(atm_amount, p + ".atm_amount"),
                host_amount=None if host_amount is None else r.money(host_amount, p + ".host_amount"),
                reject_code=None if reject_code is None else r.text(reject_code, p + ".reject_code"),
                cash_effect=_signed(r, r.key(m, "cash_effect", p), p + ".cash_effect"),
                action=r.text(r.key(m, "action", p), p + ".action"),
                action_en=r.text(m.get("action_en", ""), p + ".action_en"),
                host_refs=[
                    r.text(v, f"{p}.host_refs[{j}]", None, "a backend reference", 32)
                    for j, v in enumerate(refs)
                ],
                side=None if side is None else r.enum(side, p + ".side", ("atm", "host")),
                item=None if m.get("item") is None else r.text(m["item"], p + ".item"),
                time=None
                if m.get("time") is None
                else r.string(m["time"], p + ".time", rules.TIME, "an RFC 3339 time"),
                card=None if card is None else r.card(card, p + ".card"),
                unit=None
                if m.get("unit") is None
                else r.string(m["unit"], p + ".unit", rules.UNIT_ID, "a unit id"),
                counted=None if m.get("counted") is None else r.money(m["counted"], p + ".counted"),
                derived=None if m.get("derived") is None else r.money(m["derived"], p + ".derived"),
                reversed_amount=(
                    None
                    if m.get("reversed_amount") is None
                    else r.money(m["reversed_amount"], p + ".reversed_amount")
                ),
            )
        )
    result = ClearingResult(
        terminal_id, cycle_id, currency, totals, cp, mismatches, source, retained_cards(r, doc)
    )
    if r.key(doc, "balanced", "$") is not result.balanced:
        raise r.fail("$.balanced", "does not follow from the totals, the mismatches and the cash position")
    return result


def result_to_dict(result: ClearingResult) -> dict[str, Any]:
    fa = format_amount
    cp = result.cash_position

    def opt(v: int | None) -> str | None:
        return None if v is None else fa(v)

    mismatches = []
    for m in result.mismatches:
        d = {
            "category": m.category,
            "tsn": m.tsn,
            "host_refs": list(m.host_refs),
            "type": m.type,
            "atm_amount": opt(m.atm_amount),
            "host_amount": opt(m.host_amount),
            "reject_code": m.reject_code,
            "cash_effect": fa(m.cash_effect),
            "action": m.action,
            "action_en": m.action_en,
        }
        if m.side is not None:
            d["side"] = m.side
        if m.item is not None:
            d["item"] = m.item
        if m.time is not None:
            d["time"] = m.time
        if m.card is not None:
            d["card"] = m.card
        if m.unit is not None:
            d["unit"] = m.unit
        if m.counted is not None:
            d["counted"] = fa(m.counted)
        if m.derived is not None:
            d["derived"] = fa(m.derived)
        if m.reversed_amount is not None:
            d["reversed_amount"] = fa(m.reversed_amount)
        mismatches.append(d)
    return {
        "format": CLEARING_RESULT,
        "terminal_id": result.terminal_id,
        "cycle_id": result.cycle_id,
        "currency": result.currency,
        "totals": [
            {
                "item": t.item,
                "atm": fa(t.atm) if t.is_amount else t.atm,
                "host": fa(t.host) if t.is_amount else t.host,
                "equal": t.equal,
            }
            for t in result.totals
        ],
        "cash_position": {
            "atm_expected": fa(cp.atm_expected),
            "host_expected": fa(cp.host_expected),
            "difference": fa(cp.difference),
            "counted": opt(cp.counted),
            "counted_vs_atm": opt(cp.counted_vs_atm),
            "counted_vs_host": opt(cp.counted_vs_host),
        },
        "balanced": result.balanced,
        "mismatches": mismatches,
        "retained_cards": [retained_card_dict(c) for c in result.retained_cards],
    }
