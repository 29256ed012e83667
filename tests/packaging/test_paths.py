"""Where the data lives: platformdirs' rule, computed without importing it on Linux."""

from __future__ import annotations

import sys

import platformdirs
import pytest

from custodian_app import paths


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the shortcut is Linux's")
@pytest.mark.parametrize("xdg", [None, "", "   ", "/srv/xdg-data"])
def test_the_data_directory_is_the_one_platformdirs_names(monkeypatch, xdg):
    if xdg is None:
        monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    else:
        monkeypatch.setenv("XDG_DATA_HOME", xdg)
    assert paths.user_data_dir() == platformdirs.user_data_dir(paths.APP_NAME, appauthor=False)


def test_custodian_home_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CUSTODIAN_HOME", str(tmp_path / "home"))
    assert paths.data_dir() == tmp_path / "home" and (tmp_path / "home").is_dir()
