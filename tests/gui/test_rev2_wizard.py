"""Every rules-revision-2 fault of the generator, cleared through the wizard with its buttons
clicked, gives the spec's categories on the mismatch list (issue 14): the same answer as
`reconcile` and `clear` give (tests/domain, tests/report/test_rev2_clear.py)."""

from __future__ import annotations

from collections import Counter

import pytest

from custodian_app.domain.flow import Step
from tests.report.test_rev2_clear import REV2


@pytest.mark.parametrize("fault", sorted(REV2))
def test_a_rev2_fault_through_the_wizard(fault, world_factory, make_ctx, wizard_driver):
    world = world_factory(faults=f"{fault}=1", transactions=30, seed=5)
    expected = Counter({c: n for c, n in REV2[fault].items()})
    assert +Counter(world.scenario.expected) == expected
    d = wizard_driver(make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    assert Counter(d.mismatch_categories()) == expected
    if fault == "RETAINED_CARD":
        assert d.flow.result.retained_cards
