"""The log file itself: where it is, how it rotates, what is withheld from it — without the
``logging`` module.

``custodian_app.logs`` connects Python's logging to this file (handlers, record factory,
excepthooks) for the application and the commands that talk to devices and servers. The
file commands (``reconcile``, ``generate``) log nothing but the line that says they ran, and
importing ``logging`` (with ``traceback``, ``threading``, ``weakref``, ``string``...) costs a
fresh process ~14 ms, a seventh of ``reconcile`` on a 10,000-transaction cycle; so they
``append`` that line here, in the same layout, with the same rotation. Should such a command
fail unexpectedly, ``custodian_app.cli.main`` sets up logging then, so that the traceback
reaches the file as the application's would.
"""

from __future__ import annotations

import os
import sys
import time
from _thread import allocate_lock

from custodian_app import paths
from custodian_app.errors import scrub

LOG_FILE_NAME = "custodian-app.log"
MAX_BYTES = 2 * 1024 * 1024  # per file; 2 MB is weeks of clearings at INFO
BACKUP_COUNT = 5  # so at most 12 MB of logs on the branch PC
FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(threadName)s] %(message)s"
ENV_LEVEL = "CUSTODIAN_LOG_LEVEL"
# logging's level names; any other value of CUSTODIAN_LOG_LEVEL means INFO, as in logs
LEVELS = {"CRITICAL": 50, "FATAL": 50, "ERROR": 40, "WARN": 30, "WARNING": 30, "INFO": 20,
          "DEBUG": 10, "NOTSET": 0}


_lock = allocate_lock()
_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Never let ``value`` reach a log (a token typed into the settings dialog, a password)."""
    if value and len(value) >= 4:  # a 1-3 character "secret" would mangle every line
        with _lock:
            _secrets.add(value)


def clean(text: str) -> str:
    """``text`` with card numbers and the registered secrets withheld."""
    if not text:
        return text
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "<secret withheld>")
    return scrub(text)  # card numbers, grouped or not (domain.fields' one rule)


def folder(log_dir: str | os.PathLike | None = None) -> str:
    """The log folder (created if needed); raises OSError if it cannot be."""
    path = os.fspath(log_dir) if log_dir is not None else paths.logs_folder()
    os.makedirs(path, exist_ok=True)
    return path


def full(size: int, line_length: int, max_bytes: int) -> bool:
    """Whether a file of ``size`` bytes must rotate before a line of ``line_length`` characters
    (``logging.handlers.RotatingFileHandler``'s rule)."""
    return max_bytes > 0 and size > 0 and size + line_length >= max_bytes


def rotate(base: str, backup_count: int) -> None:
    """``base`` -> ``base.1`` ... -> ``base.N`` (the oldest dropped); with no backups, emptied."""
    if backup_count > 0:
        for i in range(backup_count - 1, 0, -1):
            older, newer = f"{base}.{i}", f"{base}.{i + 1}"
            if os.path.exists(older):
                os.replace(older, newer)
        os.replace(base, base + ".1")
    else:
        open(base, "w").close()


def line(message: str, *, level: str = "INFO", name: str = "custodian_app",
         thread: str = "MainThread", created: float | None = None) -> str:
    """One line in FORMAT's layout, as ``logging.Formatter(FORMAT)`` writes it."""
    created = time.time() if created is None else created
    stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(created))
    msecs = int((created - int(created)) * 1000)
    return f"{stamp},{msecs:03d} {level:<7} {name} [{thread}] {clean(message)}"


def threshold() -> int:
    """The level below which nothing is logged: ``$CUSTODIAN_LOG_LEVEL``, else INFO."""
    return LEVELS.get(os.environ.get(ENV_LEVEL, "INFO").strip().upper(), LEVELS["INFO"])


def append(message: str, *, level: str = "INFO", name: str = "custodian_app",
           log_dir: str | os.PathLike | None = None, max_bytes: int = MAX_BYTES,
           backup_count: int = BACKUP_COUNT) -> None:
    """Add one line to the log file (from the main thread), rotating it first if it is full;
    nothing below ``$CUSTODIAN_LOG_LEVEL``. A log that cannot be written must not stop a
    clearing: it says so on standard error."""
    if LEVELS[level] < threshold():
        return
    text = line(message, level=level, name=name)
    path = None
    try:
        path = os.path.join(folder(log_dir), LOG_FILE_NAME)
        try:
            size = os.path.getsize(path) if os.path.isfile(path) else 0
        except OSError:
            size = 0
        if full(size, len(text) + 1, max_bytes):
            rotate(path, backup_count)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text + "\n")
    except OSError as exc:
        where = path or exc.filename or log_dir or "in the data folder"
        print(f"custodian-app: cannot write the log file {where} ({exc.strerror or exc}); "
              "this run is not logged", file=sys.stderr)
