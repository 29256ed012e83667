"""The XFS4IoT storage client: find the cash service, read its units, follow its events, exchange.

``AsyncStorageClient`` is the asyncio core; ``XfsStorageClient`` wraps it for a caller with no
event loop (the ATM-side agent's one I/O thread): every method runs the loop on the calling
thread until it is done, so callbacks are called on that thread too, and ``pump()`` lets events
that arrived in between be delivered. Typical use::

    with XfsStorageClient("wss://atm:5846/xfs4iot/v1.0", ca_bundle="bank-ca.pem") as xfs:
        units = xfs.read_units()                     # atm-ledger/1 units
        xfs.exchange({"CST1": 2500, "CST2": 2500, "RJ1": 0, "RTR1": 0})

Discovery: the service publisher's ``ServicePublisher.GetServices`` lists service URIs; each is
asked ``Common.Capabilities`` and the first whose interfaces include Storage and
CashManagement is used. See docs/xfs4iot.md for the message flow and the errors.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from custodian_app.xfs4iot import messages, units
from custodian_app.xfs4iot.connection import XfsConnection
from custodian_app.xfs4iot.errors import (
    XfsCancelled,
    XfsConnectionLost,
    XfsError,
    XfsReplyError,
    XfsServiceNotFound,
    XfsTLSError,
    XfsUnreachable,
)
from custodian_app.xfs4iot.messages import Message
from custodian_app.xfs4iot.units import UnitReading

log = logging.getLogger(__name__)

PUBLISHER_PATH = "/xfs4iot/v1.0"
NEEDED_INTERFACES = ("Storage", "CashManagement")
STORAGE_EVENTS = (
    "Storage.StorageThresholdEvent",
    "Storage.StorageChangedEvent",
    "Storage.CountsChangedEvent",
    "Storage.StorageErrorEvent",
)


@dataclass(frozen=True, slots=True)
class StorageEvent:
    """A Storage event: ``units`` maps each unit name in it to what the event says of it
    (a partial storage unit); ``unit_ids`` are their atm-ledger ids where known."""

    name: str  # e.g. "Storage.StorageThresholdEvent"
    units: dict[str, Any]
    unit_ids: tuple[str, ...]
    replenishment: dict[str, str] = field(default_factory=dict)  # unit id -> ok/low/empty/...
    failure: str | None = None  # StorageErrorEvent's failure


def ssl_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Verification against ``ca_bundle`` (PEM), else the system's CAs. Never unverified."""
    try:
        return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else ssl.create_default_context()
    except (OSError, ssl.SSLError) as exc:
        raise XfsUnreachable(
            f"The CA bundle {ca_bundle} cannot be read ({getattr(exc, 'strerror', None) or exc}). "
            "Choose the PEM file of the CA that signed the ATM's certificate in the settings.",
            f"无法读取 CA 证书文件 {ca_bundle}：请在设置中选择签发 ATM 证书的 CA 的 PEM 文件。",
        ) from exc


