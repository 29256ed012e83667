"""pytest fixtures for clearing an ATM through the application, as QA does (docs/qa.md).

Loaded by pytest through the ``pytest11`` entry point of the installed package; needs
pytest-qt (``qtbot``, ``qapp``). Nothing here imports Qt until a fixture is used, so the plugin
costs other test runs nothing.

Fixtures:
- ``custodian_home``: a fresh data folder (database, settings, logs) for the test.
- ``custodian_users``: two custodians and a supervisor (``QaUsers``), in that folder's store.
- ``custodian_settings``: the application's settings for a test (English, no port, no backend).
- ``atm_simulator(atm)``: an ATM simulator serving ``atm`` (an atm-ledger/1 file path, its JSON
  as a dict or bytes, or an ``AtmLedger``) on a pseudo-terminal. Ready when it returns: its
  ``.device`` is the port to connect to.
- ``backend_simulator(*hosts)``: a backend simulator serving host-ledger/1 documents (paths,
  dicts, bytes or ``HostLedger``) on loopback. Ready when it returns: ``.url``.
- ``world_factory(...)``: both simulators on a generated cycle (``.scenario``, ``.device``,
  ``.url``, ``.atm_sim``, ``.backend_sim``).
- ``make_ctx(world=None, **settings)``: the application's ``AppContext``, built as the
  application builds it; at teardown its windows close first, then its threads stop.
- ``wizard_driver(ctx)``: a ``WizardDriver`` on a new clearing wizard.

Every simulator and context a test made is stopped at its teardown.
"""

from __future__ import annotations

import os

import pytest

# link timeouts short enough for the error paths, long enough for a busy 2-core machine
TEST_LINK_OPTIONS = {
    "connect_timeout": 1.5,
    "response_timeout": 1.0,
    "reconnect_timeout": 2.0,
    "command_timeout": 10.0,
}


def pytest_configure(config):
    # Qt needs a platform even without a display
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    config.addinivalue_line(
        "markers",
        "custodian_language(code): the language of make_ctx's application (zh_CN or en; default en)",
    )


