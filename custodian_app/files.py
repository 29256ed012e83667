"""Reading clearing documents from files and writing files so that nothing is half-written.

A write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target: a reader sees the old file or the new one, never a torn one, and a failure leaves
no file behind.
"""

from __future__ import annotations

import os

from custodian_app.domain import formats
from custodian_app.domain.formats import FormatError


def read_bytes(path: str | os.PathLike) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError as exc:
        raise FormatError(str(path), "$", f"cannot read the file: {exc.strerror or exc}") from None


def read_atm_ledger(path: str | os.PathLike) -> formats.AtmLedger:
    return formats.parse_atm_ledger(read_bytes(path), str(path))


def read_host_ledger(path: str | os.PathLike) -> formats.HostLedger:
    return formats.parse_host_ledger(read_bytes(path), str(path))


def read_counts(path: str | os.PathLike) -> formats.Counts:
    return formats.parse_counts(read_bytes(path), str(path))


def read_result(path: str | os.PathLike) -> formats.ClearingResult:
    return formats.parse_result(read_bytes(path), str(path))


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once or not at all: into a new file beside it (mode
    0600, like ``tempfile.mkstemp``, whose module would cost every command 6 ms to import),
    flushed to disk, then renamed over the target. (os.path, not pathlib: every command imports
    this module, and pathlib costs 6 ms to import.)"""
    target = os.fspath(path)
    folder, name = os.path.split(target)
    for _attempt in range(100):
        tmp = os.path.join(folder, f".{name}.{os.urandom(6).hex()}.part")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - 100 collisions of 48 random bits
        raise FileExistsError(f"cannot create a temporary file beside {target}")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_document(path: str | os.PathLike, doc: dict, *, indent: bool = True) -> None:
    write_atomic(path, formats.dumps(doc, indent=indent))
