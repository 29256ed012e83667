"""Where custodian_app keeps its files on the branch PC.

Everything lives under one folder: ``$CUSTODIAN_HOME`` when set (tests and IT use it), else the
user's data directory (``~/.local/share/custodian-app`` on Linux, ``%LOCALAPPDATA%`` on Windows).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "custodian-app"


def user_data_dir() -> str:
    """The user's data directory for the application, as platformdirs names it."""
    if sys.platform.startswith("linux"):
        # platformdirs' XDG rule, without importing it (7 ms at every start of every command)
        base = os.environ.get("XDG_DATA_HOME", "")
        if not base.strip():
            base = os.path.expanduser("~/.local/share")
        return os.path.join(base, APP_NAME)
    import platformdirs

    return platformdirs.user_data_dir(APP_NAME, appauthor=False)


def data_dir() -> Path:
    home = os.environ.get("CUSTODIAN_HOME")
    path = Path(home) if home else Path(user_data_dir())
    path.mkdir(parents=True, exist_ok=True)
    return path


def config_file() -> Path:
    """The TOML settings file that IT may roll out (see docs/configuration.md)."""
    return data_dir() / "settings.toml"


def logs_dir() -> Path:
    path = data_dir() / "logs"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'custodian.sqlite3'}"