class AsyncStorageClient:
    """The asyncio XFS4IoT client for the cash units. Open with ``connect()``."""

    def __init__(
        self,
        publisher_url: str,
        *,
        style: str = messages.STYLE_2023,
        timeout: float = 10.0,
        ca_bundle: str | None = None,
        currency: str | None = None,
        on_storage_event: Callable[[StorageEvent], None] | None = None,
    ) -> None:
        if style not in messages.STYLES:
            raise ValueError(f"header style {style!r}: use one of {', '.join(messages.STYLES)}")
        self.publisher_url = publisher_url
        self.style = style
        self.timeout = timeout
        self.currency = currency
        self.on_storage_event = on_storage_event
        self._ssl = ssl_context(ca_bundle) if publisher_url.startswith("wss:") else None
        self._service: XfsConnection | None = None
        self.service_url: str | None = None
        self.readings: list[UnitReading] = []  # the last read, for mapping names to ids

    async def _open(self, url: str, on_unsolicited=None) -> XfsConnection:
        return await XfsConnection.open(
            url,
            style=self.style,
            ssl_context=self._ssl,
            open_timeout=self.timeout,
            on_unsolicited=on_unsolicited,
        )

    async def discover(self) -> list[str]:
        """The service URIs the publisher lists (ServicePublisher.GetServices)."""
        publisher = await self._open(self.publisher_url)
        try:
            done = await publisher.command("ServicePublisher.GetServices", timeout=self.timeout)
        finally:
            await publisher.close()
        services = done.payload.get("services")
        if not isinstance(services, list):
            raise XfsReplyError(
                "The ATM's service publisher sent no service list. Ask the bank's IT to check "
                "the ATM's XFS4IoT service.",
                "ATM 的服务发布器没有返回服务列表：请联系科技部门检查 ATM 的 XFS4IoT 服务。",
            )
        uris = [s.get("serviceURI") for s in services if isinstance(s, dict)]
        return [u for u in uris if isinstance(u, str) and u.startswith(("ws://", "wss://"))]

    async def connect(self) -> str:
        """Find and open the service offering Storage and CashManagement; returns its URI."""
        if self._service is not None and not self._service.closed:
            return self.service_url or ""
        seen: list[str] = []
        for uri in await self.discover():
            try:
                conn = await self._open(uri, on_unsolicited=self._unsolicited)
            except XfsTLSError:
                raise  # a certificate problem is the custodian's to fix, not a service to skip
            except XfsError as exc:
                log.warning("XFS4IoT service %s skipped: %s", uri, exc)
                seen.append(f"{uri} (unreachable)")
                continue
            try:
                caps = await conn.command("Common.Capabilities", timeout=self.timeout)
            except XfsError:
                await conn.close()
                raise
            names = {i.get("name") for i in caps.payload.get("interfaces") or () if isinstance(i, dict)}
            if all(n in names for n in NEEDED_INTERFACES):
                self._service, self.service_url = conn, uri
                return uri
            seen.append(uri)
            await conn.close()
        raise XfsServiceNotFound(
            f"The ATM's service publisher at {self.publisher_url} lists no service with the "
            f"Storage and CashManagement interfaces (services: {', '.join(seen) or 'none'}). "
            "Check that the ATM's cash dispenser service is installed and running.",
            f"ATM 的服务发布器（{self.publisher_url}）没有提供钞箱（Storage、CashManagement）服务"
            f"（已有服务：{'、'.join(seen) or '无'}）：请确认 ATM 的出钞模块服务已安装并在运行。",
        )

    async def _command(self, name: str, payload: dict | None = None) -> Message:
        if self._service is None or self._service.closed:
            await self.connect()
        assert self._service is not None
        return await self._service.command(name, payload, timeout=self.timeout, on_event=self._solicited)

    async def read_storage(self) -> list[UnitReading]:
        """Every cash unit: its atm-ledger/1 form and what the service says of its counts."""
        done = await self._command("Storage.GetStorage")
        self.readings = units.read_storage(done.payload.get("storage"), currency=self.currency)
        return self.readings

    async def read_units(self) -> list[dict[str, Any]]:
        """The cash units exactly as atm-ledger/1 ``units``."""
        return [r.unit for r in await self.read_storage()]

    async def exchange(self, new_initial: Mapping[str, int]) -> list[UnitReading]:
        """Load the new cycle: StartExchange, SetStorage (every unit's new initial count, by
        atm-ledger unit id), EndExchange; then read the units back and check they took it."""
        readings = await self.read_storage()
        payload = units.set_storage_payload(readings, new_initial)  # refuses before sending
        await self._command("Storage.StartExchange")
        try:
            await self._command("Storage.SetStorage", payload)
        except XfsConnectionLost:
            raise
        except XfsError:
            try:  # leave the ATM out of the exchange state; the old counters stand
                await self._command("Storage.EndExchange")
            except XfsError as exc:
                log.warning("EndExchange after a failed SetStorage failed too: %s", exc)
            raise
        await self._command("Storage.EndExchange")
        after = await self.read_storage()
        wrong = [
            r.unit["id"]
            for r in after
            if r.unit["initial"] != new_initial[r.unit["id"]]
            or any(r.unit["out"].values())
            or any(r.unit["in"].values())
        ]
        if wrong:
            raise XfsReplyError(
                f"The exchange completed but units {', '.join(wrong)} do not show the new counts "
                "with zeroed counters. Read the units again and repeat the exchange; if it "
                "persists, ask the bank's IT.",
                f"加钞交换已完成，但钞箱 {'、'.join(wrong)} 未显示新的张数或计数器未清零："
                "请重新读取钞箱并重做加钞交换，如仍失败请联系科技部门。",
            )
        return after

    # -- events -------------------------------------------------------------------------------
    def _solicited(self, msg: Message) -> None:
        if msg.name in STORAGE_EVENTS:
            self._storage_event(msg)

    def _unsolicited(self, msg: Message) -> None:
        if msg.name in STORAGE_EVENTS:
            self._storage_event(msg)
        else:
            log.info("XFS4IoT unsolicited %s ignored", msg.name)

    def _storage_event(self, msg: Message) -> None:
        if self.on_storage_event is None:
            return
        failure = None
        if msg.name == "Storage.StorageErrorEvent":
            unit_map = msg.payload.get("unit") if isinstance(msg.payload.get("unit"), dict) else {}
            failure = msg.payload.get("failure") if isinstance(msg.payload.get("failure"), str) else None
        else:
            unit_map = {k: v for k, v in msg.payload.items() if isinstance(v, dict)}
        known = {r.name: r.unit["id"] for r in self.readings}
        ids, replenishment = [], {}
        for name, unit in unit_map.items():
            uid = unit.get("id") if isinstance(unit.get("id"), str) else known.get(name, name)
            ids.append(uid)
            status = (
                ((unit.get("cash") or {}).get("status") or {}) if isinstance(unit.get("cash"), dict) else {}
            )
            if isinstance(status, dict) and isinstance(status.get("replenishmentStatus"), str):
                replenishment[uid] = status["replenishmentStatus"]
        self.on_storage_event(StorageEvent(msg.name, unit_map, tuple(ids), replenishment, failure))

    async def close(self) -> None:
        if self._service is not None:
            await self._service.close()
            self._service = None


