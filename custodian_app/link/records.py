"""How ledger records travel: column by column (docs/protocol.md, "Record pages").

Two page layouts: 1, JSON columns (this module), and 2, binary columns compressed
(binpage.py). The ATM lists the layouts it knows in Common.Capabilities (``recordLayouts``;
absent: layout 1 only); the client asks for the highest both know with ``layout`` in its read
commands, and a page says its layout, so an old peer on either side still works.

A page of records is sent as one object of columns, each column a JSON array of that field's
values, so that similar values sit next to each other and the zlib stream squeezes them well.
A column whose values come in runs (the TSN of a note, its unit, its value, its event) may
instead be sent run-length encoded: ``{"runs": [value, count, value, count, ...]}``.
Amounts are integers of minor units (fen), never fractions.

``encode_*`` is used by the ATM side (the simulator); ``decode_*`` turns a page back into the
shapes of atm-ledger/1, checking every column, so that the client can validate the whole
ledger with ``formats.parse_atm_ledger`` at the end.

Rules revision 2 travels the same way: a page of transactions carries the columns
``reversedAmount`` (minor units or null) and ``unknown`` (minor units) when any of its
transactions has them, and the totals carry ``retainedCards``; a ledger read over the link is
the ledger served, key for key.
"""

from __future__ import annotations

import re
from typing import Any

from custodian_app.domain.formats import AtmLedger, AtmTransaction, NoteRecord, Unit, retained_card_dict
from custodian_app.domain.money import format_amount
from custodian_app.link import binpage
from custodian_app.link.errors import ProtocolError

TX_FIELDS = (
    "tsn",
    "time",
    "type",
    "card",
    "amount",
    "hostCode",
    "hostRef",
    "reversed",
    "taken",
    "retracted",
    "deposited",
    "returned",
)
NOTE_FIELDS = ("serial", "value", "tsn", "unit", "event")
_MONEY_TX = ("amount", "taken", "retracted", "deposited", "returned")
TX_FIELDS_REV2 = ("reversedAmount", "unknown")  # optional columns (rules revision 2)
LAYOUTS = (1, binpage.LAYOUT)  # record-page layouts this side knows


def choose_layout(ours: tuple[int, ...], capabilities: dict) -> int:
    """The highest record layout both sides know (an ATM that does not say knows layout 1)."""
    theirs = capabilities.get("recordLayouts", [1])
    if type(theirs) is not list:
        theirs = [1]
    common = [v for v in ours if v in theirs and type(v) is int]
    return max(common, default=1)


def encode_page(kind: str, items: list, layout: int, opened_at: str) -> tuple[dict, bytes | None]:
    """A page of ``kind`` ("transactions" or "notes") in ``layout``: the payload, and the
    binary attachment of layout 2 (None for layout 1)."""
    if layout == binpage.LAYOUT:
        blob = (
            binpage.encode_transactions(items, opened_at)
            if kind == "transactions"
            else binpage.encode_notes(items)
        )
        return {"count": len(items), "layout": binpage.LAYOUT}, blob
    return (encode_transactions(items) if kind == "transactions" else encode_notes(items)), None


def decode_page(kind: str, payload: dict, blob: bytes | None, where: str) -> list[dict]:
    """A page as it arrived -> records in the shape of atm-ledger/1; the page says its layout."""
    layout = payload.get("layout", 1)
    if layout == 1:
        if blob is not None:
            raise ProtocolError(f"{where}: a layout-1 page carries a binary attachment")
        return decode_transactions(payload) if kind == "transactions" else decode_notes(payload)
    if layout != binpage.LAYOUT:
        raise ProtocolError(f"{where}: record layout {layout!r} is not one this application knows")
    if blob is None:
        raise ProtocolError(f"{where}: a layout-2 page without its binary part")
    records = (
        binpage.decode_transactions(blob, where)
        if kind == "transactions"
        else binpage.decode_notes(blob, where)
    )
    if payload.get("count") != len(records):
        raise ProtocolError(
            f"{where}: the page says it holds {payload.get('count')!r} records, "
            f"its columns hold {len(records)}"
        )
    return records


def _column(values: list) -> Any:
    """Run-length encode when that is clearly shorter; otherwise the plain array."""
    runs: list = []
    for v in values:
        if runs and runs[-2] == v and type(runs[-2]) is type(v):
            runs[-1] += 1
        else:
            runs += [v, 1]
    if len(runs) < len(values):  # runs longer than two on average
        return {"runs": runs}
    return values


def _expand(col: Any, name: str, count: int) -> list:
    if type(col) is dict:
        runs = col.get("runs")
        if type(runs) is not list or len(runs) % 2:
            raise ProtocolError(f"column {name!r}: malformed run-length encoding")
        out: list = []
        for i in range(0, len(runs), 2):
            n = runs[i + 1]
            if type(n) is not int or n < 1 or len(out) + n > count:
                raise ProtocolError(f"column {name!r}: bad run length")
            out.extend([runs[i]] * n)
        col = out
    if type(col) is not list or len(col) != count:
        raise ProtocolError(f"column {name!r} does not hold {count} values")
    return col


