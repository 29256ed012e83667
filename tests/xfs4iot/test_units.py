"""XFS4IoT storage units <-> atm-ledger/1 units: the counters, the types, what can be trusted."""

from __future__ import annotations

import json
from decimal import Decimal

import jsonschema
import pytest

from custodian_app.domain import formats, generator
from custodian_app.support.resources import resource
from custodian_app.xfs4iot import units
from custodian_app.xfs4iot.errors import XfsExchangeError, XfsReplyError
from custodian_app.xfs4iot.messages import dumps, loads

from .conftest import UNITS, unit


def served(ledger_unit, index=1):
    """A ledger unit as the service sends it: through JSON, as a client receives it."""
    name, storage_unit = units.storage_unit(ledger_unit, index)
    return name, loads(dumps(storage_unit))


def xfs_unit(**status):
    """A real-looking storage unit of 100 CNY notes whose status is given in XFS4IoT form."""
    return {
        "id": "CST1",
        "status": "ok",
        "cash": {
            "configuration": {
                "types": {"cashOut": True},
                "currency": "CNY",
                "value": 100,
                "cashItems": ["type100CNY1"],
            },
            "status": status,
        },
    }


def test_counters_are_summed_over_cash_items_and_classes():
    counts = {
        "unrecognized": 2,
        "type100CNY1": {"fit": 10, "unfit": 3, "suspect": 1, "counterfeit": 1, "inked": 0},
        "type100CNY2": {"fit": 5, "unfit": None},
    }
    assert units.sum_counts(counts, "x") == 22
    assert units.sum_counts(None, "x") == 0  # "can be null if all values are 0"
    assert units.sum_counts({}, "x") == 0


@pytest.mark.parametrize(
    "bad",
    [{"unrecognized": -1}, {"unrecognized": True}, {"type100CNY1": {"fit": 1.0}}, {"type100CNY1": 7}, [1]],
)
def test_a_counter_that_is_not_a_count_is_refused_naming_where(bad):
    with pytest.raises(XfsReplyError) as err:
        units.sum_counts(bad, "storage.unit1.cash.status.out.presented")
    assert "storage.unit1.cash.status.out.presented" in str(err.value)
    assert "请联系科技部门" in str(err.value)


def test_a_real_unit_translates_exactly_per_rules_revision_2():
    reading = units.read_unit(
        "unit1",
        xfs_unit(
            initial={"type100CNY1": {"fit": 2000}},
            out={
                "presented": {"type100CNY1": {"fit": 200, "unfit": 15}},
                "rejected": {"unrecognized": 1, "type100CNY1": {"fit": 2}},
                "distributed": None,
                "unknown": {"type100CNY1": {"fit": 2}},
            },
            **{"in": {"retracted": {"unrecognized": 4}, "retractOperations": 1}},
            accuracy="accurate",
            replenishmentStatus="ok",
        ),
    )
    assert reading.unit == unit(
        "CST1", "cashOut", "100.00", 2000, presented=215, out_rejected=3, unknown=2, retracted=4
    )
    assert reading.derived_count == 2000 + 4 - 215 - 3 - 2
    assert reading.count_trusted and reading.accuracy == "accurate"


def test_distributed_is_carried_but_never_subtracted():
    u = unit("CST1", "cashOut", "100.00", 100, presented=10, distributed=10)
    assert units.derived_count(u) == 90


@pytest.mark.parametrize(
    "types, expected",
    [
        ({"cashOut": True}, "cashOut"),
        ({"cashIn": True}, "cashIn"),
        ({"cashIn": True, "cashOut": True}, "recycling"),
        ({"reject": True}, "reject"),
        ({"cashOutRetract": True}, "retract"),
        ({"cashInRetract": True, "reject": True}, "reject"),
        ({"replenishment": True}, None),
    ],
)
def test_unit_types(types, expected):
    assert units.ledger_type(types, "x") == expected


def test_a_unit_with_no_type_is_refused():
    with pytest.raises(XfsReplyError, match="no cash unit type"):
        units.ledger_type({"cashOut": False}, "storage.unit1")


@pytest.mark.parametrize(
    "value, expected",
    [(100, "100.00"), (Decimal("0.5"), "0.50"), (0, None), (None, None), (Decimal("20.00"), "20.00")],
)
def test_denominations_are_exact_money(value, expected):
    assert units.ledger_value(value, "x") == expected


@pytest.mark.parametrize("value", [Decimal("0.005"), -5, True, "100", 1e2])
def test_a_denomination_that_is_not_whole_cents_is_refused(value):
    with pytest.raises(XfsReplyError):
        units.ledger_value(value, "storage.unit1.cash.configuration.value")


