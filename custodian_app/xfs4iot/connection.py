"""One WebSocket to one XFS4IoT endpoint: commands out, acknowledge/events/completion matched in.

Each command gets a requestId unique on its connection. A reader task dispatches what comes
back: the acknowledge (a refusal fails the command), the command's events (to its callback),
its completion (ends it), and unsolicited events (to the connection's callback). A completion
that is not ``success`` raises the XfsError that says what to do; no completion in time sends
``Common.Cancel`` and raises XfsTimeout; a closed socket fails every outstanding command with
XfsConnectionLost. All library errors are translated here, at the client's edge.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection, connect

from custodian_app.xfs4iot import messages
from custodian_app.xfs4iot.errors import (
    XfsCancelled,
    XfsCommandFailed,
    XfsConnectionLost,
    XfsError,
    XfsRefused,
    XfsTimeout,
    XfsTLSError,
    XfsUnreachable,
)
from custodian_app.xfs4iot.messages import Message

log = logging.getLogger(__name__)

EventCallback = Callable[[Message], None]
CANCEL_GRACE = 2.0  # seconds the service gets to complete a timed-out command as canceled

# What a completion code means for the custodian: (English, Chinese), both saying what to do.
COMPLETION_WORDS: dict[str, tuple[str, str]] = {
    "hardwareError": (
        "the ATM's cash module reported a hardware fault: check the dispenser on the ATM's "
        "operator panel, clear the fault, then try again",
        "ATM 钞箱模块报告硬件故障：请在 ATM 操作面板上查看出钞模块，排除故障后重试",
    ),
    "deviceNotReady": (
        "the ATM's cash module is not ready (busy, or in another mode): wait until the ATM is "
        "idle in maintenance mode, then try again",
        "ATM 钞箱模块未就绪（忙碌或处于其他模式）：请等 ATM 在维护模式下空闲后重试",
    ),
    "sequenceError": (
        "the ATM refused the command in its present state (an exchange already open, or none "
        "open): read the units again and repeat the step",
        "ATM 在当前状态下拒绝该命令（已有加钞交换进行中，或没有）：请重新读取钞箱后重做这一步",
    ),
    "commandErrorCode": ("the ATM refused the command", "ATM 拒绝了该命令"),
    "unsupportedCommand": (
        "the ATM's XFS4IoT service does not support this command: ask the bank's IT to check "
        "the service's version",
        "ATM 的 XFS4IoT 服务不支持该命令：请联系科技部门检查服务版本",
    ),
    "invalidData": (
        "the ATM found the data sent invalid: check the counts entered and try again",
        "ATM 认为发送的数据无效：请检查填写的张数后重试",
    ),
    "internalError": (
        "the ATM's XFS4IoT service had an internal error: try again; if it persists, ask the bank's IT",
        "ATM 的 XFS4IoT 服务内部出错：请重试，如仍失败请联系科技部门",
    ),
}
ERROR_CODE_WORDS: dict[str, tuple[str, str]] = {
    "exchangeActive": ("an exchange is already open on the ATM", "ATM 上已有加钞交换在进行"),
    "noExchangeActive": ("no exchange is open on the ATM", "ATM 上没有进行中的加钞交换"),
    "transactionActive": ("a customer transaction is under way", "有客户交易正在进行"),
    "storageUnitError": ("a cash unit has a fault", "有钞箱故障"),
    "invalidUnit": ("a unit named does not exist on the ATM", "所指定的钞箱在 ATM 上不存在"),
    "noMatchingRequestIDs": ("nothing to cancel", "没有可取消的命令"),
}


def unreachable(url: str, exc: BaseException) -> XfsError:
    """The words for a connection that could not be made, TLS failures apart."""
    cert = exc if isinstance(exc, ssl.SSLCertVerificationError) else exc.__cause__ or exc.__context__
    if isinstance(exc, ssl.SSLError) or isinstance(cert, ssl.SSLCertVerificationError):
        reason = getattr(cert, "verify_message", None) or getattr(exc, "reason", None) or str(exc)
        return XfsTLSError(
            f"The ATM's XFS4IoT service at {url} presented a certificate that cannot be trusted "
            f"({reason}). Check the CA bundle in the settings (it must hold the CA that signed "
            "the ATM's certificate) and that the address is the ATM's name in that certificate.",
            f"ATM 的 XFS4IoT 服务（{url}）的证书校验失败（{reason}）：请在设置中检查 CA 证书文件"
            "（须包含签发 ATM 证书的 CA），并确认地址与证书中的 ATM 名称一致。",
        )
    if isinstance(exc, TimeoutError):
        reason = "no answer"
    else:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return XfsUnreachable(
        f"Cannot connect to the ATM's XFS4IoT service at {url} ({reason}). Check that the ATM "
        "is on, its XFS4IoT service is running, and the address and port are right.",
        f"无法连接 ATM 的 XFS4IoT 服务（{url}，{reason}）：请检查 ATM 是否开机、XFS4IoT 服务是否运行，"
        "以及地址和端口是否正确。",
    )


def completion_error(msg: Message) -> XfsError:
    """The XfsError for a completion whose code is not success."""
    code = msg.completion_code or "?"
    error_code = msg.payload.get("errorCode") if isinstance(msg.payload.get("errorCode"), str) else None
    detail = f" ({msg.error_description})" if msg.error_description else ""
    if code == "canceled":
        return XfsCancelled(
            f"{msg.name} was cancelled before it finished{detail}. Start the step again when ready.",
            f"{msg.name} 在完成前已被取消{detail}：准备好后请重新开始这一步。",
            command=msg.name,
        )
    if code == "timeOut":
        return XfsTimeout(
            f"The ATM gave up on {msg.name} (its own time limit){detail}. Check the ATM is idle "
            "in maintenance mode, then try again.",
            f"ATM 执行 {msg.name} 超时{detail}：请确认 ATM 在维护模式下空闲后重试。",
            command=msg.name,
        )
    en, zh = COMPLETION_WORDS.get(
        code,
        (
            f"the ATM answered {code}: try again; if it persists, ask the bank's IT",
            f"ATM 返回 {code}：请重试，如仍失败请联系科技部门",
        ),
    )
    if error_code:
        e_en, e_zh = ERROR_CODE_WORDS.get(error_code, (error_code, error_code))
        en, zh = f"{en} ({e_en})", f"{zh}（{e_zh}）"
    return XfsCommandFailed(
        f"{msg.name} failed: {en}.{detail}",
        f"{msg.name} 失败：{zh}。{detail}",
        command=msg.name,
        completion_code=code,
        error_code=error_code,
        description=msg.error_description,
    )


class _Pending:
    __slots__ = ("name", "future", "on_event", "acknowledged")

    def __init__(self, name: str, future: asyncio.Future, on_event: EventCallback | None) -> None:
        self.name = name
        self.future = future
        self.on_event = on_event
        self.acknowledged = False


class XfsConnection:
    """An open WebSocket to one XFS4IoT service (or the service publisher)."""

    def __init__(
        self, ws: ClientConnection, url: str, *, style: str, on_unsolicited: EventCallback | None = None
    ) -> None:
        self.url = url
        self.style = style
        self.on_unsolicited = on_unsolicited
        self._ws = ws
        self._next_id = 1
        self._pending: dict[int, _Pending] = {}
        self._lost: XfsConnectionLost | None = None
        self._reader = asyncio.get_running_loop().create_task(self._read())

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        style: str,
        ssl_context: ssl.SSLContext | None = None,
        open_timeout: float = 10.0,
        on_unsolicited: EventCallback | None = None,
    ) -> XfsConnection:
        kwargs: dict[str, Any] = {}
        if url.startswith("wss:"):
            kwargs["ssl"] = ssl_context or ssl.create_default_context()
        try:
            ws = await connect(
                url,
                open_timeout=open_timeout,
                ping_interval=None,
                max_size=messages.MAX_MESSAGE,
                compression=None,
                **kwargs,
            )
        except (
            OSError,
            TimeoutError,
            websockets.exceptions.InvalidURI,
            websockets.exceptions.InvalidHandshake,
            websockets.exceptions.WebSocketException,
        ) as exc:
            raise unreachable(url, exc) from exc
        return cls(ws, url, style=style, on_unsolicited=on_unsolicited)

    @property
    def closed(self) -> bool:
        return self._lost is not None

    async def _read(self) -> None:
        reason = "closed by the service"
        try:
            async for raw in self._ws:
                try:
                    msg = messages.decode(raw)
                except XfsError as exc:
                    # A broken message cannot be tied to its command: fail them all, since one
                    # of them may never see its completion now.
                    self._fail_all(exc)
                    continue
                self._dispatch(msg)
        except websockets.exceptions.ConnectionClosed as exc:
            reason = f"closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
        except (OSError, asyncio.IncompleteReadError) as exc:
            reason = str(exc) or type(exc).__name__
        finally:
            names = ", ".join(sorted({p.name for p in self._pending.values()}))
            self._lost = XfsConnectionLost(
                f"The connection to the ATM's XFS4IoT service at {self.url} was lost ({reason})"
                + (f" while {names} was under way" if names else "")
                + ". Check the network to the ATM and that its service is running, then read the "
                "units again; an exchange that was under way may be unfinished and must be repeated.",
                f"与 ATM 的 XFS4IoT 服务（{self.url}）的连接已断开（{reason}）"
                + (f"，当时正在执行 {names}" if names else "")
                + "：请检查到 ATM 的网络及其服务是否运行，然后重新读取钞箱；进行中的加钞交换可能未完成，须重做。",
                command=names or None,
            )
            self._fail_all(self._lost)

    def _fail_all(self, exc: XfsError) -> None:
        for pending in list(self._pending.values()):
            if not pending.future.done():
                pending.future.set_exception(exc)

    def _dispatch(self, msg: Message) -> None:
        if msg.unsolicited:
            self._callback(self.on_unsolicited, msg)
            return
        pending = self._pending.get(msg.request_id) if msg.request_id is not None else None
        if pending is None or pending.future.done():
            log.warning(
                "XFS4IoT %s: %s %s for no outstanding command (requestId %s), ignored",
                self.url,
                msg.type,
                msg.name,
                msg.request_id,
            )
            return
        if msg.type == "acknowledge":
            pending.acknowledged = True
            if msg.ack_status not in (None, "ok"):
                pending.future.set_exception(
                    XfsRefused(
                        f"The ATM's XFS4IoT service refused {pending.name} ({msg.ack_status}). Try "
                        "again; if it persists, ask the bank's IT to check the service.",
                        f"ATM 的 XFS4IoT 服务拒绝了 {pending.name}（{msg.ack_status}）：请重试，如仍失败请联系科技部门。",
                    )
                )
        elif msg.type == "event":
            self._callback(pending.on_event, msg)
        elif msg.type == "completion":
            if msg.completion_code == "success":
                pending.future.set_result(msg)
            else:
                pending.future.set_exception(completion_error(msg))

    @staticmethod
    def _callback(callback: EventCallback | None, msg: Message) -> None:
        if callback is None:
            return
        try:
            callback(msg)
        except Exception:  # a caller's callback must not take the connection down
            log.exception("XFS4IoT event callback failed on %s", msg.name)

    async def send(
        self,
        name: str,
        payload: dict | None = None,
        *,
        timeout_ms: int = 0,
        on_event: EventCallback | None = None,
    ) -> tuple[int, asyncio.Future]:
        """Send a command; returns its requestId and the future of its completion."""
        if self._lost is not None:
            raise self._lost
        rid = self._next_id
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[rid] = _Pending(name, future, on_event)
        future.add_done_callback(lambda _f, rid=rid: self._pending.pop(rid, None))
        text = messages.encode_command(name, rid, payload, style=self.style, timeout_ms=timeout_ms)
        try:
            await self._ws.send(text)
        except websockets.exceptions.ConnectionClosed as exc:
            await asyncio.shield(self._reader)  # its finally block words the loss
            future.cancel()
            raise self._lost or XfsConnectionLost(str(exc), str(exc), command=name) from exc
        return rid, future

    async def command(
        self, name: str, payload: dict | None = None, *, timeout: float, on_event: EventCallback | None = None
    ) -> Message:
        """Send a command and wait for its completion; raise the XfsError it deserves.

        After ``timeout`` seconds without a completion the command is cancelled with
        Common.Cancel and XfsTimeout is raised. A caller that cancels the awaiting task gets the
        command cancelled at the service as well."""
        rid, future = await self.send(name, payload, timeout_ms=int(timeout * 1000), on_event=on_event)
        pending = self._pending[rid]
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except TimeoutError:
            await self._cancel_quietly(rid, future)
            if future.done() and not future.cancelled():
                exc = future.exception()
                if exc is None:  # completed while the cancel was on its way
                    return future.result()
                if not isinstance(exc, (XfsCancelled, XfsTimeout)):
                    raise exc from None
            acknowledged = pending.acknowledged
            raise XfsTimeout(
                f"The ATM's XFS4IoT service did not complete {name} within {timeout:g} s"
                + ("" if acknowledged else " (it did not even acknowledge it)")
                + "; it was cancelled. Check that the ATM is idle in maintenance mode and its "
                "service is running, then try again.",
                f"ATM 的 XFS4IoT 服务未在 {timeout:g} 秒内完成 {name}"
                + ("" if acknowledged else "（连确认都没有）")
                + "，已取消该命令：请确认 ATM 在维护模式下空闲、服务在运行，然后重试。",
                command=name,
            ) from None
        except asyncio.CancelledError:
            await asyncio.shield(self._cancel_quietly(rid, future))
            raise
        finally:
            if not future.done():
                future.cancel()
            elif not future.cancelled():
                future.exception()  # seen: the caller got the error that matters

    async def _cancel_quietly(self, rid: int, future: asyncio.Future) -> None:
        """Common.Cancel for ``rid``, then give the service CANCEL_GRACE to complete it."""
        if future.done() or self._lost is not None:
            return
        cancel = None
        try:
            _cid, cancel = await self.send(
                "Common.Cancel", {"requestIds": [rid]}, timeout_ms=int(CANCEL_GRACE * 1000)
            )
            await asyncio.wait_for(asyncio.wait([cancel, future]), CANCEL_GRACE)
        except (XfsError, TimeoutError):
            pass  # the caller's error says the command did not complete; that stands
        finally:
            if cancel is not None:
                if not cancel.done():
                    cancel.cancel()
                elif not cancel.cancelled():
                    cancel.exception()  # retrieved: a refused cancel changes nothing here

    async def cancel(self, request_ids: list[int], *, timeout: float = CANCEL_GRACE) -> Message:
        """Common.Cancel for the given requestIds (the service completes them as canceled)."""
        return await self.command("Common.Cancel", {"requestIds": list(request_ids)}, timeout=timeout)

    async def close(self) -> None:
        try:
            await self._ws.close()
        finally:
            try:
                await self._reader
            except Exception:  # noqa: BLE001 - the reader already failed the pending commands
                pass
