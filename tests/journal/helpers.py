"""What the journal tests share: hand-built rev-2 cycles, the schema check, ledger comparison."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema

from custodian_app.domain import formats

SCHEMA = json.loads((Path(__file__).parent / "data" / "atm-ledger-1.rev2.schema.json").read_text())
DIALECTS = ("ncr", "hyosung", "grg")


def check_ledger(doc: dict) -> None:
    """The rev-2 schema and today's reader both accept it."""
    jsonschema.validate(doc, SCHEMA)
    formats.parse_atm_ledger(doc, "<from journal>")


def _unit(uid, utype, value, initial, presented=0, rejected=0, unknown=0, deposited=0, retracted=0, rej_in=0):
    return {
        "id": uid,
        "type": utype,
        "currency": "CNY",
        "value": value,
        "initial": initial,
        "out": {"presented": presented, "rejected": rejected, "distributed": presented, "unknown": unknown},
        "in": {"deposited": deposited, "retracted": retracted, "rejected": rej_in},
    }


def _tx(
    tsn,
    time,
    typ,
    amount,
    code="00",
    ref=None,
    reversed_=False,
    taken="0.00",
    retracted="0.00",
    deposited="0.00",
    returned="0.00",
    card="622202******1234",
    **extra,
):
    t = {
        "tsn": tsn,
        "time": f"2026-11-20T{time}+08:00",
        "type": typ,
        "card": card,
        "amount": amount,
        "host_code": code,
        "host_ref": ref,
        "reversed": reversed_,
        "cash": {"taken": taken, "retracted": retracted, "deposited": deposited, "returned": returned},
    }
    for k, v in extra.items():
        if k == "unknown":
            t["cash"]["unknown"] = v
        else:
            t[k] = v
    return t


def _notes(serial0: int, count: int, value: str, tsn, unit: str, event: str) -> list[dict]:
    return [
        {"serial": f"HB{serial0 + i:08d}", "value": value, "tsn": tsn, "unit": unit, "event": event}
        for i in range(count)
    ]


def rev2_cycle() -> dict:
    """A cycle with every revision-2 case, built by hand: a partial reversal, a power loss
    mid-dispense, retained cards (in a transaction and on its own), a retract, a deposit with
    a note handed back, a decline, a full reversal."""
    txs = [
        _tx("000101", "09:00:00", "withdrawal", "500.00", ref="632409000101", taken="500.00"),
        # partial: 1000 asked, a jam after 600, the rest reversed (0420 with replacement amount)
        _tx(
            "000102",
            "09:05:00",
            "withdrawal",
            "1000.00",
            ref="632409000102",
            taken="600.00",
            reversed_amount="400.00",
        ),
        # power lost while the presenter held 300: fate unknown
        _tx("000103", "09:10:00", "withdrawal", "300.00", ref="632409000103", unknown="300.00"),
        # presented, not taken, retracted; the card kept too (timeout)
        _tx(
            "000104",
            "09:15:00",
            "withdrawal",
            "200.00",
            ref="632409000104",
            retracted="200.00",
            card="621700******0042",
        ),
        _tx(
            "000105",
            "09:20:00",
            "deposit",
            "1000.00",
            ref="632409000105",
            deposited="1000.00",
            returned="100.00",
        ),
        _tx("000106", "09:25:00", "withdrawal", "800.00", code="51"),
        _tx("000107", "09:30:00", "withdrawal", "700.00", code="68", reversed_=True),
    ]
    notes = (
        _notes(1, 5, "100.00", "000101", "CST1", "taken")
        + _notes(10, 6, "100.00", "000102", "CST1", "taken")
        + _notes(20, 2, "100.00", "000104", "RTR1", "retracted")
        + _notes(30, 10, "100.00", "000105", "CIN1", "deposited")
        + _notes(40, 1, "100.00", "000105", "CIN1", "returned")
        + _notes(50, 1, "100.00", None, "REJ1", "rejected")
    )
    units = [
        _unit("CST1", "recycling", "100.00", 2000, presented=13, rejected=1, unknown=3),
        _unit("CST2", "cashOut", "50.00", 500),
        _unit("CIN1", "cashIn", None, 0, deposited=10),
        _unit("REJ1", "reject", None, 0, rej_in=1),
        _unit("RTR1", "retract", None, 0, retracted=2),
    ]
    return {
        "format": "atm-ledger/1",
        "terminal_id": "SH-0042",
        "cycle_id": "SH-0042-20261120",
        "currency": "CNY",
        "opened_at": "2026-11-20T08:00:00+08:00",
        "closed_at": "2026-11-20T18:00:00+08:00",
        "totals": {
            "loaded_amount": "225000.00",
            "withdrawals": {"count": 4, "amount": "1600.00"},
            "deposits": {"count": 1, "amount": "1000.00"},
        },
        "units": units,
        "transactions": txs,
        "notes": notes,
        "retained_cards": [
            {
                "time": "2026-11-20T09:15:40+08:00",
                "card": "621700******0042",
                "tsn": "000104",
                "reason": "timeout",
            },
            {"time": "2026-11-20T12:00:00+08:00", "card": "622848******7777", "tsn": None, "reason": "fault"},
        ],
    }


def without_source(doc: dict) -> dict:
    d = copy.deepcopy(doc)
    d.pop("source", None)
    return d


def compare_notes(got: list[dict], want: list[dict]) -> int:
    """Every generated note comes back (serial, value, event); a note with a TSN has the right
    TSN and unit; returns how many came back without a TSN (their windows were ambiguous)."""
    pool: dict[str, list[dict]] = {}
    for n in want:
        pool.setdefault(n["serial"], []).append(n)
    nulls = 0
    for n in got:
        assert pool.get(n["serial"]), f"note {n['serial']} was not in the cycle"
        w = pool[n["serial"]].pop(0)
        assert (n["value"], n["event"]) == (w["value"], w["event"]), (n, w)
        if n["tsn"] is None:
            nulls += 1
        else:
            assert n == w, (n, w)
    assert not any(pool.values()), "notes lost on the way"
    return nulls