def encode_transactions(txs: list[AtmTransaction]) -> dict:
    cols = {
        "tsn": [t.tsn for t in txs],
        "time": [t.time for t in txs],
        "type": [t.type for t in txs],
        "card": [t.card for t in txs],
        "amount": [t.amount for t in txs],
        "hostCode": [t.host_code for t in txs],
        "hostRef": [t.host_ref for t in txs],
        "reversed": [t.reversed for t in txs],
        "taken": [t.taken for t in txs],
        "retracted": [t.retracted for t in txs],
        "deposited": [t.deposited for t in txs],
        "returned": [t.returned for t in txs],
    }
    if any(t.reversed_amount is not None for t in txs):
        cols["reversedAmount"] = [t.reversed_amount for t in txs]
    if any(t.unknown for t in txs):
        cols["unknown"] = [t.unknown for t in txs]
    return {"count": len(txs), "columns": {k: _column(v) for k, v in cols.items()}}


_SERIAL = re.compile(r"([A-Z]{0,4})([0-9]{1,12})\Z")


def _serial_column(serials: list[str]) -> dict:
    """Banknote serials split into letters and number, the numbers sent as differences from
    the previous one: notes loaded from bundles come out of a cassette nearly in sequence, so
    the differences are small. Serials of another shape (e.g. with an unreadable '?') are sent
    whole in ``raw``, keyed by their index."""
    prefix: list[str] = []
    delta: list[int] = []
    width: list[int] = []
    raw: dict[str, str] = {}
    prev = 0
    for i, serial in enumerate(serials):
        m = _SERIAL.match(serial)
        if m is None:
            raw[str(i)] = serial
            prefix.append("")
            delta.append(0)
            width.append(0)
            continue
        number = int(m.group(2))
        prefix.append(m.group(1))
        delta.append(number - prev)
        width.append(len(m.group(2)))
        prev = number
    # the letters as one string (no quotes and commas between them), their lengths beside
    return {
        "letters": "".join(prefix),
        "letterCount": _column([len(p) for p in prefix]),
        "delta": delta,
        "width": _column(width),
        "raw": raw,
    }


def _expand_serials(col: Any, count: int) -> list:
    if type(col) is not dict or "delta" not in col:
        return _expand(col, "serial", count)
    letters = col.get("letters")
    lengths = _expand(col.get("letterCount"), "serial.letterCount", count)
    if type(letters) is not str:
        raise ProtocolError("column 'serial': 'letters' must be a string")
    prefix = []
    pos = 0
    for n in lengths:
        if type(n) is not int or not 0 <= n <= 4:
            raise ProtocolError("column 'serial': bad letter count")
        prefix.append(letters[pos : pos + n])
        pos += n
    if pos != len(letters):
        raise ProtocolError("column 'serial': letters and letter counts disagree")
    delta = _expand(col.get("delta"), "serial.delta", count)
    width = _expand(col.get("width"), "serial.width", count)
    raw = col.get("raw", {})
    if type(raw) is not dict:
        raise ProtocolError("column 'serial': 'raw' must be an object")
    out = []
    prev = 0
    for i in range(count):
        w = width[i]
        if w == 0:
            serial = raw.get(str(i))
            if type(serial) is not str:
                raise ProtocolError(f"column 'serial': serial {i} is missing")
            out.append(serial)
            continue
        d, p = delta[i], prefix[i]
        if type(d) is not int or type(w) is not int or not 0 < w <= 12 or type(p) is not str:
            raise ProtocolError(f"column 'serial': serial {i} is malformed")
        prev += d
        if not 0 <= prev < 10**w:
            raise ProtocolError(f"column 'serial': serial {i} does not fit its width")
        out.append(f"{p}{prev:0{w}d}")
    return out


def encode_notes(notes: list[NoteRecord]) -> dict:
    cols = {
        "serial": _serial_column([n.serial for n in notes]),
        "value": [n.value for n in notes],
        "tsn": [n.tsn for n in notes],
        "unit": [n.unit for n in notes],
        "event": [n.event for n in notes],
    }
    return {"count": len(notes), "columns": {k: v if k == "serial" else _column(v) for k, v in cols.items()}}


def _page_columns(page: dict, fields: tuple[str, ...]) -> tuple[int, dict[str, list]]:
    count = page.get("count")
    cols = page.get("columns")
    if type(count) is not int or count < 0 or type(cols) is not dict:
        raise ProtocolError("a record page lacks 'count' or 'columns'")
    out = {}
    for name in fields:
        if name not in cols:
            raise ProtocolError(f"a record page lacks the column {name!r}")
        out[name] = _expand(cols[name], name, count)
    return count, out


def _money(value: Any, where: str) -> str:
    if type(value) is not int or value < 0:
        raise ProtocolError(f"{where}: an amount must be a whole number of minor units >= 0")
    return format_amount(value)


