"""An independent oracle of the reconciliation rules (spec/README.md, "Reconciliation rules
(normative)", the cash position and cash effect rules, the entries outside the table), rules
revision 2: partial reversals, notes of unknown fate, tying by host_ref, COUNT_DIFFERS.

Written from the spec alone, without reading custodian_app/domain/reconcile.py, to check the
engine differentially (test_reconcile_oracle.py). Deliberately naive: plain dicts in (the JSON
documents exactly as the spec shows them), plain dicts out, money as int cents obtained through
``decimal.Decimal``; no float anywhere, no cleverness, one rule per line where possible.

Where the spec leaves a mismatch field undefined (for instance ``atm_amount`` of a
LOADING_MISMATCH), the oracle puts ``ANY`` there and the comparison ignores that field for that
category; ``UNSPECIFIED`` lists those fields so the gap is explicit, not hidden.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

TOTALS_ITEMS = (
    "loaded_amount",
    "withdrawals.count",
    "withdrawals.amount",
    "deposits.count",
    "deposits.amount",
)
NOTE_EVENTS_COMPARED = ("taken", "retracted", "deposited", "returned")
FIELDS = (
    "category",
    "tsn",
    "type",
    "atm_amount",
    "host_amount",
    "reject_code",
    "cash_effect",
    "side",
    "item",
    "unit",
    "counted",
    "derived",
    "reversed_amount",
)


class _Any:
    """A field the spec does not define for that category: any value is accepted."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()

# Per category, the fields the spec says nothing about (see the module docstring).
UNSPECIFIED = {
    "LOADING_MISMATCH": ("atm_amount", "host_amount"),
    "NOTE_FLOW_MISMATCH": ("type", "atm_amount", "host_amount", "reject_code", "reversed_amount"),
    "TOTALS_INCONSISTENT": ("type", "atm_amount", "host_amount", "reject_code"),
    "COUNT_DIFFERS": ("atm_amount", "host_amount", "reject_code"),
}


def cents(text: str) -> int:
    """ "1000.05" -> 100005 through Decimal; refuses anything but two fraction digits."""
    assert isinstance(text, str), f"money must be a string, got {type(text).__name__}"
    value = Decimal(text)
    assert value.as_tuple().exponent == -2, f"money needs two decimals: {text!r}"
    return int(value * 100)


def _entry(
    category,
    *,
    tsn=None,
    type=None,
    atm_amount=None,
    host_amount=None,
    reject_code=None,
    cash_effect=0,
    side=None,
    item=None,
    unit=None,
    counted=None,
    derived=None,
    reversed_amount=None,
) -> dict:
    entry = {
        "category": category,
        "tsn": tsn,
        "type": type,
        "atm_amount": atm_amount,
        "host_amount": host_amount,
        "reject_code": reject_code,
        "cash_effect": cash_effect,
        "side": side,
        "item": item,
        "unit": unit,
        "counted": counted,
        "derived": derived,
        "reversed_amount": reversed_amount,
    }
    for name in UNSPECIFIED.get(category, ()):
        entry[name] = ANY
    return entry


def _totals(doc: dict) -> dict:
    t = doc["totals"]
    return {
        "loaded_amount": cents(t["loaded_amount"]),
        "withdrawals.count": t["withdrawals"]["count"],
        "withdrawals.amount": cents(t["withdrawals"]["amount"]),
        "deposits.count": t["deposits"]["count"],
        "deposits.amount": cents(t["deposits"]["amount"]),
    }


