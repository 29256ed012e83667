"""The journal readers' errors: each names the file and where in it (line, or byte offset)."""

from __future__ import annotations

from custodian_app.domain.errors import CustodianError


class JournalError(CustodianError, ValueError):
    """A journal, an FSN file or a dialect that cannot be read as it is. ``where`` is
    ``file:line`` for text, ``file@offset`` for FSN bytes, or the dialect file."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")
