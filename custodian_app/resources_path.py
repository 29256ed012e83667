"""Where the shipped data files are: resources/ beside the package in a source tree or an
editable install, and inside the bundle of a PyInstaller build."""

from __future__ import annotations

import os
import sys
from functools import lru_cache

TYPE_CHECKING = False
if TYPE_CHECKING:
    from pathlib import Path


@lru_cache(maxsize=None)
def resources_folder() -> str:
    """The folder as a string (the command line's start-up path does without pathlib)."""
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        return os.path.join(frozen, "resources")
    return os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "resources")


def resource_file(*parts: str) -> str:
    return os.path.join(resources_folder(), *parts)


def resources_dir() -> Path:
    from pathlib import Path

    return Path(resources_folder())


def resource(*parts: str) -> Path:
    return resources_dir().joinpath(*parts)
