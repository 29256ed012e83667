"""Where custodian_app keeps its files on the branch PC.

Everything lives under one folder: ``$CUSTODIAN_HOME`` when set (tests and IT use it), else the
user's data directory (``~/.local/share/custodian-app`` on Linux, ``%LOCALAPPDATA%`` on Windows).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
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


def tidy(path: str) -> str:
    """``str(pathlib.Path(path))``: separators and ``.`` tidied, ``..`` kept (a symlink may come
    before it), without importing pathlib unless there is a ``..``."""
    parts = path.replace("\\", "/").split("/") if os.sep == "\\" else path.split("/")
    if ".." in parts:
        from pathlib import Path

        return str(Path(path))
    return os.path.normpath(path)


# The folders as strings, for the modules every command imports: pathlib (with urllib.parse
# and ipaddress) costs a fresh process ~6 ms to import. The Path forms below are the same
# folders.

def data_folder() -> str:
    home = os.environ.get("CUSTODIAN_HOME")
    path = tidy(home) if home else user_data_dir()
    os.makedirs(path, exist_ok=True)
    return path


def config_path() -> str:
    return os.path.join(data_folder(), "settings.toml")


def logs_folder() -> str:
    path = os.path.join(data_folder(), "logs")
    os.makedirs(path, exist_ok=True)
    return path


def data_dir() -> Path:
    from pathlib import Path

    return Path(data_folder())


def config_file() -> Path:
    """The TOML settings file that IT may roll out (see docs/configuration.md)."""
    from pathlib import Path

    return Path(config_path())


def logs_dir() -> Path:
    from pathlib import Path

    return Path(logs_folder())


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'custodian.sqlite3'}"
