"""The XFS4IoT client's exception tree, rooted in CustodianError.

Library errors (websockets, ssl, OSError, json) are translated into these at the client's edge
with ``raise ... from``. Each error carries its words twice, ``english`` and ``chinese``, both
saying what happened and what the custodian (or the bank's IT) should do; ``str(error)`` is
the English sentence followed by the Chinese one, so a log line or the command line shows both.

    XfsError
    ├── XfsUnreachable           cannot connect to the publisher or a service
    │   └── XfsTLSError          the service's certificate could not be verified
    ├── XfsConnectionLost        the socket dropped while a command was under way
    ├── XfsTimeout               no completion within the time allowed
    ├── XfsCancelled             the command was cancelled (Common.Cancel or the caller)
    ├── XfsCommandFailed         a completion with a completionCode other than success
    ├── XfsRefused               the acknowledge refused the command (invalidMessage ...)
    ├── XfsServiceNotFound       no service offers Storage and CashManagement
    ├── XfsReplyError            a malformed message or storage unit, refused as a whole
    └── XfsExchangeError         the new counts do not fit the units; nothing was sent
"""

from __future__ import annotations

from custodian_app.domain.errors import CustodianError


class XfsError(CustodianError):
    """Base of every XFS4IoT client error: ``english`` and ``chinese`` words for the custodian."""

    def __init__(self, english: str, chinese: str) -> None:
        self.english = english
        self.chinese = chinese
        super().__init__(f"{english} / {chinese}")


class XfsUnreachable(XfsError, ConnectionError):
    """The service publisher or a service could not be reached."""


class XfsTLSError(XfsUnreachable):
    """The service's certificate was not trusted (wrong CA bundle, wrong host, expired)."""


class XfsConnectionLost(XfsError, ConnectionError):
    """The WebSocket closed while commands were outstanding."""

    def __init__(self, english: str, chinese: str, *, command: str | None = None) -> None:
        self.command = command
        super().__init__(english, chinese)


class XfsTimeout(XfsError, TimeoutError):
    """No completion came in time; the client sent Common.Cancel for it."""

    def __init__(self, english: str, chinese: str, *, command: str) -> None:
        self.command = command
        super().__init__(english, chinese)


class XfsCancelled(XfsError):
    """The command completed with ``canceled``."""

    def __init__(self, english: str, chinese: str, *, command: str) -> None:
        self.command = command
        super().__init__(english, chinese)


class XfsCommandFailed(XfsError):
    """A completion whose completionCode is not ``success``.

    ``completion_code`` is the header's (or, in 2021 messages, the payload's) code;
    ``error_code`` the payload's command-specific ``errorCode`` when there is one."""

    def __init__(
        self,
        english: str,
        chinese: str,
        *,
        command: str,
        completion_code: str,
        error_code: str | None = None,
        description: str | None = None,
    ) -> None:
        self.command = command
        self.completion_code = completion_code
        self.error_code = error_code
        self.description = description
        super().__init__(english, chinese)


class XfsRefused(XfsError):
    """The service's acknowledge refused the command (invalidMessage, tooManyRequests ...)."""


class XfsServiceNotFound(XfsError, LookupError):
    """The publisher lists no service offering the Storage and CashManagement interfaces."""


class XfsReplyError(XfsError, ValueError):
    """A message or storage unit that breaks the standard; nothing of it is used."""


class XfsExchangeError(XfsError, ValueError):
    """The new cycle's counts cannot be sent as they are (a unit missing, unknown, or a mixed
    unit given notes); nothing was sent to the ATM."""
