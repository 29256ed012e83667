"""A bank backend simulator: serves the clearing interface (/v1) for real over HTTP(S).

Built on aiohttp (already a dependency; a well-kept asyncio HTTP server with TLS support). It
runs its own event loop on a background thread so that blocking code (tests, the GUI demo, the
``simulate-host`` command) can start it, fetch from it and stop it:

    sim = BackendSimulator([ledger], token="s3cret", page_size=500)
    url = sim.start()          # returns once it is listening
    ...
    sim.stop()                 # clean shutdown: sockets, loop, thread

Fault options (``Faults``) make it misbehave the way real backends and networks do: slow
replies, 500s (the first N requests, or at random), dropped connections, a truncated body. Every
request is counted (``sim.requests``) so that tests can see what the client really sent.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import logging
import os
import random
import ssl
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterable

import orjson
from aiohttp import web

from custodian_app.backend.client import PAGE_FORMAT
from custodian_app.backend.errors import BackendError
from custodian_app.domain import formats
from custodian_app.domain.formats import HostLedger

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000
#: every route the simulator serves (docs/openapi.yaml must name each; a test checks)
ROUTES = (
    ("GET", "/v1/health"),
    ("GET", "/v1/terminals/{terminal_id}/cycles/{cycle_id}/ledger"),
)


@dataclass(slots=True)
class Faults:
    """How the simulator misbehaves. Counts apply to ledger and health requests alike, in the
    order they arrive."""

    delay: float = 0.0  # seconds before each reply ...
    delay_first: int | None = None  # ... only for the first N requests (None: all)
    fail_first: int = 0  # the first N requests answer 500
    fail_rate: float = 0.0  # then each request answers 500 with this probability
    drop_first: int = 0  # the first N requests get their connection closed, no reply
    truncate: bool = False  # ledger replies are cut in half (Content-Length of the cut body)
    truncate_first: int | None = None  # ... only the first N ledger replies (None: all)
    cut_first: int = 0  # the first N ledger replies lose their connection halfway through the body
    seed: int | None = None  # for fail_rate


@dataclass(slots=True)
class RequestRecord:
    method: str
    path: str  # as sent (percent-escapes kept)
    query: str
    status: int | None  # None while in progress, 0 when the connection was dropped
    authorized: bool


@dataclass(slots=True)
class _Served:
    header: dict  # the document without transactions
    transactions: list[dict]
    version: str  # changes when the ledger does: a cursor is bound to it


@dataclass(slots=True)
class _Raw:
    body: bytes
    status: int
    content_type: str
    chunked: bool


class BackendSimulator:
    """Serves ``GET /v1/terminals/{t}/cycles/{c}/ledger`` and ``GET /v1/health`` from ledgers.

    ``ledgers``: HostLedger objects or paths of host-ledger/1 files or settlement CSVs. ``token``: when set, every
    ledger request must carry ``Authorization: Bearer <token>``. ``page_size``: the default and
    largest page the simulator sends. ``ssl_context``: serve HTTPS with it.
    """

    def __init__(
        self,
        ledgers: Iterable[HostLedger | str | os.PathLike] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
        ssl_context: ssl.SSLContext | None = None,
        faults: Faults | None = None,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.host = host
        self.port = port
        self.page_size = page_size
        self.ssl_context = ssl_context
        self.faults = faults or Faults()
        self._token = token
        self._served: dict[tuple[str, str], _Served] = {}
        self._raw: dict[tuple[str, str], _Raw] = {}
        self._lock = threading.Lock()
        self.requests: list[RequestRecord] = []
        self._rng = random.Random(self.faults.seed)
        self._ledger_replies = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._cursor_key = os.urandom(16)
        self.base_url: str | None = None
        for ledger in ledgers:
            self.add_ledger(ledger)

    # ------------------------------------------------------------------------------ content

    def add_ledger(self, ledger: HostLedger | str | os.PathLike) -> HostLedger:
        """Serve a ledger (replacing one of the same terminal and cycle). Thread-safe."""
        if not isinstance(ledger, HostLedger):
            # a host-ledger/1 file or a settlement CSV: whatever the bank's IT handed over
            from custodian_app.backend.settlement import import_settlement

            ledger = import_settlement(ledger)
        doc = formats.host_ledger_to_dict(ledger)
        transactions = doc.pop("transactions")
        version = hashlib.sha256(formats.dumps({**doc, "transactions": transactions})).hexdigest()[:16]
        with self._lock:
            self._served[(ledger.terminal_id, ledger.cycle_id)] = _Served(doc, transactions, version)
            self._raw.pop((ledger.terminal_id, ledger.cycle_id), None)
        return ledger

    def serve_raw(self, terminal_id: str, cycle_id: str, body: bytes, *, status: int = 200,
                  content_type: str = "application/json", chunked: bool = False) -> None:
        """Answer the ledger request of this terminal and cycle with exactly these bytes: a
        hostile or broken backend, for tests. ``chunked`` sends it without a Content-Length."""
        with self._lock:
            self._raw[(terminal_id, cycle_id)] = _Raw(bytes(body), status, content_type, chunked)

    def request_count(self, path_contains: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if path_contains in r.path)

    # ------------------------------------------------------------------------------ lifecycle

    def start(self, timeout: float = 10.0) -> str:
        """Start serving on a background thread; return the base URL once listening."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        started = threading.Event()
        failure: list[BaseException] = []
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            try:
                self._loop.run_until_complete(self._start_server())
            except BaseException as exc:  # reported to start()'s caller
                failure.append(exc)
                self._loop.run_until_complete(self._stop_server())  # release what was set up
                started.set()
                return
            started.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._stop_server())

        self._thread = threading.Thread(target=run, name="backend-simulator", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or failure:
            self._join()
            exc = failure[0] if failure else TimeoutError("the simulator did not start in time")
            raise BackendError(f"the backend simulator could not start on {self.host}:{self.port}: {exc}") from exc
        assert self.base_url is not None
        return self.base_url

    def stop(self) -> None:
        """Stop serving; closes every connection, the loop and the thread. Idempotent."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._begin_stop)
        self._join()

    def _begin_stop(self) -> None:
        assert self._stopping is not None and self._loop is not None
        self._stopping.set()  # wakes slow replies so that they end now
        self._loop.stop()

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join(30)
            self._thread = None
        if self._loop is not None:
            self._loop.close()
            self._loop = None

    def __enter__(self) -> "BackendSimulator":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    async def _start_server(self) -> None:
        self._stopping = asyncio.Event()
        app = web.Application(middlewares=[self._faults_middleware])
        handlers = {"/v1/health": self._health,
                    "/v1/terminals/{terminal_id}/cycles/{cycle_id}/ledger": self._ledger}
        for method, path in ROUTES:
            app.router.add_route(method, path, handlers[path])
        # access_log=None: the default access log would write the request line; ours never
        # holds the token, but the simulator logs what it wants itself.
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        sock = site._server.sockets[0]  # the real port when port=0
        self.port = sock.getsockname()[1]
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"{scheme}://{host}:{self.port}"
        log.info("backend simulator listening on %s", self.base_url)

    async def _stop_server(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        # let the transports' close callbacks run before the loop closes
        await asyncio.sleep(0)

    # ------------------------------------------------------------------------------ handlers

    def _authorized(self, request: web.Request) -> bool:
        if self._token is None:
            return True
        got = request.headers.get("Authorization", "")
        want = f"Bearer {self._token}"
        return hmac.compare_digest(got.encode("utf-8", "replace"), want.encode("utf-8"))

    @web.middleware
    async def _faults_middleware(self, request: web.Request, handler) -> web.StreamResponse:
        f = self.faults
        # recorded on arrival (a slow request counts while it is still waiting); status later
        record = RequestRecord(request.method, request.rel_url.raw_path, request.query_string, None,
                               self._authorized(request))
        with self._lock:
            self.requests.append(record)
            n = len(self.requests)
        if n <= f.drop_first:
            record.status = 0
            # close the connection with no reply at all, like a backend that crashed mid-request
            transport = request.transport
            if transport is not None:
                transport.abort()
            raise asyncio.CancelledError()
        if f.delay > 0 and (f.delay_first is None or n <= f.delay_first):
            assert self._stopping is not None
            try:
                await asyncio.wait_for(self._stopping.wait(), f.delay)
            except asyncio.TimeoutError:
                pass
        fail = n <= f.fail_first
        if not fail and f.fail_rate > 0:
            with self._lock:
                fail = self._rng.random() < f.fail_rate
        if fail:
            record.status = 500
            return _error(500, "internal", "simulated backend failure")
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            record.status = exc.status
            raise
        record.status = response.status
        return response

    async def _health(self, request: web.Request) -> web.Response:
        if "Authorization" in request.headers and not self._authorized(request):
            return _error(401, "unauthorized", "the bearer token was refused")
        body = {
            "status": "ok",
            "api_version": "1",
            "authenticated": ("Authorization" in request.headers) if self._token else None,
            "server_time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        return web.Response(body=formats.dumps(body), content_type="application/json")

    async def _ledger(self, request: web.Request) -> web.StreamResponse:
        if not self._authorized(request):
            return _error(401, "unauthorized", "missing or refused bearer token")
        terminal_id = request.match_info["terminal_id"]
        cycle_id = request.match_info["cycle_id"]
        with self._lock:
            raw = self._raw.get((terminal_id, cycle_id))
            served = self._served.get((terminal_id, cycle_id))
            known_terminal = any(t == terminal_id for t, _ in [*self._served, *self._raw])
        if raw is not None:
            return await self._send(request, raw.body, raw.status, raw.content_type, raw.chunked)
        if served is None:
            if not known_terminal:
                return _error(404, "terminal_not_found", f"no terminal {terminal_id!r}")
            return _error(404, "cycle_not_found", f"no cycle {cycle_id!r} for terminal {terminal_id!r}")
        try:
            size = int(request.query.get("page_size", self.page_size))
        except ValueError:
            return _error(400, "bad_page_size", "page_size must be a whole number")
        if size < 1:
            return _error(400, "bad_page_size", "page_size must be at least 1")
        size = min(size, self.page_size)
        cursor = request.query.get("cursor")
        offset = 0
        if cursor is not None:
            offset_or_none = self._read_cursor(cursor, served.version)
            if offset_or_none is None or offset_or_none >= len(served.transactions):
                return _error(400, "bad_cursor",
                              "the cursor is not valid for this ledger (it may have changed); start again")
            offset = offset_or_none
        total = len(served.transactions)
        pages_total = max(1, -(-total // size))
        end = min(offset + size, total)
        page = {
            "index": offset // size,
            "pages_total": pages_total,
            "transactions_total": total,
            "next_cursor": self._make_cursor(end, served.version) if end < total else None,
        }
        if cursor is None and total <= size:
            doc = {**served.header, "transactions": served.transactions}  # one page: plain document
        elif cursor is None:
            doc = {**served.header, "page": page, "transactions": served.transactions[offset:end]}
        else:
            doc = {"format": PAGE_FORMAT, "terminal_id": terminal_id, "cycle_id": cycle_id,
                   "page": page, "transactions": served.transactions[offset:end]}
        return await self._send(request, formats.dumps(doc), 200, "application/json", False)

    async def _send(self, request: web.Request, body: bytes, status: int, content_type: str,
                    chunked: bool) -> web.StreamResponse:
        f = self.faults
        with self._lock:
            self._ledger_replies += 1
            nth = self._ledger_replies
        if status == 200 and f.truncate and (f.truncate_first is None or nth <= f.truncate_first):
            body = body[: len(body) // 2]
        if status == 200 and nth <= f.cut_first:
            # announce the whole body, send half, then lose the connection: a network failure
            response = web.StreamResponse(status=status)
            response.content_type = content_type
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body[: len(body) // 2])
            await response.drain()
            request.transport.abort()
            raise asyncio.CancelledError()
        if not chunked:
            return web.Response(body=body, status=status, content_type=content_type)
        response = web.StreamResponse(status=status)
        response.content_type = content_type
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(0, len(body), 64 * 1024):
            await response.write(body[i:i + 64 * 1024])
        await response.write_eof()
        return response

    def _make_cursor(self, offset: int, version: str) -> str:
        """Opaque to the client; bound to the ledger's version and signed, so a stale or forged
        cursor is refused instead of giving a page of some other ledger."""
        payload = f"{version}:{offset}".encode()
        mac = hmac.new(self._cursor_key, payload, "sha256").digest()[:8]
        return base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")

    def _read_cursor(self, cursor: str, version: str) -> int | None:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            return None
        payload, mac = raw[:-8], raw[-8:]
        if not hmac.compare_digest(mac, hmac.new(self._cursor_key, payload, "sha256").digest()[:8]):
            return None
        got_version, _, offset = payload.decode("ascii", "replace").partition(":")
        if got_version != version or not offset.isdigit():
            return None
        return int(offset)


def _error(status: int, code: str, message: str) -> web.Response:
    return web.Response(body=formats.dumps({"error": {"code": code, "message": message}}),
                        status=status, content_type="application/json")


def tls_context(cert_file: str | os.PathLike, key_file: str | os.PathLike,
                client_ca: str | os.PathLike | None = None) -> ssl.SSLContext:
    """A server-side TLS context from a PEM certificate (chain) and key. With ``client_ca``,
    clients must present a certificate signed by it (mutual TLS)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(os.fspath(cert_file), os.fspath(key_file))
        if client_ca is not None:
            ctx.load_verify_locations(os.fspath(client_ca))
            ctx.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise BackendError(f"cannot load the TLS certificate {cert_file} / key {key_file}"
                           f"{f' / client CA {client_ca}' if client_ca else ''}: {exc}") from exc
    return ctx
