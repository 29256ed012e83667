"""Messages: the XFS4IoT-style envelope carried inside frames (docs/protocol.md, "Messages").

    {"header": {"name": "Storage.GetStorage", "requestId": 7, "type": "command",
                "completionCode": null},
     "payload": {...}}

``type`` is ``command`` (application -> ATM), ``acknowledge`` (the ATM accepted or rejected the
command), ``event`` (intermediate, tied to a command by its requestId; or unsolicited with
requestId 0) or ``completion`` (the end of a command, with its completionCode). Encoded as
compact UTF-8 JSON; amounts inside payloads are integers of minor units. A message may carry
a binary attachment after the JSON, separated by one zero byte (JSON never holds a raw zero
byte): a record page of layout 2, sent only to a peer that asked for that layout.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from custodian_app.link.errors import MessageError

COMMAND = "command"
ACKNOWLEDGE = "acknowledge"
EVENT = "event"
COMPLETION = "completion"
TYPES = (COMMAND, ACKNOWLEDGE, EVENT, COMPLETION)

# completionCode values (XFS4IoT names)
SUCCESS = "success"
CANCELED = "canceled"
COMMAND_ERROR = "commandErrorCode"  # details in payload.errorCode
INVALID_DATA = "invalidData"
UNSUPPORTED_COMMAND = "unsupportedCommand"
SEQUENCE_ERROR = "sequenceError"
INVALID_REQUEST_ID = "invalidRequestID"
INTERNAL_ERROR = "internalError"
COMPLETION_CODES = (
    SUCCESS,
    CANCELED,
    COMMAND_ERROR,
    INVALID_DATA,
    UNSUPPORTED_COMMAND,
    SEQUENCE_ERROR,
    INVALID_REQUEST_ID,
    INTERNAL_ERROR,
)

# Command names (docs/protocol.md lists each with its payloads)
STATUS = "Common.Status"
CAPABILITIES = "Common.Capabilities"
CANCEL = "Common.Cancel"
SET_LINE_SPEED = "Common.SetLineSpeed"
GET_STORAGE = "Storage.GetStorage"
START_EXCHANGE = "Storage.StartExchange"
END_EXCHANGE = "Storage.EndExchange"
GET_TOTALS = "Ledger.GetTotals"
READ_TRANSACTIONS = "Ledger.ReadTransactions"
READ_NOTES = "Ledger.ReadNotes"
GET_NOTES_FOR_TSN = "Ledger.GetNotesForTsn"
CLOSE_CYCLE = "Ledger.CloseCycle"

# Event names
TRANSACTIONS_PAGE = "Ledger.TransactionsPageEvent"
NOTES_PAGE = "Ledger.NotesPageEvent"
STATUS_CHANGED = "Common.StatusChangedEvent"  # unsolicited, e.g. {"safeDoor": "open"}
CYCLE_OPENED = "Ledger.CycleOpenedEvent"  # unsolicited, after Storage.EndExchange

MAX_MESSAGE = 16 * 1024 * 1024  # a decompressed message larger than this is refused


@dataclass(slots=True)
class Message:
    name: str
    request_id: int
    type: str
    payload: dict[str, Any] = field(default_factory=dict)
    completion_code: str | None = None
    error_description: str | None = None
    blob: bytes | None = None  # binary attachment (a layout-2 record page)

    @property
    def ok(self) -> bool:
        return self.completion_code == SUCCESS

    def encode(self) -> bytes:
        header: dict[str, Any] = {"name": self.name, "requestId": self.request_id, "type": self.type}
        if self.completion_code is not None:
            header["completionCode"] = self.completion_code
        if self.error_description:
            header["errorDescription"] = self.error_description
        doc = orjson.dumps({"header": header, "payload": self.payload})
        return doc if self.blob is None else doc + b"\x00" + self.blob


def command(name: str, request_id: int, payload: dict | None = None) -> Message:
    return Message(name, request_id, COMMAND, payload or {})


def acknowledge(cmd: Message, status: str | None = None, description: str | None = None) -> Message:
    """status None: accepted; otherwise the reason it was not (e.g. invalidRequestID)."""
    return Message(
        cmd.name, cmd.request_id, ACKNOWLEDGE, {} if status is None else {"status": status}, None, description
    )


def event(name: str, request_id: int, payload: dict, blob: bytes | None = None) -> Message:
    return Message(name, request_id, EVENT, payload, blob=blob)


def completion(
    cmd: Message,
    code: str = SUCCESS,
    payload: dict | None = None,
    description: str | None = None,
    blob: bytes | None = None,
) -> Message:
    return Message(cmd.name, cmd.request_id, COMPLETION, payload or {}, code, description, blob)


def decode(data: bytes) -> Message:
    """Bytes of one message -> Message, or MessageError saying what is wrong with it."""
    blob = None
    cut = data.find(b"\x00")
    if cut >= 0:
        data, blob = data[:cut], bytes(data[cut + 1 :])
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise MessageError(f"a message from the other side is not valid JSON ({exc})") from exc
    if type(doc) is not dict:
        raise MessageError("a message must be a JSON object with 'header' and 'payload'")
    header = doc.get("header")
    payload = doc.get("payload", {})
    if type(header) is not dict:
        raise MessageError("a message has no 'header' object")
    if type(payload) is not dict:
        raise MessageError("a message's 'payload' must be an object")
    name = header.get("name")
    rid = header.get("requestId")
    mtype = header.get("type")
    code = header.get("completionCode")
    desc = header.get("errorDescription")
    if type(name) is not str or not name or len(name) > 64:
        raise MessageError("a message header lacks a valid 'name'")
    if type(rid) is not int or not (0 <= rid < 2**31):
        raise MessageError(f"message {name}: 'requestId' must be a whole number >= 0")
    if mtype not in TYPES:
        raise MessageError(f"message {name}: 'type' must be one of {', '.join(TYPES)}")
    if mtype == COMPLETION and type(code) is not str:
        raise MessageError(f"message {name}: a completion needs a 'completionCode'")
    if code is not None and type(code) is not str:
        raise MessageError(f"message {name}: 'completionCode' must be a string")
    if desc is not None and type(desc) is not str:
        desc = None
    return Message(name, rid, mtype, payload, code, desc, blob)