class XfsStorageClient:
    """Blocking face of AsyncStorageClient for a thread without an event loop.

    Everything, callbacks included, runs on the thread that calls it. ``cancel()`` may be
    called from another thread: the command under way is cancelled at the service
    (Common.Cancel) and the blocked call raises XfsCancelled."""

    def __init__(self, publisher_url: str, **kwargs: Any) -> None:
        self._runner = asyncio.Runner()
        self._client = AsyncStorageClient(publisher_url, **kwargs)
        self._task: asyncio.Task | None = None

    @property
    def service_url(self) -> str | None:
        return self._client.service_url

    @property
    def readings(self) -> list[UnitReading]:
        return self._client.readings

    def _run(self, coro) -> Any:
        async def tracked():
            self._task = asyncio.current_task()
            try:
                return await coro
            finally:
                self._task = None

        try:
            return self._runner.run(tracked())
        except asyncio.CancelledError:
            raise XfsCancelled(
                "The XFS4IoT command was cancelled at the custodian's request; the ATM was told "
                "to cancel it too. Start the step again when ready.",
                "已按管机员要求取消 XFS4IoT 命令，并已通知 ATM 取消：准备好后请重新开始这一步。",
                command="(cancelled)",
            ) from None

    def cancel(self) -> None:
        """Cancel the call under way (thread-safe); nothing happens if none is."""
        task = self._task
        if task is not None:
            task.get_loop().call_soon_threadsafe(task.cancel)

    def connect(self) -> str:
        return self._run(self._client.connect())

    def read_storage(self) -> list[UnitReading]:
        return self._run(self._client.read_storage())

    def read_units(self) -> list[dict[str, Any]]:
        return self._run(self._client.read_units())

    def exchange(self, new_initial: Mapping[str, int]) -> list[UnitReading]:
        return self._run(self._client.exchange(new_initial))

    def pump(self, seconds: float = 0.0) -> None:
        """Let the loop run for ``seconds`` so that events already received are delivered."""
        self._run(asyncio.sleep(seconds))

    def close(self) -> None:
        try:
            self._runner.run(self._client.close())
        finally:
            self._runner.close()

    def __enter__(self) -> XfsStorageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