@pytest.mark.parametrize(
    "status, extra, reason",
    [
        ({"accuracy": "inaccurate"}, {}, "accuracy-inaccurate"),
        ({"accuracy": "unknown"}, {}, "accuracy-unknown"),
        ({}, {"status": "manipulated"}, "manipulated"),
        ({"out": {"stacked": {"type100CNY1": {"fit": 3}}}}, {}, "notes-in-transport"),
        ({"in": {"transport": {"unrecognized": 1}}}, {}, "notes-in-transport"),
        ({"out": {"distributed": {"type100CNY1": {"fit": 3}}}}, {}, "moved-between-units"),
        ({"in": {"distributed": {"type100CNY1": {"fit": 3}}}}, {}, "moved-between-units"),
    ],
)
def test_what_makes_a_count_untrusted(status, extra, reason):
    raw = xfs_unit(initial={"type100CNY1": {"fit": 10}}, **status)
    raw.update(extra)
    reading = units.read_unit("unit1", raw)
    assert reading.untrusted == (reason,) and not reading.count_trusted
    english, chinese = units.UNTRUSTED_REASONS[reason]
    assert "count" in english and "清点" in chinese


@pytest.mark.parametrize("accuracy", ["accurate", "accurateSet", None])
def test_accurate_counts_stand(accuracy):
    reading = units.read_unit("unit1", xfs_unit(initial={"type100CNY1": {"fit": 10}}, accuracy=accuracy))
    assert reading.count_trusted and reading.accuracy == accuracy


def test_non_cash_units_are_left_out():
    storage = {
        "unit1": xfs_unit(initial={}),
        "unit2": {"id": "BIN1", "card": {"status": {}}},
        "unit3": {"id": "REP1", "cash": {"configuration": {"types": {"replenishment": True}}}},
    }
    assert [r.unit["id"] for r in units.read_storage(storage)] == ["CST1"]


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda u: u.update(id=None), "storage.unit1.id"),
        (lambda u: u.update(id="TOOLONG"), "storage.unit1.id"),
        (lambda u: u["cash"]["configuration"].update(currency="cny"), "currency"),
        (lambda u: u["cash"]["status"].update(accuracy="roughly"), "accuracy"),
        (lambda u: u.update(status="fine"), "storage.unit1.status"),
        (lambda u: u["cash"].update(status=[]), "storage.unit1.cash.status"),
    ],
)
def test_a_bad_unit_is_refused_naming_where(mutate, where):
    raw = xfs_unit(initial={"type100CNY1": {"fit": 1}})
    mutate(raw)
    with pytest.raises(XfsReplyError) as err:
        units.read_storage({"unit1": raw})
    assert where in str(err.value)


def test_two_units_with_one_id_are_refused():
    with pytest.raises(XfsReplyError, match="also the id of unit1"):
        units.read_storage({"unit1": xfs_unit(), "unit2": xfs_unit()})


def test_a_mixed_currency_unit_takes_the_ledger_currency():
    raw = xfs_unit()
    raw["cash"]["configuration"].update(currency=None, value=0, types={"reject": True})
    with pytest.raises(XfsReplyError, match="currency"):
        units.read_unit("unit1", raw)
    assert units.read_unit("unit1", raw, currency="CNY").unit["currency"] == "CNY"


def test_units_round_trip_through_the_service_form_in_index_order():
    storage = dict(served(u, i) for i, u in reversed(list(enumerate(UNITS, 1))))
    assert [r.unit for r in units.read_storage(storage)] == UNITS


def test_a_generated_cycle_round_trips_valid_against_the_schema_and_the_parser():
    docs = generator.build_documents(7, 60, "all")
    atm = json.loads(docs.atm)
    storage = dict(served(u, i) for i, u in enumerate(atm["units"], 1))
    read = [r.unit for r in units.read_storage(storage)]
    assert read == atm["units"]
    schema = json.loads(resource("schemas", "atm-ledger-1.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate({**atm, "units": read}, schema)
    assert formats.parse_atm_ledger({**atm, "units": read}).units == formats.parse_atm_ledger(atm).units


def test_set_storage_gives_every_unit_its_new_initial():
    readings = [units.read_unit(*served(u, i)) for i, u in enumerate(UNITS, 1)]
    new = {"CST1": 2500, "CST2": 1500, "RC1": 800, "CIN1": 0, "RJ1": 0, "RTR1": 0}
    payload = units.set_storage_payload(readings, new)
    assert payload["storage"]["unit1"] == {"cash": {"status": {"initial": {"type100CNY1": {"fit": 2500}}}}}
    assert payload["storage"]["unit2"]["cash"]["status"]["initial"] == {"type50CNY1": {"fit": 1500}}
    assert payload["storage"]["unit6"]["cash"]["status"]["initial"] == {"unrecognized": 0}
    assert len(payload["storage"]) == 6


@pytest.mark.parametrize(
    "new, words",
    [
        ({"CST1": 1}, "no count for CIN1, CST2, RC1, RJ1, RTR1"),
        ({u["id"]: 0 for u in UNITS} | {"XX9": 1}, "the ATM has no unit XX9"),
        ({u["id"]: 0 for u in UNITS} | {"RJ1": 5}, "can only be emptied"),
        ({u["id"]: 0 for u in UNITS} | {"CST1": -1}, "not a number of notes"),
        ({u["id"]: 0 for u in UNITS} | {"CST1": True}, "not a number of notes"),
    ],
)
def test_new_counts_that_do_not_fit_are_refused_in_both_languages(new, words):
    readings = [units.read_unit(*served(u, i)) for i, u in enumerate(UNITS, 1)]
    with pytest.raises(XfsExchangeError) as err:
        units.set_storage_payload(readings, new)
    assert words in err.value.english and "未向 ATM 发送任何内容" in err.value.chinese
