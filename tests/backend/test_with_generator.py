"""The connector carries the generator's scenarios unchanged: the backend ledger a reconciliation
sees is the one the generator made, whether fetched over HTTP (paged) or imported from a file."""

from __future__ import annotations

import pytest

from custodian_app.backend.client import BackendClient
from custodian_app.backend.settlement import import_settlement, to_settlement_csv
from custodian_app.domain.generator import generate
from custodian_app.domain.reconcile import reconcile

from .conftest import TOKEN


@pytest.fixture(scope="module")
def scenario():
    return generate(20261125, 400, "realistic")


def test_a_generated_backend_ledger_is_fetched_unchanged_and_reconciles_as_expected(simulator, scenario):
    sim = simulator([scenario.host], page_size=64)
    atm = scenario.atm
    host = BackendClient(sim.base_url, token=TOKEN).fetch_ledger(
        atm.terminal_id, atm.cycle_id, expect_currency=atm.currency
    )
    assert host == scenario.host
    assert sim.request_count() > 1  # it really was paged
    result = reconcile(atm, host, scenario.counts)
    got = {}
    for m in result.mismatches:
        got[m.category] = got.get(m.category, 0) + 1
    assert got == {k: v for k, v in scenario.expected.items() if v}


@pytest.mark.parametrize("chinese, encoding", [(False, "utf-8"), (True, "gb18030"), (True, "utf-8-sig")])
def test_a_generated_backend_ledger_survives_the_settlement_csv(tmp_path, scenario, chinese, encoding):
    path = tmp_path / "settle.csv"
    path.write_bytes(to_settlement_csv(scenario.host, chinese=chinese).encode(encoding))
    assert import_settlement(path) == scenario.host
