"""A bank backend simulator: serves the clearing interface (/v1) for real over HTTP(S).

Built on the standard library's ``http.server`` (a thread per connection, HTTP/1.1 keep-alive)
and ``ssl``. It serves from a background thread so that blocking code (tests, the GUI demo, the
``simulate-host`` command) can start it, fetch from it and stop it:

    sim = BackendSimulator([ledger], token="s3cret", page_size=500)
    url = sim.start()          # returns once it is listening
    ...
    sim.stop()                 # clean shutdown: listener, every connection, every thread

Fault options (``Faults``) make it misbehave the way real backends and networks do: slow
replies, 500s (the first N requests, or at random), dropped connections, a truncated body. Every
request is counted (``sim.requests``) so that tests can see what the client really sent.

One module of a little over 500 lines: what is served, the faults and the HTTP plumbing that
carries them out are read and changed together.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
import http.server
import logging
import os
import random
import socket
import socketserver
import ssl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qs, unquote

from custodian_app.backend.errors import BackendError
from custodian_app.backend.paging import PAGE_FORMAT
from custodian_app.domain import formats
from custodian_app.domain.formats import HostLedger

log = logging.getLogger(__name__)

DEFAULT_PAGE_SIZE = 1000
#: every route the simulator serves (docs/openapi.yaml must name each; a test checks)
ROUTES = (
    ("GET", "/v1/health"),
    ("GET", "/v1/terminals/{terminal_id}/cycles/{cycle_id}/ledger"),
)
_CHUNK = 64 * 1024


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
class _Reply:
    """What a handler answers; ``drop`` closes the connection with no reply at all."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    chunked: bool = False
    cut: bool = False  # announce the whole body, send half, then close the connection
    drop: bool = False
    headers: tuple[tuple[str, str], ...] = ()


def _error(status: int, code: str, message: str) -> _Reply:
    return _Reply(status, formats.dumps({"error": {"code": code, "message": message}}))