@pytest.fixture
def custodian_home(tmp_path_factory, monkeypatch):
    """The test's own data folder: nothing touches the user's real files or settings."""
    home = tmp_path_factory.mktemp("custodian-qa-home")
    monkeypatch.setenv("CUSTODIAN_HOME", str(home))
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(home / "no-system-settings.toml"))
    for name in ("CUSTODIAN_BACKEND_URL", "CUSTODIAN_BACKEND_TOKEN", "CUSTODIAN_DB"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture
def custodian_users(custodian_home):
    from custodian_app.gui.qa.users import demo_users, seed

    users = demo_users()
    seed(users)
    return users


@pytest.fixture
def custodian_settings(custodian_home, request):
    import dataclasses

    from custodian_app.settings.config import load_settings

    marker = request.node.get_closest_marker("custodian_language")
    return dataclasses.replace(
        load_settings(),
        bank_name="演示银行",
        branch_name="南京分行",
        language=marker.args[0] if marker else "en",
        serial_port="",
        backend_url="",
    )


def _document(given, kind: str):
    """A given ledger: the parsed record itself, its JSON (dict, bytes or a str holding JSON), or
    a path (str or PathLike) to its file."""
    from custodian_app.domain import formats

    record = formats.AtmLedger if kind == "atm" else formats.HostLedger
    if isinstance(given, record):
        return given
    parse = formats.parse_atm_ledger if kind == "atm" else formats.parse_host_ledger
    if isinstance(given, (dict, bytes)) or (isinstance(given, str) and given.lstrip().startswith("{")):
        return parse(given, f"<given {kind} ledger>")
    from custodian_app.support import files

    return (files.read_atm_ledger if kind == "atm" else files.read_host_ledger)(given)


@pytest.fixture
def atm_simulator(custodian_home):
    """``atm_simulator(atm, **options)``: options as ``link.simulator.AtmSimulator`` takes them
    (``faults=``, ``pace=`` (default False: as fast as the pty goes), ``page_size=`` …)."""
    from custodian_app.link.simulator import AtmSimulator

    started = []

    def start(atm, **options):
        sim = AtmSimulator(_document(atm, "atm"), **{"pace": False, **options})
        started.append(sim)
        sim.start_on_pty()
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def backend_simulator(custodian_home):
    """``backend_simulator(*hosts, **options)``: options as ``backend.simulator.BackendSimulator``
    takes them (``token=``, ``faults=`` …)."""
    from custodian_app.backend.simulator import BackendSimulator

    started = []

    def start(*hosts, **options):
        sim = BackendSimulator([_document(h, "host") for h in hosts], **options)
        started.append(sim)
        sim.url = sim.start()
        return sim

    yield start
    for sim in started:
        sim.stop()


@pytest.fixture
def world_factory(custodian_home):
    """``world_factory(faults=, transactions=, seed=, ...)``: an ATM and a backend simulator on a
    generated cycle (``domain.generator``)."""
    from custodian_app.demo import Demo

    started = []

    def make(
        faults="realistic",
        transactions=120,
        seed=7,
        atm_options=None,
        backend_options=None,
        scenario=None,
        link=None,
        agent=False,
    ):
        # agent=False: the cycle served from memory, so a test knows its mismatches exactly
        # (through a journal, notes of two transactions within two seconds lose their TSN)
        demo = Demo(
            seed=seed,
            transactions=transactions,
            faults=faults,
            atm_options={"pace": False, **(atm_options or {})},
            backend_options=backend_options,
            scenario=scenario,
            link=link,
            agent=agent,
        )
        started.append(demo)
        demo.device, demo.url = demo.start()
        return demo

    yield make
    for demo in started:
        demo.stop()


@pytest.fixture
def make_ctx(qapp, custodian_settings, custodian_users):
    """``make_ctx(world=None, **settings)``: an ``AppContext`` as the application makes it
    (``make_application`` sets the font and installs the settings' language). ``world``: any
    object with ``.device`` and ``.url`` (a world, or ``SimpleNamespace(device=atm.device,
    url=backend.url)``). Teardown: the context's windows close, then its threads stop."""
    import dataclasses

    from PySide6.QtWidgets import QApplication

    from custodian_app.gui import i18n
    from custodian_app.gui.app import make_application
    from custodian_app.gui.context import AppContext

    made = []

    def make(world=None, **changes):
        s = custodian_settings
        if world is not None:
            s = dataclasses.replace(s, serial_port=world.device, backend_url=world.url)
        s = dataclasses.replace(s, **changes)
        make_application(language=s.language)
        ctx = AppContext(s, save_settings=False)
        ctx.link_options = dict(TEST_LINK_OPTIONS)
        made.append(ctx)
        return ctx

    yield make
    # windows first: closing one hands work (closing the link, saving) to the context's threads
    for widget in QApplication.topLevelWidgets():
        if widget.isVisible():
            widget.close()
    QApplication.processEvents()
    for ctx in made:
        ctx.shutdown()
    i18n.install("en")


@pytest.fixture
def wizard_driver(qtbot, custodian_users):
    """``wizard_driver(ctx)``: a ``WizardDriver`` on a new clearing wizard (or ``flow=``,
    ``session_id=`` to resume one)."""
    from custodian_app.gui.qa.driver import WizardDriver

    def make(ctx, **kwargs):
        return WizardDriver(qtbot, ctx, custodian_users, **kwargs)

    return make


def pytest_collection_modifyitems(config, items):
    # The offscreen platform says it cannot propagate size hints whenever a top-level window
    # shows; that is the test platform talking, not the application.
    mark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")
    for item in items:
        if "make_ctx" in getattr(item, "fixturenames", ()):
            item.add_marker(mark)
