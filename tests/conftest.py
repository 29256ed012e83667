"""Shared test setup. Qt needs a platform even without a display: offscreen."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Every test gets its own data directory: nothing touches the real user's files."""
    home = tmp_path_factory.mktemp("custodian-home")
    monkeypatch.setenv("CUSTODIAN_HOME", str(home))
    # ... and this machine's own system settings (/etc/custodian-app) stay out of the tests.
    monkeypatch.setenv("CUSTODIAN_SYSTEM_CONFIG", str(home / "no-system-settings.toml"))
    for name in ("CUSTODIAN_BACKEND_URL", "CUSTODIAN_BACKEND_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CUSTODIAN_DB", raising=False)
    return home
