"""XFS4IoT storage units <-> atm-ledger/1 units. Pure functions: no I/O, no Qt.

An XFS4IoT ``Storage.GetStorage`` completion holds ``storage``, an object keyed by unit name
(``unit1`` ...). A cash unit's ``cash`` has ``configuration`` (types, currency, value,
cashItems), ``status`` (``initial``, ``out``, ``in``, ``accuracy``, ``replenishmentStatus``)
and ``capabilities``. Every counter is a counts object, ``{"unrecognized": n, "<cashItem>":
{"fit", "unfit", "suspect", "counterfeit", "inked"}}``; a note count is the sum of all of it.

The translation into atm-ledger/1 follows the clearing rules, revision 2 (see
docs/xfs4iot.md for the table and the reasons): the ledger keeps ``initial``,
``out.presented/rejected/distributed/unknown`` and ``in.deposited/retracted/rejected``, and its
derived count is ``initial + in.deposited + in.retracted + in.rejected - out.presented -
out.rejected - out.unknown``. What the rules' arithmetic does not see, and what the service
itself doubts (``accuracy``), makes the reading say the count cannot be trusted, so the
custodians count that unit note by note.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from custodian_app.domain.documents import unit_count
from custodian_app.xfs4iot.errors import XfsExchangeError, XfsReplyError

CASH_ITEM_FIELDS = ("fit", "unfit", "suspect", "counterfeit", "inked")
# XFS4IoT's out counters the ledger takes. The ledger's own ``out.distributed`` (rules revision
# 2: overlaps ``presented``, informational) is XFS4IoT's ``presented``; XFS4IoT's
# ``distributed`` means internal moves between units (MOVED_COUNTERS), which is something else.
LEDGER_OUT = ("presented", "rejected", "unknown")
LEDGER_IN = ("deposited", "retracted", "rejected")
# Counters with no place in the rules' arithmetic: notes in an intermediate position (not
# reset by a new initial), or moved between units inside the ATM.
TRANSPORT_COUNTERS = (("out", "stacked"), ("out", "diverted"), ("out", "transport"), ("in", "transport"))
MOVED_COUNTERS = (("out", "distributed"), ("in", "distributed"))
TYPE_FLAGS = ("cashIn", "cashOut", "replenishment", "cashInRetract", "cashOutRetract", "reject")
ACCURACIES = ("accurate", "accurateSet", "inaccurate", "unknown")
REPLENISHMENT = ("ok", "full", "high", "low", "empty")
UNIT_STATUSES = ("ok", "inoperative", "missing", "notConfigured", "manipulated")
CENT = Decimal("0.01")

# Why a unit's derived count cannot be trusted: code -> (English, Chinese), words for the
# custodians. The codes are stable (the agent sends them on).
UNTRUSTED_REASONS: dict[str, tuple[str, str]] = {
    "accuracy-inaccurate": (
        "the ATM reports its counters as inaccurate (a jam or pick fault): count this unit note by note",
        "ATM 报告该钞箱计数不准确（卡钞或取钞故障）：请逐张清点该钞箱",
    ),
    "accuracy-unknown": (
        "the ATM cannot tell whether its counters are accurate (e.g. the unit was re-inserted): "
        "count this unit note by note",
        "ATM 无法确定该钞箱计数是否准确（例如钞箱曾被重新插入）：请逐张清点该钞箱",
    ),
    "manipulated": (
        "the ATM reports this unit as manipulated: count it note by note under dual custody and "
        "tell the supervisor",
        "ATM 报告该钞箱被人为操作过：请在双人监督下逐张清点，并报告主管",
    ),
    "notes-in-transport": (
        "notes from or to this unit are still in the transport, stacker or a temporary position: "
        "clear the transport, then count this unit note by note",
        "该钞箱有钞票仍在传输通道、暂存器或临时位置：请先清理通道，再逐张清点该钞箱",
    ),
    "moved-between-units": (
        "notes were moved between this unit and another inside the ATM, which the clearing "
        "rules do not count: count this unit note by note",
        "ATM 内部有钞票在该钞箱与其他钞箱之间移动，清机规则未计入：请逐张清点该钞箱",
    ),
}


@dataclass(frozen=True, slots=True)
class UnitReading:
    """One cash unit as read: its atm-ledger/1 form and what the service says about it."""

    name: str  # the XFS4IoT storage key, e.g. "unit1"
    unit: dict[str, Any]  # exactly an atm-ledger/1 unit
    accuracy: str | None  # None: the hardware cannot tell
    replenishment_status: str | None
    status: str | None
    cash_items: tuple[str, ...]
    untrusted: tuple[str, ...]  # codes of UNTRUSTED_REASONS; empty when the count stands

    @property
    def count_trusted(self) -> bool:
        return not self.untrusted

    @property
    def derived_count(self) -> int:
        """Notes the unit should hold, by the rules (revision 2)."""
        return derived_count(self.unit)


def derived_count(unit: Mapping[str, Any]) -> int:
    """What an atm-ledger/1 unit (a dict) should hold, by the rules (``documents.unit_count``)."""
    return unit_count(unit["initial"], unit["in"], unit["out"])


def _bad(where: str, what: str) -> XfsReplyError:
    return XfsReplyError(
        f"The ATM's XFS4IoT storage list is not valid at {where}: {what}. No unit was read; ask "
        "the bank's IT to check the ATM's XFS4IoT service.",
        f"ATM 的 XFS4IoT 钞箱信息在 {where} 处无效：{what}。未读取任何钞箱：请联系科技部门检查 ATM 的 XFS4IoT 服务。",
    )


def _count(value: Any, where: str) -> int:
    if value is None:
        return 0
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise _bad(where, f"{value!r} is not a count of notes")
    return value


def sum_counts(counts: Any, where: str) -> int:
    """Notes in a counts object: ``unrecognized`` plus every cash item's five classes."""
    if counts is None:  # "can be null if all values are 0"
        return 0
    if not isinstance(counts, dict):
        raise _bad(where, "not a counts object")
    total = 0
    for key, value in counts.items():
        if key == "unrecognized":
            total += _count(value, f"{where}.unrecognized")
        elif isinstance(value, dict):
            for cls in CASH_ITEM_FIELDS:
                total += _count(value.get(cls), f"{where}.{key}.{cls}")
        elif value is not None:
            raise _bad(f"{where}.{key}", f"{value!r} is not a cash item's counts")
    return total


