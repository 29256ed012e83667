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


@pytest.mark.parametrize("path", [
    "a/../b", "/x/link/../ca.pem", "a/./b", "a//b", "/a/b/", "", "//a", "///a", "./a", ".", "..",
    "../a", "a/..", "a/.../b", "a/..b/c", "/", "~/x", "C:/x/y",
])
def test_tidy_is_what_pathlib_makes_of_a_path(path):
    from pathlib import Path

    assert paths.tidy(path) == str(Path(path))


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
def test_a_ca_bundle_behind_a_symlink_and_dot_dot_is_kept_as_written(tmp_path):
    # link/../ca.pem is real/ca.pem when link points into real/sub: collapsing the ".." would
    # name tmp_path/ca.pem, which does not exist
    from custodian_app.config import load_settings

    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (tmp_path / "link").symlink_to(tmp_path / "real" / "sub")
    bundle = f"{tmp_path}/link/../ca.pem"
    (tmp_path / "user.toml").write_text(f'[backend]\nca_bundle = "{bundle}"\n', encoding="utf-8")
    s = load_settings(tmp_path / "user.toml", system_path=tmp_path / "none.toml", environ={})
    assert s.backend_ca_bundle == bundle and not s.warnings
