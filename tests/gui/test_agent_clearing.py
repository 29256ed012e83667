"""The real arrangement through the wizard (issue 16): the ATM-side agent on a serial line, its
units from an XFS4IoT service and its ledger from the ATM's journal and FSN files; the custodians
clear it, and the new cycle's loading reaches the XFS4IoT service through the exchange."""

from __future__ import annotations

from collections import Counter

from custodian_app.domain.flow import Step
from custodian_app.domain.reconcile import reconcile
from custodian_app.support.catalogue import load_catalogue
from custodian_app.xfs4iot.client import XfsStorageClient


def test_the_wizard_clears_an_agent_served_atm_and_loads_the_new_cycle(
    world_factory, make_ctx, wizard_driver
):
    world = world_factory(faults="realistic", transactions=80, agent=True)
    assert world.xfs_sim is not None, "the demo world fell back to serving from memory"
    ctx = make_ctx(world)
    d = wizard_driver(ctx)

    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    # what the agent served: the journal's transactions, the units as XFS4IoT reports them
    with XfsStorageClient(world.xfs_sim.publisher_url, timeout=5.0) as xfs:
        reported = {u["id"]: u["initial"] for u in xfs.read_units()}
    assert {u.id: u.initial for u in d.flow.atm.units} == reported
    assert len(d.flow.atm.transactions) == len(world.scenario.atm.transactions)

    d.next(Step.COUNT)
    d.count({uid: amount for uid, amount in world.scenario.counts.units.items()})
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    # the mismatch list is the engine's answer on the ledger the agent served
    expected = reconcile(d.flow.atm, d.flow.host, d.flow.counts_document(), catalogue=load_catalogue())
    assert Counter(d.mismatch_categories()) == Counter(m.category for m in expected.mismatches)
    d.next(Step.REPORT)
    d.wait_report()
    d.sign_off(wait_ok=True)
    d.next(Step.NEW_CYCLE)
    new_cycle = d.exchange()
    assert d.finish() == "closed"

    # the loading went through Storage.StartExchange / SetStorage / EndExchange
    with XfsStorageClient(world.xfs_sim.publisher_url, timeout=5.0) as xfs:
        after = xfs.read_units()
    assert {u["id"]: u["initial"] for u in after} == d.flow.loaded
    assert new_cycle != world.scenario.atm.cycle_id
