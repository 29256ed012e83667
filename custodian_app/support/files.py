"""Reading clearing documents from files and writing files so that nothing is half-written.

Reading takes only a regular file of bounded size: a FIFO, a device (/dev/zero) or a folder is
refused before a byte is read, without blocking.

A write goes to a temporary ".part" file in the same folder, is flushed to disk, then renamed
over the target: a reader sees the old file or the new one, never a torn one, and a failure
leaves no file behind. Several files (a clearing's result and its report) are written both or
neither. Stale ".part" files that a killed run left beside a target are removed at the next
write there.
"""

from __future__ import annotations

import os
import stat
import tempfile
import time
from pathlib import Path

from custodian_app.domain import formats
from custodian_app.domain.formats import FormatError

# The largest document read: a big cycle's ledger with its banknote records is under a
# gigabyte; anything larger is not a clearing document (and /dev/zero never ends at all).
MAX_DOCUMENT_BYTES = 2 * 1024**3

# A ".part" file older than this, beside a file being written, was left by a run that was
# killed (kill -9, a power cut) in the middle of a write. A write in progress is seconds old.
STALE_PART_SECONDS = 300


def open_regular(path: str | os.PathLike):
    """Open an input document for reading, or raise FormatError: only a regular file of at
    most MAX_DOCUMENT_BYTES. Opened without blocking, so a FIFO is refused instead of waiting
    for a writer; a device or a folder is refused before a byte is read."""
    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise FormatError(where, "$", f"cannot read the file: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FormatError(
            where,
            "$",
            "not a regular file (a folder, a pipe or a device); give the path of the document itself",
        )
    if info.st_size > MAX_DOCUMENT_BYTES:
        os.close(fd)
        raise FormatError(
            where,
            "$",
            f"{info.st_size} bytes is beyond the {MAX_DOCUMENT_BYTES} "
            "bytes of any clearing document; is it the right file?",
        )
    return os.fdopen(fd, "rb")


def read_bytes(path: str | os.PathLike) -> bytes:
    with open_regular(path) as fh:
        try:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)  # bounded even if it grows meanwhile
        except OSError as exc:
            raise FormatError(str(path), "$", f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FormatError(
            str(path),
            "$",
            f"beyond the {MAX_DOCUMENT_BYTES} bytes of any clearing document; is it the right file?",
        )
    return data


def read_atm_ledger(path: str | os.PathLike) -> formats.AtmLedger:
    return formats.parse_atm_ledger(read_bytes(path), str(path))


def read_host_ledger(path: str | os.PathLike) -> formats.HostLedger:
    return formats.parse_host_ledger(read_bytes(path), str(path))


def read_counts(path: str | os.PathLike) -> formats.Counts:
    return formats.parse_counts(read_bytes(path), str(path))


def _clean_stale_parts(target: Path) -> None:
    limit = time.time() - STALE_PART_SECONDS
    for part in target.parent.glob(f".{target.name}.*.part"):
        try:
            if part.is_file() and not part.is_symlink() and part.stat().st_mtime < limit:
                part.unlink()
        except OSError:
            pass  # gone meanwhile, or not ours to remove


def _write_part(target: Path, data: bytes) -> Path:
    """``data`` in a new file beside ``target`` (mkstemp's mode 0600), flushed to disk."""
    _clean_stale_parts(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once or not at all."""
    write_together([(path, data)])


def write_together(items: list[tuple[str | os.PathLike, bytes]]) -> None:
    """Write several files (a clearing's result and its report) both or neither: every one
    goes to its ".part" file and is flushed to disk before the first is renamed, so a failure
    or a kill while writing leaves none of them; only a crash between two renames, an instant
    with nothing left to write, could separate them."""
    parts: list[tuple[Path, Path]] = []
    try:
        for path, data in items:
            target = Path(path)
            parts.append((_write_part(target, data), target))
        while parts:
            tmp, target = parts[0]
            os.replace(tmp, target)
            parts.pop(0)
    except BaseException:
        for tmp, _target in parts:
            tmp.unlink(missing_ok=True)
        raise


def write_document(path: str | os.PathLike, doc: dict, *, indent: bool = True) -> None:
    write_atomic(path, formats.dumps(doc, indent=indent))