def decode_transactions(page: dict) -> list[dict]:
    """A page -> transactions in the shape of atm-ledger/1 (validated later as a whole)."""
    count, c = _page_columns(page, TX_FIELDS)
    cols = page["columns"]
    partial = _expand(cols["reversedAmount"], "reversedAmount", count) if "reversedAmount" in cols else None
    lost = _expand(cols["unknown"], "unknown", count) if "unknown" in cols else None
    out = []
    for i in range(count):
        where = f"transaction {i} of a page"
        m = {k: _money(c[k][i], where) for k in _MONEY_TX}
        tx = {
            "tsn": c["tsn"][i],
            "time": c["time"][i],
            "type": c["type"][i],
            "card": c["card"][i],
            "amount": m["amount"],
            "host_code": c["hostCode"][i],
            "host_ref": c["hostRef"][i],
            "reversed": c["reversed"][i],
            "cash": {
                "taken": m["taken"],
                "retracted": m["retracted"],
                "deposited": m["deposited"],
                "returned": m["returned"],
            },
        }
        if partial is not None and partial[i] is not None:
            tx["reversed_amount"] = _money(partial[i], where)
        if lost is not None and lost[i] != 0:
            tx["cash"]["unknown"] = _money(lost[i], where)
        out.append(tx)
    return out


def decode_notes(page: dict) -> list[dict]:
    cols = page.get("columns")
    serial = cols.get("serial") if type(cols) is dict else None
    count, c = _page_columns(page, NOTE_FIELDS[1:])
    c["serial"] = _expand_serials(serial, count)
    return [
        {
            "serial": c["serial"][i],
            "value": _money(c["value"][i], f"note {i} of a page"),
            "tsn": c["tsn"][i],
            "unit": c["unit"][i],
            "event": c["event"][i],
        }
        for i in range(count)
    ]


# --------------------------------------------------------------------- units and totals


def encode_units(units: list[Unit]) -> list[dict]:
    """XFS4IoT storage: counters as the ATM keeps them; the count is derived, shown for people."""
    return [
        {
            "id": u.id,
            "unitType": u.type,
            "currency": u.currency,
            "value": u.value,
            "status": {"initial": u.initial, "out": dict(u.out), "in": dict(u.in_), "count": u.count},
        }
        for u in units
    ]


def decode_units(storage: Any) -> list[dict]:
    if type(storage) is not list:
        raise ProtocolError("Storage.GetStorage: 'storage' must be a list of units")
    out = []
    for i, u in enumerate(storage):
        if type(u) is not dict or type(u.get("status")) is not dict:
            raise ProtocolError(f"Storage.GetStorage: unit {i} is malformed")
        st = u["status"]
        value = u.get("value")
        out.append(
            {
                "id": u.get("id"),
                "type": u.get("unitType"),
                "currency": u.get("currency"),
                "value": None if value is None else _money(value, f"unit {i}"),
                "initial": st.get("initial"),
                "out": st.get("out"),
                "in": st.get("in"),
            }
        )
    return out


def encode_totals(ledger: AtmLedger) -> dict:
    t = ledger.totals
    return {
        "terminalId": ledger.terminal_id,
        "cycleId": ledger.cycle_id,
        "currency": ledger.currency,
        "openedAt": ledger.opened_at,
        "closedAt": ledger.closed_at,
        "loadedAmount": t.loaded_amount,
        "withdrawals": {"count": t.withdrawals.count, "amount": t.withdrawals.amount},
        "deposits": {"count": t.deposits.count, "amount": t.deposits.amount},
        "transactionCount": len(ledger.transactions),
        "notesRecorded": ledger.notes is not None,
        "noteCount": len(ledger.notes or ()),
    } | (
        {"retainedCards": [retained_card_dict(c) for c in ledger.retained_cards]}
        if ledger.retained_cards
        else {}
    )


def decode_totals(p: dict) -> dict:
    """Totals payload -> the header and totals of an atm-ledger/1 document."""
    try:
        retained = p.get("retainedCards")
        if retained is not None and type(retained) is not list:
            raise ProtocolError("Ledger.GetTotals: 'retainedCards' must be a list")
        return {
            "format": "atm-ledger/1",
            "terminal_id": p["terminalId"],
            "cycle_id": p["cycleId"],
            "currency": p["currency"],
            "opened_at": p["openedAt"],
            "closed_at": p["closedAt"],
            "totals": {
                "loaded_amount": _money(p["loadedAmount"], "loadedAmount"),
                "withdrawals": {
                    "count": p["withdrawals"]["count"],
                    "amount": _money(p["withdrawals"]["amount"], "withdrawals.amount"),
                },
                "deposits": {
                    "count": p["deposits"]["count"],
                    "amount": _money(p["deposits"]["amount"], "deposits.amount"),
                },
            },
        } | ({} if retained is None else {"retained_cards": retained})  # checked with the ledger
    except (KeyError, TypeError) as exc:
        raise ProtocolError(f"Ledger.GetTotals: the ATM's answer lacks {exc}") from exc
