"""What the command groups share: the exit statuses and the way a command says it failed.

Every failure is one line on standard error, ``custodian-app[ COMMAND]: what went wrong``,
and the command returns its exit status; see custodian_app.cli.main.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from custodian_app.domain.errors import scrub

EXIT_OK = 0
EXIT_MISMATCH = 1  # also: a verification failed, nothing found
EXIT_USAGE = 2  # also invalid input
EXIT_LINK = 3  # the ATM or the backend cannot be reached


def fail(message: object, status: int = EXIT_USAGE, *, command: str | None = None) -> int:
    """Say on standard error why the command failed; returns ``status`` for the caller to return.

    The message is scrubbed like a CustodianError's: a failure that echoes what was typed
    (``trace-card --from 6222021234561004``) must not print a card number back."""
    prefix = f"custodian-app {command}" if command else "custodian-app"
    print(f"{prefix}: {scrub(str(message))}", file=sys.stderr)
    return status


def cannot_write(path: str | os.PathLike, exc: OSError) -> str:
    """The words for an output file that could not be written (the OS's reason, not a traceback)."""
    return f"cannot write {path}: {exc.strerror or exc}"


@contextmanager
def until_stopped() -> Iterator[threading.Event]:
    """An event that Ctrl-C (SIGINT) or SIGTERM sets while the block runs: a simulator serves
    until it is set. The previous handlers come back after the block."""
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
