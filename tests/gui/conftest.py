"""The GUI tests use the QA plugin (custodian_app.gui.qa.pytest_plugin, loaded through its pytest11
entry point): the same fixtures and driver QA uses, so they cannot drift apart."""

from __future__ import annotations

import dataclasses

import pytest

from custodian_app.settings.config import load_settings, save_settings


def pytest_collection_modifyitems(config, items):
    # The offscreen platform says it cannot propagate size hints whenever a top-level window
    # shows (dialogs too); that is the test platform talking, not the application.
    for item in items:
        if "tests/gui" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.qt_log_ignore("does not support propagateSizeHints"))


@pytest.fixture
def bank_settings():
    save_settings(dataclasses.replace(load_settings(), bank_name="演示银行", branch_name="南京分行"))