class BackendSimulator:
    """Serves ``GET /v1/terminals/{t}/cycles/{c}/ledger`` and ``GET /v1/health`` from ledgers.

    ``ledgers``: HostLedger objects or paths of host-ledger/1 files or settlement CSVs.
    ``token``: when set, every ledger request must carry ``Authorization: Bearer <token>``.
    ``page_size``: the default and largest page the simulator sends. ``ssl_context``: serve
    HTTPS with it.
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
        self._raw: dict[tuple[str, str], _Reply] = {}
        self._lock = threading.Lock()
        self.requests: list[RequestRecord] = []
        self._rng = random.Random(self.faults.seed)
        self._ledger_replies = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
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

    def serve_raw(
        self,
        terminal_id: str,
        cycle_id: str,
        body: bytes,
        *,
        status: int = 200,
        content_type: str = "application/json",
        chunked: bool = False,
    ) -> None:
        """Answer the ledger request of this terminal and cycle with exactly these bytes: a
        hostile or broken backend, for tests. ``chunked`` sends it without a Content-Length."""
        with self._lock:
            self._raw[(terminal_id, cycle_id)] = _Reply(status, bytes(body), content_type, chunked)

    def request_count(self, path_contains: str = "") -> int:
        with self._lock:
            return sum(1 for r in self.requests if path_contains in r.path)

    # ------------------------------------------------------------------------------ lifecycle

    def start(self) -> str:
        """Start serving on a background thread; return the base URL once listening."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        self._stopping.clear()
        try:
            server = _Server(self)
        except OSError as exc:
            raise BackendError(
                f"the backend simulator could not start on {self.host}:{self.port}: {exc}"
            ) from exc
        self._server = server
        self.port = server.server_address[1]  # the real port when port=0
        scheme = "https" if self.ssl_context is not None else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"{scheme}://{host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="backend-simulator", daemon=True
        )
        self._thread.start()
        log.info("backend simulator listening on %s", self.base_url)
        return self.base_url

    def stop(self) -> None:
        """Stop serving; closes the listener and every connection and joins every thread.
        Wakes slow replies, which then end without an answer. Idempotent."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping.set()
        server.shutdown()  # serve_forever returns: nothing new is accepted
        thread.join()
        server.close_connections()
        server.server_close()  # joins the connections' threads
        self._server = self._thread = None

    def __enter__(self) -> BackendSimulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------------------ requests

    def _authorized(self, authorization: str | None) -> bool:
        if self._token is None:
            return True
        got = authorization or ""
        want = f"Bearer {self._token}"
        return hmac.compare_digest(got.encode("utf-8", "replace"), want.encode("utf-8"))

    def _answer(self, method: str, raw_path: str, query: str, authorization: str | None) -> _Reply:
        """The faults first (for every request, known route or not), then the route."""
        # recorded on arrival (a slow request counts while it is still waiting); status later
        record = RequestRecord(method, raw_path, query, None, self._authorized(authorization))
        with self._lock:
            self.requests.append(record)
            n = len(self.requests)
        reply = self._faulty(n) or self._route(method, raw_path, query, authorization)
        record.status = 0 if reply.drop or reply.cut else reply.status
        return reply

    def _faulty(self, n: int) -> _Reply | None:
        f = self.faults
        if n <= f.drop_first:  # like a backend that crashed mid-request
            return _Reply(drop=True)
        slow = f.delay > 0 and (f.delay_first is None or n <= f.delay_first)
        if slow and self._stopping.wait(f.delay):
            return _Reply(drop=True)  # shutting down: end the slow reply now
        fail = n <= f.fail_first
        if not fail and f.fail_rate > 0:
            with self._lock:
                fail = self._rng.random() < f.fail_rate
        return _error(500, "internal", "simulated backend failure") if fail else None

    def _route(self, method: str, raw_path: str, query: str, authorization: str | None) -> _Reply:
        # matched segment by segment on the raw path, then each segment unescaped: an id with
        # an escaped "/" in it stays one segment
        parts = raw_path.split("/")
        if raw_path == "/v1/health":
            known = True
        else:
            known = (
                len(parts) == 7
                and parts[:3] == ["", "v1", "terminals"]
                and parts[4] == "cycles"
                and parts[6] == "ledger"
                and all(parts[3:6:2])
            )
        if not known:
            return _Reply(404, b"404: Not Found", "text/plain; charset=utf-8")
        if method != "GET":
            return _Reply(
                405, b"405: Method Not Allowed", "text/plain; charset=utf-8", headers=(("Allow", "GET"),)
            )
        if raw_path == "/v1/health":
            return self._health(authorization)
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        return self._ledger(unquote(parts[3]), unquote(parts[5]), params, authorization)

    def _health(self, authorization: str | None) -> _Reply:
        if authorization is not None and not self._authorized(authorization):
            return _error(401, "unauthorized", "the bearer token was refused")
        body = {
            "status": "ok",
            "api_version": "1",
            "authenticated": (authorization is not None) if self._token else None,
            "server_time": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        return _Reply(200, formats.dumps(body))

    def _ledger(
        self, terminal_id: str, cycle_id: str, params: dict[str, str], authorization: str | None
    ) -> _Reply:
        if not self._authorized(authorization):
            return _error(401, "unauthorized", "missing or refused bearer token")
        with self._lock:
            raw = self._raw.get((terminal_id, cycle_id))
            served = self._served.get((terminal_id, cycle_id))
            known_terminal = any(t == terminal_id for t, _ in [*self._served, *self._raw])
        if raw is not None:
            return self._faulty_body(raw)
        if served is None:
            if not known_terminal:
                return _error(404, "terminal_not_found", f"no terminal {terminal_id!r}")
            return _error(404, "cycle_not_found", f"no cycle {cycle_id!r} for terminal {terminal_id!r}")
        try:
            size = int(params.get("page_size", self.page_size))
        except ValueError:
            return _error(400, "bad_page_size", "page_size must be a whole number")
        if size < 1:
            return _error(400, "bad_page_size", "page_size must be at least 1")
        size = min(size, self.page_size)
        cursor = params.get("cursor")
        offset = 0
        if cursor is not None:
            offset_or_none = self._read_cursor(cursor, served.version)
            if offset_or_none is None or offset_or_none >= len(served.transactions):
                return _error(
                    400,
                    "bad_cursor",
                    "the cursor is not valid for this ledger (it may have changed); start again",
                )
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
            doc = {
                "format": PAGE_FORMAT,
                "terminal_id": terminal_id,
                "cycle_id": cycle_id,
                "page": page,
                "transactions": served.transactions[offset:end],
            }
        return self._faulty_body(_Reply(200, formats.dumps(doc)))

    def _faulty_body(self, reply: _Reply) -> _Reply:
        """The faults of a ledger reply's body: truncated, or cut off in transit."""
        f = self.faults
        with self._lock:
            self._ledger_replies += 1
            nth = self._ledger_replies
        if reply.status != 200:
            return reply
        body = reply.body
        if f.truncate and (f.truncate_first is None or nth <= f.truncate_first):
            body = body[: len(body) // 2]
        return _Reply(200, body, reply.content_type, reply.chunked, cut=nth <= f.cut_first)

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


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive across the pages of a fetch, as a backend does
    server_version = "custodian-backend-simulator"
    sys_version = ""
    timeout = 60  # an idle or silent connection is closed after this
    server: _Server

    def setup(self) -> None:
        ctx = self.server.sim.ssl_context
        if ctx is not None:  # the handshake here, on the connection's thread, never the listener's
            self.request.settimeout(self.timeout)
            self.request = self.server.wrap(self.request, ctx)
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):
                self.request.close()

    def _serve(self) -> None:
        raw_path, _, query = self.path.partition("?")
        reply = self.server.sim._answer(self.command, raw_path, query, self.headers.get("Authorization"))
        if reply.drop:
            self.close_connection = True
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(reply.body), _CHUNK):
                piece = reply.body[i : i + _CHUNK]
                self.wfile.write(b"%X\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        if reply.cut:  # a network failure: half the announced body, then the connection is gone
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.close_connection = True
            return
        self.wfile.write(reply.body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:
        # the request line never holds the token; logged at debug, never to stderr
        log.debug("backend simulator: %s %s", self.address_string(), format % args)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = False  # server_close() joins the connections' threads
    block_on_close = True
    # SO_REUSEADDR lets a restarted simulator take its port back at once; on Windows it would
    # let two listen on one port, so it is left off there
    allow_reuse_address = os.name != "nt"

    def __init__(self, sim: BackendSimulator) -> None:
        self.sim = sim
        self.address_family = socket.AF_INET6 if ":" in sim.host else socket.AF_INET
        # each connection's socket by the one accepted: the TLS one once wrapped
        self._open: dict[socket.socket, socket.socket] = {}
        self._open_lock = threading.Lock()
        super().__init__((sim.host, sim.port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer's own looks the host's name up in DNS, which can hang; the name is not used
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def process_request(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        with self._open_lock:
            self._open[request] = request
        super().process_request(request, client_address)

    def wrap(self, request: socket.socket, ctx: ssl.SSLContext) -> ssl.SSLSocket:
        """The TLS connection over ``request``, which it takes over; handshake done."""
        tls = ctx.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        with self._open_lock:
            self._open[request] = tls
        try:
            tls.do_handshake()
        except BaseException:
            _linger(tls)
            raise
        return tls

    def shutdown_request(self, request) -> None:  # type: ignore[no-untyped-def]
        with self._open_lock:
            self._open.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Wake every connection's thread (waiting for a next request or writing) to end it."""
        with self._open_lock:
            for sock in self._open.values():
                # the plain socket's shutdown: SSLSocket's own would pull its TLS state from
                # under the thread that is using it
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        # a client that hung up, a refused TLS handshake, a shutdown: part of a simulator's day
        log.debug("backend simulator: connection from %s ended", client_address, exc_info=True)


def _linger(tls: ssl.SSLSocket) -> None:
    """Close a connection whose handshake failed so that the client reads the TLS alert: with
    TLS 1.3 the client has already sent its request, and closing with that unread would reset
    the connection and lose the alert on the way (the client would see a bare EOF or not,
    by chance)."""
    try:
        socket.socket.shutdown(tls, socket.SHUT_WR)  # after the alert, on the plain socket
        tls.settimeout(1.0)
        while socket.socket.recv(tls, _CHUNK):  # the client hangs up once it has read the alert
            pass
    except OSError:
        pass
    finally:
        tls.close()  # the accepted socket is the TLS one's now: close it here


def tls_context(
    cert_file: str | os.PathLike, key_file: str | os.PathLike, client_ca: str | os.PathLike | None = None
) -> ssl.SSLContext:
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
        raise BackendError(
            f"cannot load the TLS certificate {cert_file} / key {key_file}"
            f"{f' / client CA {client_ca}' if client_ca else ''}: {exc}"
        ) from exc
    return ctx
