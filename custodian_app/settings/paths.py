"""Where custodian_app keeps its files on the branch PC.

Everything lives under one folder: ``$CUSTODIAN_HOME`` when set (tests and IT use it), else the
user's data directory as platformdirs names it (``~/.local/share/custodian-app`` on Linux,
``%LOCALAPPDATA%\\custodian-app`` on Windows).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "custodian-app"


def data_dir() -> Path:
    """The application's data folder (created if needed)."""
    home = os.environ.get("CUSTODIAN_HOME")
    path = Path(home) if home else platformdirs.user_data_path(APP_NAME, appauthor=False)
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_file() -> Path:
    """The user's TOML settings file (see docs/configuration.md)."""
    return data_dir() / "settings.toml"


def logs_dir() -> Path:
    """The folder of the log files (created if needed)."""
    path = data_dir() / "logs"
    path.mkdir(exist_ok=True)
    return path


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'custodian.sqlite3'}"