def oracle(atm: dict, host: dict, counts: dict | None = None, success_codes=frozenset({"00"})) -> dict:
    """The clearing result the spec prescribes, as
    {"totals": [(item, atm, host)], "cash_position": {...}, "balanced": bool,
     "mismatches": [entry dict with the keys of FIELDS]} (money in int cents)."""
    success_codes = set(success_codes)
    txs = atm["transactions"]
    booked = [r for r in host["transactions"] if r["status"] == "booked"]

    def atm_booked(t: dict) -> bool:
        return t["host_code"] in success_codes and t["reversed"] is False

    def reject_code(t: dict):
        return None if t["host_code"] in success_codes else t["host_code"]

    # -- totals: the documents' totals, ATM against backend
    atm_tot, host_tot = _totals(atm), _totals(host)
    totals = [(item, atm_tot[item], host_tot[item]) for item in TOTALS_ITEMS]

    def reversed_amount(t: dict):
        value = t.get("reversed_amount")
        return None if value is None else cents(value)

    def booked_amount(t: dict) -> int:  # A
        return cents(t["amount"]) - (reversed_amount(t) or 0)

    def unknown_cash(t: dict) -> int:  # U
        return cents(t["cash"].get("unknown", "0.00"))

    # -- tying: by TSN and type; then (rev 2) the untied ones by host_ref and type
    tied_to: dict[str, list[dict]] = {t["tsn"]: [] for t in txs}
    untied: list[dict] = []
    for r in booked:
        by_tsn = [t for t in txs if t["tsn"] == r["tsn"] and t["type"] == r["type"]]
        by_ref = [
            t
            for t in txs
            if t["host_ref"] is not None and t["host_ref"] == r["host_ref"] and t["type"] == r["type"]
        ]
        if by_tsn:
            tied_to[by_tsn[0]["tsn"]].append(r)
        elif by_ref:
            tied_to[by_ref[0]["tsn"]].append(r)
        else:
            untied.append(r)

    # -- cash position
    atm_expected = atm_tot["loaded_amount"]
    for t in txs:
        atm_expected += cents(t["cash"]["deposited"])
        atm_expected -= cents(t["cash"]["taken"])
        atm_expected -= unknown_cash(t)
    host_expected = host_tot["loaded_amount"]
    for r in booked:
        if r["type"] == "deposit":
            host_expected += cents(r["amount"])
        else:
            host_expected -= cents(r["amount"])
    counted = None
    if counts is not None:
        counted = sum(cents(v) for v in counts["units"].values())
    cash_position = {
        "atm_expected": atm_expected,
        "host_expected": host_expected,
        "difference": atm_expected - host_expected,
        "counted": counted,
        "counted_vs_atm": None if counted is None else counted - atm_expected,
        "counted_vs_host": None if counted is None else counted - host_expected,
    }

    mismatches: list[dict] = []

    # -- the table: at most one entry per ATM transaction, first match wins
    for t in txs:
        tsn, typ = t["tsn"], t["type"]
        tied = tied_to[tsn]
        n = len(tied)
        H = sum(cents(r["amount"]) for r in tied)
        A = booked_amount(t)
        U = unknown_cash(t)
        T = cents(t["cash"]["taken"])
        R = cents(t["cash"]["retracted"])
        C = cents(t["cash"]["deposited"])
        is_booked = atm_booked(t)
        withdrawal = typ == "withdrawal"
        deposit = typ == "deposit"
        cash_moved = T > 0 or C > 0

        if n >= 2:
            category = "DUPLICATE_BOOKING"  # 1
        elif withdrawal and U > 0:
            category = "UNKNOWN_OUTCOME"  # 1a
        elif n == 0 and is_booked and cash_moved:
            category = "HOST_LOST_BOOKING"  # 2
        elif n == 0 and withdrawal and not is_booked and T > 0:
            category = "DISPENSED_NOT_DEBITED"  # 3
        elif n == 0 and deposit and not is_booked and C > 0:
            category = "DEPOSIT_NOT_CREDITED"  # 4
        elif n == 0 and is_booked and not cash_moved:
            category = "CODE_DISAGREES"  # 5
        elif n == 0:
            category = None  # 6 clean decline
        elif H != A:
            category = "AMOUNT_MISMATCH"  # 7
        elif withdrawal and R > 0:
            category = "RETRACTED"  # 8
        elif withdrawal and T == 0:
            category = "DEBITED_NOT_DISPENSED"  # 9
        elif withdrawal and 0 < T < H:
            category = "PARTIAL_DISPENSE"  # 10
        elif withdrawal and T > H:
            category = "OVER_DISPENSE"  # 11
        elif deposit and C == 0:
            category = "CREDITED_NOT_DEPOSITED"  # 12
        elif deposit and C != H:
            category = "DEPOSIT_COUNT_DIFFERS"  # 13
        elif not is_booked:
            category = "CODE_DISAGREES"  # 14 cash agrees, not ATM-booked
        else:
            category = None  # 15 matched
        if category is None:
            continue
        mismatches.append(
            _entry(
                category,
                tsn=tsn,
                type=typ,
                atm_amount=cents(t["amount"]),
                host_amount=H if n > 0 else None,
                reject_code=reject_code(t),
                cash_effect=(H - T - U) if withdrawal else (C - H),
                reversed_amount=reversed_amount(t),
            )
        )

    # -- HOST_ONLY: one per (TSN, type) booked that the ATM never recorded; one per null TSN
    host_only: dict[tuple, int] = defaultdict(int)
    for r in untied:
        if r["tsn"] is None:
            H = cents(r["amount"])
            mismatches.append(
                _entry(
                    "HOST_ONLY",
                    tsn=None,
                    type=r["type"],
                    host_amount=H,
                    cash_effect=H if r["type"] == "withdrawal" else -H,
                )
            )
        else:
            host_only[(r["tsn"], r["type"])] += cents(r["amount"])
    for (tsn, typ), H in host_only.items():
        mismatches.append(
            _entry(
                "HOST_ONLY", tsn=tsn, type=typ, host_amount=H, cash_effect=H if typ == "withdrawal" else -H
            )
        )

    # -- LOADING_MISMATCH
    if atm_tot["loaded_amount"] != host_tot["loaded_amount"]:
        mismatches.append(
            _entry("LOADING_MISMATCH", cash_effect=atm_tot["loaded_amount"] - host_tot["loaded_amount"])
        )

    # -- NOTE_FLOW_MISMATCH: only when the ledger has notes (the optional key is present)
    if "notes" in atm:
        notes = atm["notes"]
        for t in txs:
            by_event = {event: 0 for event in NOTE_EVENTS_COMPARED}
            for note in notes:
                if note["tsn"] == t["tsn"] and note["event"] in by_event:
                    by_event[note["event"]] += cents(note["value"])
            if any(by_event[event] != cents(t["cash"][event]) for event in NOTE_EVENTS_COMPARED):
                mismatches.append(_entry("NOTE_FLOW_MISMATCH", tsn=t["tsn"]))
        atm_tsns = {t["tsn"] for t in txs}
        unknown = {note["tsn"] for note in notes if note["tsn"] is not None} - atm_tsns
        for tsn in unknown:
            mismatches.append(_entry("NOTE_FLOW_MISMATCH", tsn=tsn))

    # -- TOTALS_INCONSISTENT: each side's totals against the sum of its own details
    for typ, plural in (("withdrawal", "withdrawals"), ("deposit", "deposits")):
        atm_details = [booked_amount(t) for t in txs if t["type"] == typ and atm_booked(t)]
        host_details = [cents(r["amount"]) for r in booked if r["type"] == typ]
        for side, tot, details in (("atm", atm_tot, atm_details), ("host", host_tot, host_details)):
            if tot[f"{plural}.count"] != len(details):
                mismatches.append(_entry("TOTALS_INCONSISTENT", side=side, item=f"{plural}.count"))
            if tot[f"{plural}.amount"] != sum(details):
                mismatches.append(_entry("TOTALS_INCONSISTENT", side=side, item=f"{plural}.amount"))

    # -- COUNT_DIFFERS (rev 2): each counted unit against what its counters (or, for a mixed
    # bin, the notes put into it) say it holds; units without a derived amount are skipped
    if counts is not None:
        units = {u["id"]: u for u in atm["units"]}
        for uid, amount in counts["units"].items():
            u = units[uid]
            if u["value"] is not None:
                count = (
                    u["initial"]
                    + u["in"]["deposited"]
                    + u["in"]["retracted"]
                    + u["in"]["rejected"]
                    - u["out"]["presented"]
                    - u["out"]["rejected"]
                    - u["out"]["unknown"]
                )
                derived = count * cents(u["value"])
            elif "notes" in atm:
                derived = sum(
                    cents(n["value"])
                    for n in atm["notes"]
                    if n["unit"] == uid and n["event"] in ("retracted", "rejected", "deposited")
                )
            else:
                continue
            if cents(amount) != derived:
                mismatches.append(_entry("COUNT_DIFFERS", unit=uid, counted=cents(amount), derived=derived))

    balanced = (
        all(a == h for _, a, h in totals)
        and not mismatches
        and (counted is None or counted == atm_expected == host_expected)
    )
    return {"totals": totals, "cash_position": cash_position, "balanced": balanced, "mismatches": mismatches}


def project(entry: dict) -> tuple:
    """The comparable tuple of an entry: the FIELDS, with the ones the spec leaves open for its
    category replaced by ANY (applied the same way to the engine's entries)."""
    skip = UNSPECIFIED.get(entry["category"], ())
    return tuple(ANY if name in skip else entry[name] for name in FIELDS)
