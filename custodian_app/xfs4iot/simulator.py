"""An XFS4IoT service simulator on loopback, for the tests and the demo.

It serves, on one port, the service publisher (``/xfs4iot/v1.0``), a cash service
(``…/CashDispenser1``: Common, Storage, CashManagement, CashDispenser) and a card reader
(``…/CardReader1``, so that discovery has to choose). The cash units are built from an
atm-ledger/1 document's ``units``. Each command is acknowledged, may produce events, and is
completed, in the 2021 or the 2023 header style; unsolicited Storage events are sent on demand
and after an exchange. Faults, per command name: ``no-answer`` (nothing, until cancelled),
``deaf`` (nothing, not even to Common.Cancel), ``hardware-error`` (completion
``hardwareError``), ``drop`` (acknowledge, then the socket is cut), ``slow`` (completion after
``slow_seconds``), ``refuse`` (an acknowledge saying ``tooManyRequests``, and nothing more),
``garbage`` (acknowledge, then a completion that is not JSON).

``SimulatorThread`` runs it on its own thread and event loop, as a real ATM service is in
another process; tests and the ``simulate-xfs4iot`` command use it.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import ssl
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from custodian_app.xfs4iot import messages, units
from custodian_app.xfs4iot.client import PUBLISHER_PATH
from custodian_app.xfs4iot.errors import XfsError
from custodian_app.xfs4iot.messages import Message

log = logging.getLogger(__name__)

FAULTS = ("no-answer", "deaf", "hardware-error", "drop", "slow", "refuse", "garbage")
CASH_SERVICE = "CashDispenser1"
CARD_SERVICE = "CardReader1"
INTERFACES = {
    CASH_SERVICE: ("Common", "Storage", "CashManagement", "CashDispenser"),
    CARD_SERVICE: ("Common", "CardReader"),
}
# Counters a new initial does not reset (intermediate positions), per the standard.
_KEPT = {("out", "stacked"), ("out", "diverted"), ("out", "transport"), ("in", "transport")}


class _Session:
    """One client connection: its commands under way, by requestId."""

    def __init__(self, ws: ServerConnection, service: str) -> None:
        self.ws = ws
        self.service = service
        self.running: dict[int, asyncio.Task] = {}


class XfsSimulator:
    """The simulated services. Use from its own event loop (see SimulatorThread)."""

    def __init__(
        self,
        ledger_units: Iterable[Mapping[str, Any]],
        *,
        style: str = messages.STYLE_2023,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
        faults: Mapping[str, str] | None = None,
        slow_seconds: float = 0.0,
        services: Iterable[str] = (CARD_SERVICE, CASH_SERVICE),
    ) -> None:
        if style not in messages.STYLES:
            raise ValueError(f"header style {style!r}: use one of {', '.join(messages.STYLES)}")
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("the simulator listens on loopback only")
        self.style = style
        self.host, self.port = host, port
        self.ssl_context = ssl_context
        self.faults: dict[str, str] = {}
        for name, fault in (faults or {}).items():
            self.set_fault(name, fault)
        self.slow_seconds = slow_seconds
        self.services = tuple(services)  # those the publisher lists
        ledger_units = list(ledger_units)
        for u in ledger_units:
            if u["value"] is not None and Decimal(u["value"]) != Decimal(u["value"]).to_integral_value():
                # The standard writes a denomination as a JSON number; a fraction would need a float.
                raise ValueError(f"unit {u['id']}: the simulator serves whole denominations only")
        self.storage: dict[str, dict[str, Any]] = dict(
            units.storage_unit(u, i) for i, u in enumerate(ledger_units, start=1)
        )
        self.exchange_active = False
        self.received: list[Message] = []
        self._sessions: set[_Session] = set()
        self._server: Server | None = None

    def set_fault(self, command: str, fault: str | None) -> None:
        """Make ``command`` (``*``: every command) misbehave (one of FAULTS), or behave again (None)."""
        if fault is None:
            self.faults.pop(command, None)
        elif fault not in FAULTS:
            raise ValueError(f"fault {fault!r}: use one of {', '.join(FAULTS)}")
        else:
            self.faults[command] = fault

    @property
    def publisher_url(self) -> str:
        return f"{'wss' if self.ssl_context else 'ws'}://{self.host}:{self.port}{PUBLISHER_PATH}"

    def service_url(self, service: str) -> str:
        return f"{self.publisher_url}/{service}"

    async def start(self) -> None:
        self._server = await serve(
            self._handle,
            self.host,
            self.port,
            ssl=self.ssl_context,
            process_request=self._route,
            ping_interval=None,
            max_size=messages.MAX_MESSAGE,
            compression=None,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    # -- the connections ----------------------------------------------------------------------
    def _service_of(self, path: str) -> str | None:
        """ "" for the publisher, a service's name, or None for no such endpoint."""
        if path == PUBLISHER_PATH:
            return ""
        name = path.rsplit("/", 1)[1]
        return name if path == f"{PUBLISHER_PATH}/{name}" and name in INTERFACES else None

    def _route(self, ws: ServerConnection, request: Any) -> Any:
        if self._service_of(request.path) is None:
            return ws.respond(HTTPStatus.NOT_FOUND, "no such XFS4IoT endpoint\n")
        return None

    async def _handle(self, ws: ServerConnection) -> None:
        session = _Session(ws, self._service_of(ws.request.path) or "")
        self._sessions.add(session)
        try:
            async for raw in ws:
                try:
                    msg = messages.decode(raw)
                except XfsError:
                    log.warning("simulator: malformed message ignored")
                    continue
                if msg.type != "command" or msg.request_id is None:
                    continue
                self.received.append(msg)
                fault = self.faults.get(msg.name) or self.faults.get("*")
                if fault in ("no-answer", "deaf"):
                    session.running[msg.request_id] = asyncio.get_running_loop().create_future()
                    if fault == "deaf":
                        session.running.pop(msg.request_id)
                    continue
                if fault == "refuse":
                    await ws.send(
                        messages.encode_acknowledge(
                            msg.name, msg.request_id, style=self.style, status="tooManyRequests"
                        )
                    )
                    continue
                await ws.send(messages.encode_acknowledge(msg.name, msg.request_id, style=self.style))
                if fault == "garbage":
                    await ws.send('{"header": {"name": "' + msg.name + '", "requestId": ')
                    continue
                if fault == "drop":
                    ws.transport.abort()  # cut, no close frame: what a crashed service looks like
                    return
                if msg.name == "Common.Cancel":
                    await self._cancel(session, msg)
                    continue
                task = asyncio.get_running_loop().create_task(self._run(session, msg, fault))
                session.running[msg.request_id] = task
                task.add_done_callback(lambda _t, rid=msg.request_id: session.running.pop(rid, None))
        except ConnectionClosed:
            pass
        finally:
            self._sessions.discard(session)
            for task in session.running.values():
                task.cancel()

    async def _complete(
        self,
        session: _Session,
        msg: Message,
        payload: dict | None = None,
        code: str = "success",
        description: str | None = None,
    ) -> None:
        try:
            await session.ws.send(
                messages.encode_completion(
                    msg.name, msg.request_id, payload, style=self.style, code=code, description=description
                )
            )
        except ConnectionClosed:
            pass

    async def _cancel(self, session: _Session, msg: Message) -> None:
        wanted = msg.payload.get("requestIds")
        ids = list(session.running) if wanted is None else [i for i in wanted if i in session.running]
        for rid in ids:
            running = session.running.pop(rid)
            running.cancel()
            name = next((m.name for m in reversed(self.received) if m.request_id == rid), "?")
            await session.ws.send(
                messages.encode_completion(name, rid, {}, style=self.style, code="canceled")
            )
        if ids:
            await self._complete(session, msg)
        else:
            await self._complete(session, msg, {"errorCode": "noMatchingRequestIDs"}, "commandErrorCode")

    async def _run(self, session: _Session, msg: Message, fault: str | None) -> None:
        try:
            if fault == "slow":
                await asyncio.sleep(self.slow_seconds)
            if fault == "hardware-error":
                await self._complete(
                    session,
                    msg,
                    {},
                    "hardwareError",
                    "simulated fault: the dispenser's pick module reports an error",
                )
                return
            payload, code = await self._answer(session, msg)
            if code == "success":
                await self._complete(session, msg, payload)
            else:
                await self._complete(session, msg, payload, code)
        except asyncio.CancelledError:
            pass

    async def _answer(self, session: _Session, msg: Message) -> tuple[dict | None, str]:
        name, p = msg.name, msg.payload
        if name == "ServicePublisher.GetServices" and session.service == "":
            services = {
                "vendorName": "custodian_app XFS4IoT simulator",
                "services": [{"serviceURI": self.service_url(s)} for s in self.services],
            }
            await session.ws.send(
                messages.encode_event(
                    "ServicePublisher.ServiceDetailEvent", msg.request_id, services, style=self.style
                )
            )
            return services, "success"
        if name == "Common.Capabilities" and session.service:
            return {"interfaces": [{"name": n} for n in INTERFACES[session.service]]}, "success"
        if not name.startswith("Storage.") or session.service != CASH_SERVICE:
            return None, "unsupportedCommand"
        if name == "Storage.GetStorage":
            return {"storage": copy.deepcopy(self.storage)}, "success"
        if name == "Storage.StartExchange":
            if self.exchange_active:
                return {"errorCode": "exchangeActive"}, "commandErrorCode"
            self.exchange_active = True
            return None, "success"
        if not self.exchange_active:
            return {"errorCode": "noExchangeActive"}, "commandErrorCode"
        if name == "Storage.SetStorage":
            return self._set_storage(p.get("storage"))
        if name == "Storage.EndExchange":
            self.exchange_active = False
            await self.emit("Storage.StorageChangedEvent", copy.deepcopy(self.storage))
            return None, "success"
        return None, "unsupportedCommand"

    def _set_storage(self, changes: Any) -> tuple[dict | None, str]:
        if not isinstance(changes, dict) or any(n not in self.storage for n in changes):
            return {"errorCode": "invalidUnit"}, "commandErrorCode"
        for name, change in changes.items():
            initial = (((change or {}).get("cash") or {}).get("status") or {}).get("initial")
            if initial is None:
                continue
            status = self.storage[name]["cash"]["status"]
            status["initial"] = copy.deepcopy(initial)
            for direction in ("out", "in"):
                for key in list(status.get(direction) or {}):
                    if (direction, key) not in _KEPT:
                        status[direction][key] = {"unrecognized": 0}
            status["accuracy"] = "accurateSet"
        return None, "success"

    async def emit(self, name: str, payload: dict) -> None:
        """Send an unsolicited event to every client of the cash service."""
        text = messages.encode_event(name, None, payload, style=self.style)
        for session in list(self._sessions):
            if session.service == CASH_SERVICE:
                try:
                    await session.ws.send(text)
                except ConnectionClosed:
                    pass

    async def threshold(self, unit_id: str, replenishment_status: str) -> None:
        """Set a unit's replenishmentStatus and send Storage.StorageThresholdEvent for it."""
        name = next(n for n, u in self.storage.items() if u["id"] == unit_id)
        self.storage[name]["cash"]["status"]["replenishmentStatus"] = replenishment_status
        await self.emit(
            "Storage.StorageThresholdEvent",
            {name: {"cash": {"status": {"replenishmentStatus": replenishment_status}}}},
        )


class SimulatorThread:
    """An XfsSimulator on its own thread and event loop (a context manager)."""

    def __init__(self, ledger_units: Iterable[Mapping[str, Any]], **kwargs: Any) -> None:
        self.simulator = XfsSimulator(list(ledger_units), **kwargs)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="xfs4iot-simulator", daemon=True)

    @property
    def publisher_url(self) -> str:
        return self.simulator.publisher_url

    def call(self, coro_or_fn) -> Any:
        """Run a coroutine (or a plain function) on the simulator's loop and return its result."""

        async def wrap():
            result = coro_or_fn() if callable(coro_or_fn) else coro_or_fn
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(wrap(), self._loop).result(timeout=30)

    def start(self) -> SimulatorThread:
        self._thread.start()
        self.call(self.simulator.start())
        return self

    def stop(self) -> None:
        try:
            self.call(self.simulator.stop())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()

    def __enter__(self) -> SimulatorThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
