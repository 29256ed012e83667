"""The backend connector's exception tree, rooted in CustodianError.

Library errors (socket, ssl, http.client, orjson, the format parser) are translated into these
at the connector's edge with ``raise ... from``. Every message says what went wrong and what the
custodian (or the bank's IT) should do next. No message ever carries the bearer token: the
client never formats it into anything but the Authorization header.

    BackendError
    ├── BackendUnreachable        cannot connect, connection dropped, timed out (retried)
    │   ├── BackendTimeout
    │   └── BackendTLSError       certificate verification failed (not retried)
    ├── BackendServerError        5xx after every retry
    ├── BackendAuthError          401/403: the token was refused
    ├── BackendNotFound           404: no such terminal or cycle
    ├── BackendRequestError       another 4xx (bad request, bad cursor, ...)
    ├── BackendReplyError         a malformed or hostile reply, refused as a whole
    │   └── BackendMismatch       terminal/cycle/currency not what was asked
    ├── BackendCancelled          the custodian cancelled
    └── SettlementError           a bad settlement file (line and column)
"""

from __future__ import annotations

from custodian_app.domain.errors import CustodianError


class BackendError(CustodianError):
    """Base of every backend connector error."""


class BackendUnreachable(BackendError, ConnectionError):
    """The backend could not be reached (after the retries). Worth trying again later."""


class BackendTimeout(BackendUnreachable, TimeoutError):
    """The backend did not answer in time (after the retries)."""


class BackendTLSError(BackendUnreachable):
    """The backend's certificate could not be verified. Not retried: it will not get better."""


class BackendServerError(BackendError):
    """The backend kept answering with a server error (5xx) after every retry."""

    def __init__(self, message: str, status: int, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class BackendAuthError(BackendError):
    """The bearer token was refused (401) or does not grant access (403)."""

    def __init__(self, message: str, status: int) -> None:
        self.status = status
        super().__init__(message)


class BackendNotFound(BackendError, LookupError):
    """No such terminal or cycle on the backend (404)."""

    def __init__(self, message: str, terminal_id: str, cycle_id: str | None) -> None:
        self.terminal_id = terminal_id
        self.cycle_id = cycle_id
        super().__init__(message)


class BackendRequestError(BackendError):
    """Another 4xx: the backend refused the request itself. Not retried."""

    def __init__(self, message: str, status: int, code: str | None = None) -> None:
        self.status = status
        self.code = code
        super().__init__(message)


class BackendReplyError(BackendError, ValueError):
    """The backend's reply is malformed or hostile; it was refused as a whole.

    ``path`` is the JSON path of the fault in the (assembled) document when there is one."""

    def __init__(self, message: str, path: str | None = None) -> None:
        self.path = path
        super().__init__(message)


class BackendMismatch(BackendReplyError):
    """The reply is for another terminal, cycle or currency than the one asked for."""


class BackendCancelled(BackendError):
    """The fetch was cancelled; nothing was kept."""


class SettlementError(BackendError, ValueError):
    """A settlement file that cannot be imported. Says the line and the column; nothing imported."""

    def __init__(
        self,
        source: str,
        message: str,
        line: int | None = None,
        column: str | None = None,
        path: str | None = None,
    ) -> None:
        self.source = source
        self.path = path  # the JSON path, for a JSON file
        self.line = line
        self.column = column
        self.message = message
        where = source
        if line is not None:
            where += f": line {line}"
        if column is not None:
            where += f", column {column}"
        super().__init__(f"{where}: {message}")
