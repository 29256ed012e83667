"""A simulated XFS4IoT service on loopback, and the units it serves."""

from __future__ import annotations

import pytest

from custodian_app.xfs4iot.client import XfsStorageClient
from custodian_app.xfs4iot.simulator import SimulatorThread


def unit(
    uid,
    utype,
    value,
    initial,
    *,
    presented=0,
    out_rejected=0,
    distributed=None,
    unknown=0,
    deposited=0,
    retracted=0,
    in_rejected=0,
    currency="CNY",
):
    if distributed is None:  # rules revision 2: the ledger's distributed overlaps presented
        distributed = presented
    return {
        "id": uid,
        "type": utype,
        "currency": currency,
        "value": value,
        "initial": initial,
        "out": {
            "presented": presented,
            "rejected": out_rejected,
            "distributed": distributed,
            "unknown": unknown,
        },
        "in": {"deposited": deposited, "retracted": retracted, "rejected": in_rejected},
    }


UNITS = [
    unit("CST1", "cashOut", "100.00", 2000, presented=215, out_rejected=3, unknown=2),
    unit("CST2", "cashOut", "50.00", 1000, presented=40),
    unit("RC1", "recycling", "100.00", 500, presented=30, deposited=120),
    unit("CIN1", "cashIn", None, 0, deposited=75),
    unit("RJ1", "reject", None, 0, in_rejected=3),
    unit("RTR1", "retract", None, 0, retracted=5),
]


@pytest.fixture
def simulator():
    """Start simulators (``simulator(units=..., style=..., faults=...)``); all stop after the test."""
    started: list[SimulatorThread] = []

    def start(units=UNITS, **kwargs) -> SimulatorThread:
        sim = SimulatorThread(units, **kwargs).start()
        started.append(sim)
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def client():
    """Open blocking clients (``client(url, ...)``); all closed after the test."""
    opened: list[XfsStorageClient] = []

    def open_(url: str, **kwargs) -> XfsStorageClient:
        kwargs.setdefault("timeout", 5.0)
        c = XfsStorageClient(url, **kwargs)
        opened.append(c)
        return c

    yield open_
    for c in opened:
        c.close()


def pump_until(client: XfsStorageClient, condition, *, steps: int = 500) -> None:
    """Let the client's loop deliver events until ``condition()`` holds (bounded, not timed)."""
    for _ in range(steps):
        if condition():
            return
        client.pump(0.01)
    assert condition(), "the condition never held"
