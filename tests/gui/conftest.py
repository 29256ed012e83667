"""The wizard against real parts: the ATM simulator on a pty pair, the backend simulator over
HTTP on loopback, a SQLite store in the test's own data folder."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from custodian_app import clearing
from custodian_app.cli.app_cmds import DEMO_USERS, Demo

# Where shot() saves: a folder of the test run; scripts/screenshots points it at docs/screenshots
# (CUSTODIAN_SCREENSHOTS_DIR) to regenerate the committed pictures. A test never writes there.
SCREENSHOTS: Path | None = None
PASSWORDS = {u: p for u, p, _r in DEMO_USERS}


@pytest.fixture(scope="session", autouse=True)
def _application_fonts(qapp):
    """The shipped CJK font, as the application registers it, so screenshots look the same."""
    from PySide6.QtGui import QFont

    from custodian_app.gui.app import register_fonts

    family = register_fonts()
    if family:
        font = QFont(family)
        font.setPointSize(10)
        qapp.setFont(font)


@pytest.fixture(scope="session", autouse=True)
def _screenshots_folder(tmp_path_factory):
    global SCREENSHOTS
    chosen = os.environ.get("CUSTODIAN_SCREENSHOTS_DIR")
    SCREENSHOTS = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)


@pytest.fixture
def settings():
    from custodian_app.config import load_settings

    return dataclasses.replace(load_settings(), bank_name="演示银行", branch_name="南京分行",
                               language="en", serial_port="", backend_url="")


def seed_users(url=None):
    store = clearing.open_store(url)
    try:
        for user, password, role in DEMO_USERS:
            clearing.ensure_user(store, user, password, role)
    finally:
        store.close()


@pytest.fixture
def world_factory():
    """Start a simulated ATM + backend for a scenario; everything stops at teardown."""
    started = []

    def make(faults="realistic", transactions=120, seed=7, atm_options=None, backend_options=None,
             scenario=None, link=None, agent=False):
        # agent=False: the cycle served from memory, so the tests know its mismatches exactly
        # (through a journal, notes of two transactions within two seconds lose their TSN)
        demo = Demo(seed=seed, transactions=transactions, faults=faults,
                    atm_options={"pace": False, **(atm_options or {})},
                    backend_options=backend_options, scenario=scenario, link=link,
                    agent=agent)
        started.append(demo)
        demo.device, demo.url = demo.start()
        return demo

    yield make
    for demo in started:
        demo.stop()


@pytest.fixture
def make_ctx(qapp, settings):
    """An AppContext like the application's, with short link timeouts for the error paths."""
    from custodian_app.gui.context import AppContext

    made = []
    seed_users()

    def make(world=None, **changes):
        s = settings
        if world is not None:
            s = dataclasses.replace(s, serial_port=world.device, backend_url=world.url)
        s = dataclasses.replace(s, **changes)
        ctx = AppContext(s, save_settings=False)
        ctx.link_options = {"connect_timeout": 1.5, "response_timeout": 1.0,
                            "reconnect_timeout": 2.0, "command_timeout": 10.0}
        made.append(ctx)
        return ctx

    yield make
    for ctx in made:
        ctx.shutdown()


def shot(widget, name: str) -> None:
    """Grab a page and save it as NAME.png in the run's screenshot folder (above)."""
    image = widget.grab()
    assert not image.isNull() and image.width() > 100
    assert SCREENSHOTS is not None
    assert image.save(str(SCREENSHOTS / f"{name}.png"))


def pytest_configure(config):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def pytest_collection_modifyitems(config, items):
    # The offscreen platform says it cannot propagate size hints whenever a top-level window
    # shows; that is the test platform talking, not the application.
    for item in items:
        if "tests/gui" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints"))
