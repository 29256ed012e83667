"""The demo's simulated world, arranged as at a real ATM, and its users: what `custodian-app
demo`, the QA plugin's worlds and the GUI benchmark start. Only simulators on this machine:
the ATM on a pseudo-terminal, XFS4IoT and the backend on loopback."""

from __future__ import annotations

DEMO_USERS = (  # (user, password, role): simple on purpose, shown in the demo window
    ("alice", "alice123", "custodian"),
    ("bob", "bob12345", "custodian"),
    ("carol", "carol123", "supervisor"),
)
DEMO_SEED = 20261120
DEMO_TRANSACTIONS = 400
DEMO_DIALECT = "ncr"  # the journal layout the demo's ATM PC writes


def demo_banner() -> str:
    return (
        "演示 DEMO — 管机员 custodians alice / alice123, bob / bob12345 · 主管 supervisor "
        "carol / carol123 · ATM 与后台均为模拟 the ATM and the backend are simulated"
    )


class Demo:
    """The demo's simulated world, arranged as at a real ATM: the cycle written as the ATM PC
    holds it (an ``ncr`` journal and FSN files in a temporary folder), an XFS4IoT service
    simulator on loopback serving its units, and the ATM-side agent (``atm-agent``'s source)
    serving them on a pseudo-terminal; a backend simulator on loopback. ``agent=False`` serves
    the cycle from memory instead (``simulate-atm``). ``start()`` returns (device, base URL);
    ``stop()`` ends it all."""

    def __init__(
        self,
        *,
        seed: int = DEMO_SEED,
        transactions: int = DEMO_TRANSACTIONS,
        faults: str | None = "realistic",
        atm_options: dict | None = None,
        backend_options: dict | None = None,
        scenario=None,
        link: str | None = None,
        agent: bool = True,
    ) -> None:
        self.seed, self.transactions = seed, transactions
        self.atm_options = atm_options or {}
        self.backend_options = backend_options or {}
        self.faults = None if faults in (None, "", "none") else faults
        self.atm_sim = None
        self.xfs_sim = None
        self.backend_sim = None
        self.scenario = scenario
        self.link = link  # a symlink that follows the pty across a simulated cable pull
        self.agent = agent
        self.atm_folder: str | None = None  # the ATM PC's journal and FSN files

    def start(self) -> tuple[str, str]:
        from custodian_app.backend.simulator import BackendSimulator
        from custodian_app.domain.generator import generate

        if self.scenario is None:
            self.scenario = generate(self.seed, self.transactions, self.faults)
        try:
            self.atm_sim = self._atm()
            device = self.atm_sim.start_on_pty(self.link)
            self.backend_sim = BackendSimulator([self.scenario.host], **self.backend_options)
            url = self.backend_sim.start()
        except BaseException:
            self.stop()
            raise
        return device, url

    def _atm(self):
        from custodian_app.link.simulator import AtmSimulator

        if not self.agent:
            return AtmSimulator(self.scenario.atm, **self.atm_options)
        import logging
        import tempfile

        from custodian_app.agent.real import AtmPcSource
        from custodian_app.domain.formats import atm_ledger_to_dict
        from custodian_app.journal.writer import CannotWrite, write_cycle
        from custodian_app.xfs4iot.simulator import SimulatorThread

        doc = atm_ledger_to_dict(self.scenario.atm)
        self.atm_folder = tempfile.mkdtemp(prefix="custodian-demo-atm-")
        try:
            _, fsn_dir = write_cycle(doc, DEMO_DIALECT, self.atm_folder)
        except CannotWrite as exc:  # a fault mix no journal can show: serve it from memory
            logging.getLogger(__name__).warning("demo ATM served from memory: %s", exc)
            return AtmSimulator(self.scenario.atm, **self.atm_options)
        self.xfs_sim = SimulatorThread(doc["units"]).start()
        source = AtmPcSource(
            xfs4iot_url=self.xfs_sim.publisher_url,
            journal_dir=self.atm_folder,
            dialect=DEMO_DIALECT,
            fsn_dir=fsn_dir,
            check_interval=2.0,
        )
        return AtmSimulator(source, **self.atm_options)

    def stop(self) -> None:
        import shutil

        if self.backend_sim is not None:
            self.backend_sim.stop()
            self.backend_sim = None
        if self.atm_sim is not None:
            self.atm_sim.stop()
            self.atm_sim = None
        if self.xfs_sim is not None:
            self.xfs_sim.stop()
            self.xfs_sim = None
        if self.atm_folder is not None:
            shutil.rmtree(self.atm_folder, ignore_errors=True)
            self.atm_folder = None


def seed_demo_users(url: str | None = None) -> None:
    from custodian_app import clearing

    store = clearing.open_store(url)
    try:
        for user, password, role in DEMO_USERS:
            clearing.ensure_user(store, user, password, role)
    finally:
        clearing.close_store(store)
