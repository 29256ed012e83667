"""Where the data lives: $CUSTODIAN_HOME, else the folder platformdirs names."""

from __future__ import annotations

import sys

import pytest

from custodian_app.settings import paths


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_DATA_HOME is Linux's")
def test_without_custodian_home_the_data_is_in_the_users_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CUSTODIAN_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert paths.data_dir() == tmp_path / "xdg" / "custodian-app"
    assert paths.logs_dir() == tmp_path / "xdg" / "custodian-app" / "logs" and paths.logs_dir().is_dir()
    assert paths.config_file() == tmp_path / "xdg" / "custodian-app" / "settings.toml"


def test_custodian_home_wins(monkeypatch, tmp_path):
    monkeypatch.setenv("CUSTODIAN_HOME", str(tmp_path / "home"))
    assert paths.data_dir() == tmp_path / "home" and (tmp_path / "home").is_dir()
    assert paths.default_database_url() == f"sqlite:///{tmp_path / 'home' / 'custodian.sqlite3'}"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_ca_bundle_behind_a_symlink_and_dot_dot_is_kept_as_written(tmp_path):
    # link/../ca.pem is real/ca.pem when link points into real/sub: collapsing the ".." would
    # name tmp_path/ca.pem, which does not exist
    from custodian_app.settings.config import load_settings

    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    bundle = f"{tmp_path}/link/../ca.pem"
    (tmp_path / "user.toml").write_text(f'[backend]\nca_bundle = "{bundle}"\n', encoding="utf-8")
    s = load_settings(tmp_path / "user.toml", system_path=tmp_path / "none.toml", environ={})
    assert s.backend_ca_bundle == bundle and not s.warnings
