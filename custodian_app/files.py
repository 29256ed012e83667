"""Reading clearing documents from files and writing files so that nothing is half-written.

A write goes to a temporary file in the same folder, is flushed to disk, then renamed over
the target: a reader sees the old file or the new one, never a torn one, and a failure leaves
no file behind.
"""

from __future__ import annotations

import os

from custodian_app.domain import formats
from custodian_app.domain.formats import FormatError


# The largest document read: a big cycle's ledger with its banknote records is under a
# gigabyte; anything larger is not a clearing document (and /dev/zero never ends at all).
MAX_DOCUMENT_BYTES = 2 * 1024 ** 3


def open_regular(path: str | os.PathLike):
    """Open an input document for reading, or raise FormatError: only a regular file of at
    most MAX_DOCUMENT_BYTES. Opened without blocking, so a FIFO is refused instead of waiting
    for a writer; a device (/dev/zero) or a folder is refused before a byte is read."""
    import stat

    where = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise FormatError(where, "$", f"cannot read the file: {exc.strerror or exc}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise FormatError(where, "$", "not a regular file (a folder, a pipe or a device); give "
                                      "the path of the document itself")
    if info.st_size > MAX_DOCUMENT_BYTES:
        os.close(fd)
        raise FormatError(where, "$", f"{info.st_size} bytes is beyond the {MAX_DOCUMENT_BYTES} "
                                      "bytes of any clearing document; is it the right file?")
    return os.fdopen(fd, "rb")


def read_bytes(path: str | os.PathLike) -> bytes:
    with open_regular(path) as fh:
        try:
            data = fh.read(MAX_DOCUMENT_BYTES + 1)  # bounded even if it grows meanwhile
        except OSError as exc:
            raise FormatError(str(path), "$", f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise FormatError(str(path), "$", f"beyond the {MAX_DOCUMENT_BYTES} bytes of any clearing "
                                          "document; is it the right file?")
    return data


def read_atm_ledger(path: str | os.PathLike) -> formats.AtmLedger:
    return formats.parse_atm_ledger(read_bytes(path), str(path))


def read_host_ledger(path: str | os.PathLike) -> formats.HostLedger:
    return formats.parse_host_ledger(read_bytes(path), str(path))


def read_counts(path: str | os.PathLike) -> formats.Counts:
    return formats.parse_counts(read_bytes(path), str(path))


def read_result(path: str | os.PathLike) -> formats.ClearingResult:
    return formats.parse_result(read_bytes(path), str(path))


# A ".part" file older than this, beside a file being written, was left by a run that was
# killed (kill -9, a power cut) in the middle of a write: removed at the next write. A write
# in progress elsewhere is seconds old.
STALE_PART_SECONDS = 300


def _clean_stale_parts(folder: str, name: str) -> None:
    import time

    prefix, limit = f".{name}.", time.time() - STALE_PART_SECONDS
    try:
        entries = list(os.scandir(folder or "."))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(".part"):
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < limit:
                    os.unlink(entry.path)
            except OSError:
                pass  # gone meanwhile, or not ours to remove


def _write_part(target: str, data: bytes) -> str:
    """``data`` in a new file beside ``target`` (mode 0600), flushed to disk; its path."""
    folder, name = os.path.split(target)
    _clean_stale_parts(folder, name)
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
    except BaseException:
        _unlink(tmp)
        raise
    return tmp


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def write_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` all at once or not at all: into a new file beside it (mode
    0600, like ``tempfile.mkstemp``, whose module would cost every command 6 ms to import),
    flushed to disk, then renamed over the target. (os.path, not pathlib: every command imports
    this module, and pathlib costs 6 ms to import.) Stale ".part" files of a killed run beside
    the target are removed."""
    write_together([(path, data)])


def write_together(items: list[tuple[str | os.PathLike, bytes]]) -> None:
    """Write several files (a clearing's result and its report) both or neither: every one
    goes to its ".part" file and is flushed to disk before the first is renamed, so a failure
    or a kill while writing leaves none of them; only a crash between two renames, an instant
    with nothing left to write, could separate them."""
    parts: list[tuple[str, str]] = []
    try:
        for path, data in items:
            target = os.fspath(path)
            parts.append((_write_part(target, data), target))
        while parts:
            tmp, target = parts[0]
            os.replace(tmp, target)
            parts.pop(0)
    except BaseException:
        for tmp, _target in parts:
            _unlink(tmp)
        raise


def write_document(path: str | os.PathLike, doc: dict, *, indent: bool = True) -> None:
    write_atomic(path, formats.dumps(doc, indent=indent))
