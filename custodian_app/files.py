"""Reading clearing documents from files and writing files so that nothing is half-written.

A write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target: a reader sees the old file or the new one, never a torn one, and a failure leaves
no file behind.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from custodian_app.domain import formats
from custodian_app.domain.formats import FormatError


def read_bytes(path: str | os.PathLike) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise FormatError(str(path), "$", f"cannot read the file: {exc.strerror or exc}") from None


def read_atm_ledger(path: str | os.PathLike) -> formats.AtmLedger:
    return formats.parse_atm_ledger(read_bytes(path), str(path))


def read_host_ledger(path: str | os.PathLike) -> formats.HostLedger:
    return formats.parse_host_ledger(read_bytes(path), str(path))


def read_counts(path: str | os.PathLike) -> formats.Counts:
    return formats.parse_counts(read_bytes(path), str(path))


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once or not at all. The temporary file is made beside
    the target (a rename across file systems is not atomic) with mkstemp's mode 0600."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_document(path: str | os.PathLike, doc: dict, *, indent: bool = True) -> None:
    write_atomic(path, formats.dumps(doc, indent=indent))
