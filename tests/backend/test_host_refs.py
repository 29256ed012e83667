"""A backend reference that looks like a full card number, or that is given twice, is refused
with the same verdict whichever way the backend's ledger comes in: fetched over HTTP, or
imported as a settlement file in JSON or in CSV (issue 18)."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest

from custodian_app.backend.client import BackendClient
from custodian_app.backend.errors import BackendReplyError, SettlementError
from custodian_app.backend.settlement import import_settlement, to_settlement_csv
from custodian_app.domain import formats

from .conftest import TOKEN, make_ledger

T, C = "NJ-0001", "NJ-0001-20261120"
PAN = "6222021234567894"  # 16 digits, passes the Luhn check
PAN_GROUPED = "6222 0212 3456 7894"


def _with_ref(index: int, ref: str):
    ledger = make_ledger(6)
    txs = list(ledger.transactions)
    txs[index] = replace(txs[index], host_ref=ref)
    return replace(ledger, transactions=txs)


def _fetch(simulator, ledger):
    sim = simulator()
    sim.serve_raw(T, C, orjson.dumps(formats.host_ledger_to_dict(ledger)))
    return BackendClient(sim.base_url, token=TOKEN, retries=0).fetch_ledger(T, C)


def _import(tmp_path, ledger, kind: str):
    path = tmp_path / f"host.{kind}"
    if kind == "json":
        path.write_bytes(orjson.dumps(formats.host_ledger_to_dict(ledger)))
    else:
        path.write_text(to_settlement_csv(ledger), encoding="utf-8")
    return import_settlement(path, terminal_id=T, cycle_id=C)


@pytest.mark.parametrize("ref", [PAN, PAN_GROUPED, f"REF-{PAN}"])
def test_a_card_number_as_host_ref_is_refused_unseen_on_every_path(simulator, tmp_path, ref):
    ledger = _with_ref(2, ref)
    with pytest.raises(BackendReplyError) as fetched:
        _fetch(simulator, ledger)
    assert fetched.value.path == "$.transactions[2].host_ref"
    errors = [fetched.value]
    for kind in ("json", "csv"):
        with pytest.raises(SettlementError) as imported:
            _import(tmp_path, ledger, kind)
        errors.append(imported.value)
    for err in errors:
        text = str(err) + repr(err) + "".join(map(str, err.args))
        assert "looks like a full card number" in text
        assert PAN not in text and PAN_GROUPED not in text and PAN[-8:] not in text


def test_a_twelve_digit_reference_is_not_taken_for_a_card(simulator, tmp_path):
    ledger = _with_ref(1, "632409000117")  # a retrieval reference number, as backends use
    assert _fetch(simulator, ledger) == ledger
    assert _import(tmp_path, ledger, "json").transactions == ledger.transactions


def test_a_duplicate_host_ref_is_refused_on_every_path(simulator, tmp_path):
    dup = "HREF-2026-0007"
    ledger = _with_ref(4, dup)
    txs = list(ledger.transactions)
    txs[1] = replace(txs[1], host_ref=dup)
    ledger = replace(ledger, transactions=txs)
    with pytest.raises(BackendReplyError, match=f"backend reference '{dup}' is booked twice"):
        _fetch(simulator, ledger)
    for kind in ("json", "csv"):
        with pytest.raises(SettlementError, match=f"backend reference '{dup}' is booked twice"):
            _import(tmp_path, ledger, kind)
