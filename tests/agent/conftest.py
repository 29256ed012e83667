"""A generated cycle written as the ATM PC would hold it (journal + FSN files), the XFS4IoT
simulator on loopback serving its units, and agents on pseudo-terminals that always stop."""

from __future__ import annotations

import copy
import json

import pytest

from custodian_app.agent.real import AtmPcSource
from custodian_app.domain import formats
from custodian_app.domain.generator import build_documents
from custodian_app.journal import read_journals
from custodian_app.journal.writer import write_cycle
from custodian_app.link.client import AtmClient
from custodian_app.link.simulator import AtmSimulator
from custodian_app.xfs4iot.simulator import SimulatorThread

FAST = 4_000_000
DIALECT = "ncr"


@pytest.fixture(scope="module")
def cycle_doc() -> dict:
    # TOTALS_INCONSISTENT cannot survive a journal (it has no stated totals): left out
    return json.loads(build_documents(16, 60, "all,TOTALS_INCONSISTENT=0").atm)


def xfs_units(doc: dict) -> list[dict]:
    """The units the XFS4IoT service reports: the cycle's, with counters moved on since the
    journal's last counter print, so a test can tell which source the agent served."""
    units = copy.deepcopy(doc["units"])
    for u in units:
        if u["type"] in ("cashOut", "recycling"):
            u["initial"] += 7
    return units


class World:
    def __init__(self, doc: dict, folder) -> None:
        self.doc = doc
        self.folder = folder
        self.journal_dir = folder / "ej"
        self.journal_path, fsn = write_cycle(doc, DIALECT, self.journal_dir)
        self.fsn_dir = folder / "ej" / "fsn"
        self.xfs: SimulatorThread | None = None
        self.agents: list[AtmSimulator] = []
        self.clients: list[AtmClient] = []

    def start_xfs(self, **kw) -> SimulatorThread:
        self.xfs = SimulatorThread(xfs_units(self.doc), **kw).start()
        return self.xfs

    def expected(self, fsn: bool = True):
        """What the journal describes, as the journal reader gives it."""
        read = read_journals([self.journal_path], str(self.fsn_dir) if fsn else None, DIALECT)
        return formats.parse_atm_ledger(read.ledger)

    def agent(self, **source_kw) -> tuple[AtmSimulator, AtmPcSource, str]:
        source_kw.setdefault("xfs4iot_url", self.xfs.publisher_url if self.xfs else None)
        source_kw.setdefault("journal_dir", str(self.journal_dir))
        source_kw.setdefault("dialect", DIALECT)
        source_kw.setdefault("fsn_dir", str(self.fsn_dir))
        source_kw.setdefault("check_interval", 0.1)
        source_kw.setdefault("xfs_timeout", 3.0)
        source = AtmPcSource(**source_kw)
        agent = AtmSimulator(source, baud=FAST)
        self.agents.append(agent)
        return agent, source, agent.start_on_pty()

    def client(self, device: str, **kw) -> AtmClient:
        kw.setdefault("baud", FAST)
        kw.setdefault("response_timeout", 3.0)
        kw.setdefault("reconnect_timeout", 5.0)
        c = AtmClient(device, **kw)
        self.clients.append(c)
        return c

    def stop(self) -> None:
        for c in self.clients:
            c.close()
        for a in self.agents:
            a.stop()
        if self.xfs is not None:
            self.xfs.stop()
        for a in self.agents:
            assert a.error is None, f"the agent failed: {a.error!r}"


@pytest.fixture
def world(cycle_doc, tmp_path):
    w = World(cycle_doc, tmp_path)
    yield w
    w.stop()
