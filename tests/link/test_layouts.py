"""Record-page layouts over a real pty: the client and the ATM agree on the best layout both
know, an older peer on either side still gets the ledger exactly, and a whole generated cycle
with every fault reads back byte for byte."""

from __future__ import annotations

import pytest

from custodian_app.domain.formats import atm_ledger_to_dict, dumps
from custodian_app.domain.generator import generate
from custodian_app.link import messages, records
from custodian_app.link.client import AtmClient
from custodian_app.link.errors import AtmRefused
from custodian_app.link.simulator.commands import AtmCommands

from .conftest import FAST


def client(device: str, **kw) -> AtmClient:
    kw.setdefault("baud", FAST)
    kw.setdefault("page_size", 120)
    kw.setdefault("response_timeout", 2.0)
    return AtmClient(device, **kw)


@pytest.fixture
def wire(monkeypatch):
    """What the ATM was asked for and what it sent: (command, layout key) and page layouts."""
    seen = {"asked": [], "sent": []}
    encode, layout = records.encode_page, AtmCommands._layout

    def spy_encode(kind, items, lay, opened_at):
        seen["sent"].append((kind, lay))
        return encode(kind, items, lay, opened_at)

    def spy_layout(self, cmd):
        seen["asked"].append((cmd.name, cmd.payload.get("layout", "absent")))
        return layout(self, cmd)

    monkeypatch.setattr(records, "encode_page", spy_encode)
    monkeypatch.setattr(AtmCommands, "_layout", spy_layout)
    return seen


@pytest.mark.parametrize(
    "atm_layouts,app_layouts,expected",
    [
        ((1, 2), (1, 2), 2),
        ((1,), (1, 2), 1),  # an older ATM agent
        ((1, 2), (1,), 1),  # an older application
    ],
    ids=["both-new", "old-atm", "old-app"],
)
def test_the_best_layout_both_know_is_used_and_the_ledger_is_exact(
    atm_layouts, app_layouts, expected, wire, simulators
) -> None:
    ledger = generate(5, 200, "all").atm
    sim = simulators(ledger, page_size=500)
    sim.record_layouts = atm_layouts
    with client(sim.start_on_pty(), record_layouts=app_layouts) as atm:
        status = atm.connect()
        assert status.record_layout == expected
        assert status.raw["capabilities"]["recordLayouts"] == list(atm_layouts)
        got = atm.read_ledger()
        tsn = next(n.tsn for n in ledger.notes if n.tsn is not None)
        assert atm.read_notes_for_tsn(tsn) == [n for n in ledger.notes if n.tsn == tsn]
    assert dumps(atm_ledger_to_dict(got)) == dumps(atm_ledger_to_dict(ledger))
    assert {lay for _, lay in wire["sent"]} == {expected}
    assert {kind for kind, _ in wire["sent"]} == {"transactions", "notes"}
    # a layout is asked for only beyond layout 1: an older agent sees the commands it always had
    assert {lay for _, lay in wire["asked"]} == ({"absent"} if expected == 1 else {expected})


def test_layout_2_puts_fewer_bytes_on_the_line(simulators) -> None:
    ledger = generate(1, 300).atm
    sent = {}
    for layouts in ((1,), (1, 2)):
        sim = simulators(ledger)
        with client(sim.start_on_pty(), record_layouts=layouts, page_size=500) as atm:
            assert atm.read_ledger() == ledger
        sim.stop()
        sent[layouts] = sim.stats.bytes_out
    assert sent[(1, 2)] < 0.8 * sent[(1,)], sent


def test_a_layout_the_atm_does_not_know_is_refused(simulators) -> None:
    ledger = generate(2, 20).atm
    sim = simulators(ledger)
    with client(sim.start_on_pty()) as atm:
        atm.connect()
        with pytest.raises(AtmRefused) as err:
            atm._call(messages.READ_NOTES, {"cycleId": ledger.cycle_id, "cursor": 0, "layout": 9})
    assert err.value.completion_code == messages.INVALID_DATA


@pytest.mark.parametrize(
    "caps,expected",
    [
        ({}, 1),
        ({"recordLayouts": [1]}, 1),
        ({"recordLayouts": [1, 2]}, 2),
        ({"recordLayouts": [2, 3]}, 2),
        ({"recordLayouts": [3]}, 1),
        ({"recordLayouts": "2"}, 1),
    ],
)
def test_choose_layout(caps, expected) -> None:
    assert records.choose_layout((1, 2), caps) == expected
