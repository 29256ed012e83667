"""XFS4IoT message envelopes, in both header styles, for the client and the simulator.

Every message is ``{"header": {...}, "payload": {...}}``. Two styles are in the field:

- **2021** (spec 2021-1 .. 2022): the header is ``name``, ``requestId``, ``type``; a command's
  ``timeout`` (ms) is in its payload; an acknowledge says ``status`` (``ok`` ...) in its payload;
  a completion carries ``completionCode`` and ``errorDescription`` in its payload.
- **2023** (spec 2023-1 and later): the header adds ``version`` (the message's own version,
  ``"2.0"`` ...), a command's ``timeout``, an acknowledge's ``status`` (absent when accepted) and
  a completion's ``completionCode`` / ``errorDescription``; the payload may be null.

Decoding accepts both whatever style was asked for (a service may mix them during an
upgrade); encoding writes the one asked for. Numbers are parsed exactly: a JSON fraction
becomes a Decimal (a denomination is a JSON number in the standard), never a float.
See docs/xfs4iot.md for the sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from custodian_app.xfs4iot.errors import XfsReplyError

STYLE_2021 = "2021"
STYLE_2023 = "2023"
STYLES = (STYLE_2021, STYLE_2023)

# The message versions a 2023-style header carries: those of the KAL framework's generated
# classes (XFS4IoT 2023-2 and later). Other names default to 2.0.
VERSIONS = {
    "ServicePublisher.GetServices": "2.0",
    "ServicePublisher.ServiceDetailEvent": "2.0",
    "Common.Capabilities": "2.0",
    "Common.Cancel": "2.0",
    "Storage.GetStorage": "2.0",
    "Storage.StartExchange": "2.0",
    "Storage.SetStorage": "2.1",
    "Storage.EndExchange": "2.0",
    "Storage.StorageThresholdEvent": "2.1",
    "Storage.StorageChangedEvent": "2.1",
    "Storage.StorageErrorEvent": "2.1",
    "Storage.CountsChangedEvent": "2.0",
}
TYPES = ("command", "acknowledge", "event", "completion", "unsolicited")
MAX_MESSAGE = 4 * 1024 * 1024  # a storage list of a few dozen units is a few kB


@dataclass(frozen=True, slots=True)
class Message:
    """One decoded message. ``completion_code`` / ``error_description`` / ``ack_status`` are
    taken from wherever the style puts them; ``payload`` is always a dict."""

    name: str
    type: str
    request_id: int | None
    payload: dict[str, Any] = field(default_factory=dict)
    version: str | None = None
    timeout_ms: int | None = None
    ack_status: str | None = None
    completion_code: str | None = None
    error_description: str | None = None

    @property
    def unsolicited(self) -> bool:
        """An event no command asked for (``unsolicited``, or an ``event`` without requestId)."""
        return self.type == "unsolicited" or (self.type == "event" and not self.request_id)


def _reply_error(where: str, what: str) -> XfsReplyError:
    return XfsReplyError(
        f"The XFS4IoT service sent a message that breaks the standard ({where}: {what}); nothing "
        "of it was used. Ask the bank's IT to check the ATM's XFS4IoT service.",
        f"ATM 的 XFS4IoT 服务发来的消息不符合标准（{where}：{what}），已整体拒收：请联系科技部门检查 ATM 的 XFS4IoT 服务。",
    )


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not a JSON number")


def loads(text: str | bytes) -> Any:
    """JSON with fractions as Decimal and no NaN/Infinity (the standard's JSON)."""
    return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)


def _default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        if obj == obj.to_integral_value():
            return int(obj)
        raise TypeError(f"a fractional Decimal ({obj}) cannot be written without a float")
    raise TypeError(f"{type(obj).__name__} is not JSON")


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=_default)


def decode(text: str | bytes) -> Message:
    """Decode one message of either style; a malformed one raises XfsReplyError."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _reply_error("message", "not UTF-8 text") from exc
    try:
        doc = loads(text)
    except ValueError as exc:
        raise _reply_error("message", f"not JSON ({exc})") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("header"), dict):
        raise _reply_error("message", "no header object")
    header = doc["header"]
    name, mtype, rid = header.get("name"), header.get("type"), header.get("requestId")
    if not isinstance(name, str) or not name:
        raise _reply_error("header.name", repr(name))
    if mtype not in TYPES:
        raise _reply_error(f"{name}: header.type", repr(mtype))
    if rid is not None and (not isinstance(rid, int) or isinstance(rid, bool) or rid < 0):
        raise _reply_error(f"{name}: header.requestId", repr(rid))
    payload = doc.get("payload")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise _reply_error(f"{name}: payload", "not an object")
    timeout = header.get("timeout", payload.get("timeout") if mtype == "command" else None)

    def text_field(key: str) -> str | None:
        value = header.get(key)
        if value is None:
            value = payload.get(key)
        if value is not None and not isinstance(value, str):
            raise _reply_error(f"{name}: {key}", repr(value))
        return value

    code = text_field("completionCode") if mtype == "completion" else None
    if mtype == "completion" and code is None:
        raise _reply_error(f"{name}: completion", "no completionCode")
    return Message(
        name=name,
        type=mtype,
        request_id=rid,
        payload=payload,
        version=header.get("version") if isinstance(header.get("version"), str) else None,
        timeout_ms=timeout if isinstance(timeout, int) and not isinstance(timeout, bool) else None,
        ack_status=text_field("status") if mtype == "acknowledge" else None,
        completion_code=code,
        error_description=text_field("errorDescription") if mtype == "completion" else None,
    )


def _header(name: str, mtype: str, request_id: int | None, style: str) -> dict[str, Any]:
    if style not in STYLES:
        raise ValueError(f"header style {style!r}: use one of {', '.join(STYLES)}")
    header: dict[str, Any] = {"name": name, "requestId": request_id, "type": mtype}
    if style == STYLE_2023:
        header["version"] = VERSIONS.get(name, "2.0")
    return header


def encode_command(
    name: str, request_id: int, payload: dict | None, *, style: str, timeout_ms: int = 0
) -> str:
    header = _header(name, "command", request_id, style)
    body = dict(payload or {})
    if style == STYLE_2023:
        header["timeout"] = timeout_ms
    else:
        body["timeout"] = timeout_ms
    return dumps({"header": header, "payload": body if body or style == STYLE_2021 else None})


def encode_acknowledge(name: str, request_id: int, *, style: str, status: str | None = None) -> str:
    header = _header(name, "acknowledge", request_id, style)
    if style == STYLE_2023:
        if status is not None:
            header["status"] = status
        return dumps({"header": header, "payload": None})
    return dumps({"header": header, "payload": {"status": status or "ok"}})


def encode_event(name: str, request_id: int | None, payload: dict | None, *, style: str) -> str:
    """An event of a command (``request_id``), or unsolicited (``request_id`` None)."""
    mtype = "event" if request_id is not None else "unsolicited"
    return dumps({"header": _header(name, mtype, request_id, style), "payload": payload or {}})


def encode_completion(
    name: str,
    request_id: int,
    payload: dict | None,
    *,
    style: str,
    code: str = "success",
    description: str | None = None,
) -> str:
    header = _header(name, "completion", request_id, style)
    body = dict(payload or {})
    if style == STYLE_2023:
        header["completionCode"] = code
        if description is not None:
            header["errorDescription"] = description
    else:
        body["completionCode"] = code
        if description is not None:
            body["errorDescription"] = description
    return dumps({"header": header, "payload": body})
