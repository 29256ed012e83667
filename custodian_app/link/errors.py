"""The link's exception tree: one root, LinkError, under CustodianError.

Library errors (pyserial, zlib, orjson) are translated into these at the layer's edge with
``raise ... from``. Every message says what happened and what the custodian can do next; the
GUI and the command line show ``str(error)`` as it is.

    CustodianError
    └── LinkError
        ├── PortError              the serial port cannot be opened (missing, busy, no permission)
        ├── LinkClosed             the port went away (cable pulled, ATM closed it) (ConnectionError)
        ├── LinkTimeout            the ATM stopped answering in time (TimeoutError)
        ├── FramingError           bytes that are not a frame of this protocol
        ├── ProtocolError          the ATM broke the protocol (bad message, unexpected frame)
        │   ├── MessageError       a message envelope that does not parse
        │   ├── ProtocolVersionError  the two sides share no protocol version
        │   └── LinkReset          the ATM dropped the session (it rebooted); reconnect
        ├── AtmRefused             the ATM completed a command with an error code
        ├── CycleChanged           the ATM's cycle changed under a read
        └── ReadCancelled          the custodian cancelled the read
"""

from __future__ import annotations

from custodian_app.domain.errors import CustodianError


class LinkError(CustodianError):
    """Anything that went wrong talking to the ATM over its maintenance port."""


class PortError(LinkError):
    """The serial port could not be opened."""


class LinkClosed(LinkError, ConnectionError):
    """The port went away under us: cable pulled, USB adapter removed, ATM closed the line."""


class LinkTimeout(LinkError, TimeoutError):
    """The ATM did not answer within the time allowed."""


class FramingError(LinkError):
    """Bytes that cannot be a frame of this protocol."""


class ProtocolError(LinkError):
    """The ATM (or the application) broke the protocol."""


class MessageError(ProtocolError):
    """A message whose envelope does not parse."""


class ProtocolVersionError(ProtocolError):
    """The application and the ATM agent share no protocol version; neither may guess."""

    def __init__(self, message: str, *, ours: tuple[int, ...] = (), theirs: tuple[int, ...] = ()) -> None:
        self.ours = tuple(ours)
        self.theirs = tuple(theirs)
        super().__init__(message)


class LinkReset(ProtocolError):
    """The ATM no longer knows our session (it rebooted). The session reconnects."""


class AtmRefused(LinkError):
    """The ATM completed a command with an error completion code."""

    def __init__(
        self, command: str, completion_code: str, error_code: str | None = None, description: str = ""
    ) -> None:
        self.command = command
        self.completion_code = completion_code
        self.error_code = error_code
        self.description = description
        what = completion_code if not error_code else f"{completion_code}/{error_code}"
        text = f"the ATM refused {command}: {what}"
        if description:
            text += f" ({description})"
        super().__init__(text)


class AtmSourceLost(AtmRefused):
    """The ATM agent cannot answer because one of its sources is lost (its XFS4IoT service, its
    journal folder, its FSN files): ``source`` names it, ``english``/``chinese`` say what to do."""

    def __init__(self, command: str, source: str, state: str, english: str, chinese: str) -> None:
        self.source = source
        self.state = state
        self.english = english
        self.chinese = chinese
        super().__init__(command, "commandErrorCode", "sourceUnavailable", f"{english} / {chinese}")


class CycleChanged(LinkError):
    """The ATM's clearing cycle changed while we were reading it."""


class ReadCancelled(LinkError):
    """The custodian cancelled the operation."""


#: the link losses the client absorbs by reopening port and session (a command that is safe to
#: repeat is sent again, a read resumes from its cursors)
RECOVERABLE = (LinkClosed, LinkTimeout, LinkReset, PortError)
MAX_ATTEMPTS = 5  # link losses one command or read may survive without making progress