def _object(parent: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = parent.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _bad(f"{where}.{key}", "not an object")
    return value


def ledger_type(types: Mapping[str, Any], where: str) -> str | None:
    """The atm-ledger/1 type for XFS4IoT ``types`` flags; None for a replenishment container."""
    on = {flag for flag in TYPE_FLAGS if types.get(flag) is True}
    if {"cashIn", "cashOut"} <= on:
        return "recycling"
    if "cashOut" in on:
        return "cashOut"
    if "cashIn" in on:
        return "cashIn"
    if "reject" in on:
        return "reject"
    if on & {"cashInRetract", "cashOutRetract"}:
        return "retract"
    if on == {"replenishment"}:
        return None
    raise _bad(f"{where}.types", f"no cash unit type set ({sorted(on) or 'none'})")


def ledger_value(value: Any, where: str) -> str | None:
    """The denomination as atm-ledger/1 money ("100.00"), or None for a mixed unit (0 or null)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise _bad(where, f"{value!r} is not a denomination")
    try:
        exact = Decimal(value)
        cents = exact.quantize(CENT)
    except InvalidOperation as exc:
        raise _bad(where, f"{value!r} is not a denomination") from exc
    if exact < 0 or cents != exact:
        raise _bad(where, f"{value} is not an amount in cents")
    return None if exact == 0 else f"{cents:f}"


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str | None:
    if value is not None and value not in allowed:
        raise _bad(where, f"{value!r} is not one of {', '.join(allowed)}")
    return value


def read_unit(name: str, unit: Any, *, currency: str | None = None) -> UnitReading | None:
    """One storage unit as an atm-ledger/1 unit; None if it holds no cash for the ledger
    (a card bin, a printer's, a replenishment container)."""
    where = f"storage.{name}"
    if not isinstance(unit, dict):
        raise _bad(where, "not an object")
    cash = _object(unit, "cash", where)
    if not cash:
        return None
    config = _object(cash, "configuration", f"{where}.cash")
    caps = _object(cash, "capabilities", f"{where}.cash")
    status = _object(cash, "status", f"{where}.cash")
    types = _object(config, "types", f"{where}.cash.configuration") or _object(
        caps, "types", f"{where}.cash.capabilities"
    )
    utype = ledger_type(types, f"{where}.cash.configuration")
    if utype is None:
        return None
    uid = unit.get("id")
    if not isinstance(uid, str) or not 1 <= len(uid) <= 5:
        raise _bad(f"{where}.id", f"{uid!r} is not a unit id of 1 to 5 characters")
    cur = config.get("currency") or currency
    if not isinstance(cur, str) or len(cur) != 3 or not cur.isascii() or not cur.isupper():
        raise _bad(f"{where}.cash.configuration.currency", f"{cur!r} is not an ISO 4217 code")
    sw = f"{where}.cash.status"
    out_, in_ = _object(status, "out", sw), _object(status, "in", sw)
    ledger = {
        "id": uid,
        "type": utype,
        "currency": cur,
        "value": ledger_value(config.get("value"), f"{where}.cash.configuration.value"),
        "initial": sum_counts(status.get("initial"), f"{sw}.initial"),
        "out": {k: sum_counts(out_.get(k), f"{sw}.out.{k}") for k in LEDGER_OUT},
        "in": {k: sum_counts(in_.get(k), f"{sw}.in.{k}") for k in LEDGER_IN},
    }
    ledger["out"]["distributed"] = ledger["out"]["presented"]
    accuracy = _choice(status.get("accuracy"), ACCURACIES, f"{sw}.accuracy")
    untrusted = []
    if accuracy in ("inaccurate", "unknown"):
        untrusted.append(f"accuracy-{accuracy}")
    ustatus = _choice(unit.get("status"), UNIT_STATUSES, f"{where}.status")
    if ustatus == "manipulated":
        untrusted.append("manipulated")
    pick = {"out": out_, "in": in_}
    if any(sum_counts(pick[d].get(k), f"{sw}.{d}.{k}") for d, k in TRANSPORT_COUNTERS):
        untrusted.append("notes-in-transport")
    if any(sum_counts(pick[d].get(k), f"{sw}.{d}.{k}") for d, k in MOVED_COUNTERS):
        untrusted.append("moved-between-units")
    items = config.get("cashItems") or caps.get("cashItems") or ()
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise _bad(f"{where}.cash.configuration.cashItems", "not a list of cash item names")
    return UnitReading(
        name=name,
        unit=ledger,
        accuracy=accuracy,
        replenishment_status=_choice(
            status.get("replenishmentStatus"), REPLENISHMENT, f"{sw}.replenishmentStatus"
        ),
        status=ustatus,
        cash_items=tuple(items),
        untrusted=tuple(untrusted),
    )


def read_storage(storage: Any, *, currency: str | None = None) -> list[UnitReading]:
    """Every cash unit of a GetStorage ``storage`` object, ordered by the service's index."""
    if not isinstance(storage, dict):
        raise _bad("storage", "not an object keyed by unit name")
    readings = []
    for name, unit in storage.items():
        reading = read_unit(name, unit, currency=currency)
        if reading is not None:
            index = ((unit.get("cash") or {}).get("status") or {}).get("index")
            readings.append((index if isinstance(index, int) else 1 << 30, name, reading))
    readings.sort(key=lambda t: (t[0], t[1]))
    seen: dict[str, str] = {}
    for _, name, reading in readings:
        uid = reading.unit["id"]
        if uid in seen:
            raise _bad(f"storage.{name}.id", f"{uid!r} is also the id of {seen[uid]}")
        seen[uid] = name
    return [r for _, _, r in readings]


def initial_counts(reading: UnitReading, notes: int, where: str) -> dict[str, Any]:
    """The counts object that sets a unit's new ``initial`` to ``notes``.

    A unit of one denomination gets them as fit notes of its cash item; a mixed unit (reject,
    retract) can only be emptied, since its notes have no single cash item to be counted as."""
    if isinstance(notes, bool) or not isinstance(notes, int) or notes < 0:
        raise XfsExchangeError(
            f"The new count for unit {where} ({notes!r}) is not a number of notes; nothing was "
            "sent to the ATM. Enter the notes loaded as a whole number.",
            f"钞箱 {where} 的新装钞张数（{notes!r}）不是张数；未向 ATM 发送任何内容：请输入整数张数。",
        )
    if len(reading.cash_items) == 1:
        return {reading.cash_items[0]: {"fit": notes}}
    if notes == 0:
        return {"unrecognized": 0}
    raise XfsExchangeError(
        f"Unit {where} holds mixed notes (no single denomination), so it can only be emptied "
        f"(count 0), not loaded with {notes}; nothing was sent to the ATM.",
        f"钞箱 {where} 存放混合券别，只能清空（张数 0），不能装入 {notes} 张；未向 ATM 发送任何内容。",
    )


def set_storage_payload(readings: Iterable[UnitReading], new_initial: Mapping[str, int]) -> dict:
    """Storage.SetStorage's payload giving every unit its new initial count (by ledger id).

    Every unit must be named, and only those: a forgotten unit would keep last cycle's counts."""
    readings = list(readings)
    by_id = {r.unit["id"]: r for r in readings}
    missing = sorted(set(by_id) - set(new_initial))
    unknown = sorted(set(new_initial) - set(by_id))
    if missing or unknown:
        en = "; ".join(
            filter(
                None,
                [
                    missing and f"no count for {', '.join(missing)}",
                    unknown and f"the ATM has no unit {', '.join(unknown)}",
                ],
            )
        )
        zh = "；".join(
            filter(
                None,
                [
                    missing and f"缺少钞箱 {'、'.join(missing)} 的张数",
                    unknown and f"ATM 没有钞箱 {'、'.join(unknown)}",
                ],
            )
        )
        raise XfsExchangeError(
            f"The new cycle must give every unit of the ATM a count ({en}); nothing was sent to "
            "the ATM. Enter a count for each unit, 0 for an emptied one.",
            f"新周期必须为 ATM 的每个钞箱给出张数（{zh}）；未向 ATM 发送任何内容：请为每个钞箱填写张数，清空的钞箱填 0。",
        )
    return {
        "storage": {
            r.name: {
                "cash": {"status": {"initial": initial_counts(r, new_initial[r.unit["id"]], r.unit["id"])}}
            }
            for r in readings
        }
    }


_LEDGER_TYPES = {
    "cashOut": {"cashOut"},
    "cashIn": {"cashIn"},
    "recycling": {"cashIn", "cashOut"},
    "reject": {"reject"},
    "retract": {"cashInRetract", "cashOutRetract"},
}


def cash_item_name(value: str | None, currency: str) -> str | None:
    """A cash item's name in the style of CashManagement.GetBankNoteTypes (``type100CNY1``)."""
    if value is None:
        return None
    amount = Decimal(value)
    shown = (
        f"{amount:f}".rstrip("0").rstrip(".") if amount != amount.to_integral_value() else str(int(amount))
    )
    return f"type{shown}{currency}1"


def counts_of(notes: int, item: str | None) -> dict[str, Any]:
    """A counts object holding ``notes`` fit notes of ``item`` (unrecognized when mixed)."""
    return {"unrecognized": notes} if item is None else {"unrecognized": 0, item: {"fit": notes}}


def storage_unit(unit: Mapping[str, Any], index: int) -> tuple[str, dict[str, Any]]:
    """An atm-ledger/1 unit as an XFS4IoT storage unit (the simulator serves these)."""
    item = cash_item_name(unit["value"], unit["currency"])
    on = _LEDGER_TYPES[unit["type"]]
    types = {flag: flag in on for flag in TYPE_FLAGS}
    mixed = item is None
    items = {
        "fit": True,
        "unfit": not mixed,
        "unrecognized": mixed,
        "counterfeit": mixed,
        "suspect": mixed,
        "inked": mixed,
    }
    value = Decimal(unit["value"]) if unit["value"] is not None else Decimal(0)
    cash_items = [item] if item else []
    return f"unit{index}", {
        "id": unit["id"],
        "positionName": f"Slot {index}",
        "capacity": 3000,
        "status": "ok",
        "serialNumber": None,
        "cash": {
            "capabilities": {
                "types": types,
                "items": items,
                "hardwareSensors": False,
                "retractAreas": 1 if unit["type"] == "retract" else None,
                "retractThresholds": False if unit["type"] == "retract" else None,
                "cashItems": cash_items,
            },
            "configuration": {
                "types": types,
                "items": items,
                "currency": unit["currency"],
                "value": value,
                "highThreshold": None,
                "lowThreshold": 50 if not mixed else None,
                "appLockIn": False,
                "appLockOut": False,
                "cashItems": cash_items,
                "name": unit["id"],
                "maxRetracts": None,
            },
            "status": {
                "index": index,
                "initial": counts_of(unit["initial"], item),
                "out": {k: counts_of(unit["out"][k], item) for k in LEDGER_OUT},
                "in": {k: counts_of(unit["in"][k], item) for k in LEDGER_IN},
                "accuracy": "accurate",
                "replenishmentStatus": "ok",
            },
        },
    }
