"""The bank backend client: fetch a cycle's host-ledger/1 over HTTPS, refuse anything doubtful.

Blocking by design: the GUI runs it on a worker thread and passes a ``progress`` callback and a
``cancel`` event. Built on the standard library (``http.client`` + ``ssl``) rather than a third
party HTTP library: it gives exact control over timeouts, body-size limits, streaming reads for
progress and cancellation, and certificate verification with a custom CA bundle, with nothing to
audit beyond CPython itself (see docs/backend-api.md).

The interface (docs/backend-api.md, docs/openapi.yaml):

- ``GET /v1/terminals/{terminal_id}/cycles/{cycle_id}/ledger[?page_size=&cursor=]``
  answers a host-ledger/1 document. A large ledger comes in pages: the first page is the
  document (header, totals, its share of ``transactions``) plus ``page`` =
  ``{"index", "pages_total", "transactions_total", "next_cursor"}``; each further page,
  asked for with ``cursor=<next_cursor>``, is ``{"format": "host-ledger-page/1",
  "terminal_id", "cycle_id", "page", "transactions"}``. The client assembles the pages and
  validates the assembled document with the same code that reads a file; any fault anywhere
  refuses the whole reply.
- ``GET /v1/health`` answers ``{"status": "ok", "api_version": "1", "authenticated": bool,
  "server_time": ...}``.
- Errors are ``{"error": {"code": "...", "message": "..."}}`` with a 4xx/5xx status.

Retries (with exponential backoff) happen on connection errors, timeouts and 5xx only; a 4xx
or a bad reply is never retried. The bearer token goes into the Authorization header and
nowhere else: not into logs, not into messages, not into ``repr``.

This module holds the client and its settings; the connection, retries and deadline are in
``custodian_app.backend.session``, the checks of the reply and its pages in
``custodian_app.backend.paging``.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from custodian_app import __version__
from custodian_app.backend.errors import BackendError, BackendMismatch, BackendReplyError
from custodian_app.backend.paging import LedgerChanged, read_pages
from custodian_app.backend.session import Fetch, Progress, Session, short
from custodian_app.domain import fields, formats
from custodian_app.domain.errors import add_secret
from custodian_app.domain.formats import FormatError, HostLedger

log = logging.getLogger(__name__)

API_PREFIX = "/v1"
MiB = 1024 * 1024

_MAX_RESTARTS = 2  # when the ledger changes between pages
_MAX_ID_LEN = 32  # host-ledger/1: terminal_id and cycle_id are 1 to 32 characters


@dataclass(frozen=True, slots=True)
class Health:
    """What ``GET /v1/health`` said."""

    status: str
    api_version: str
    authenticated: bool | None  # None when no token was sent
    server_time: str | None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackendClient:
    """Talks to the bank backend's clearing interface (``/v1``). One instance per backend;
    each call opens its own connection, so a client may be shared, but a call blocks."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        ca_bundle: str | os.PathLike | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        backoff: float = 0.5,
        *,
        page_size: int = 5000,
        deadline: float = 300.0,
        max_reply_bytes: int = 64 * MiB,
        max_ledger_bytes: int = 512 * MiB,
        allow_plain_http: bool = False,
        client_cert: str | os.PathLike | None = None,
        client_key: str | os.PathLike | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendError(
                f"backend URL {short(base_url, 80)!r} is not an http(s) URL like "
                "https://backend.bank.example:8443; check the backend URL in the settings"
            )
        if parts.username or parts.password or parts.query or parts.fragment:
            # credentials in the URL would end up in logs; the token has its own setting
            raise BackendError(
                "the backend URL must not carry credentials, a query or a fragment; "
                "put the token in the token setting"
            )
        if parts.scheme == "http" and not allow_plain_http and not _is_loopback(parts.hostname):
            raise BackendError(
                f"refusing plain http to {parts.hostname}: the token and the ledger would cross the "
                "network unencrypted; use an https:// backend URL"
            )
        if token is not None and (not token or any(c in token for c in "\r\n\0 ")):
            raise BackendError(
                "the backend token is empty or contains spaces or line breaks; "
                "check the token in the settings (it is not shown here)"
            )
        # from here on no message or log line may show it, whatever repeats it (a server's
        # error text, a traceback): the token may come from --token, not only the settings
        add_secret(token)
        if timeout is None or timeout <= 0 or retries < 0 or backoff < 0 or page_size < 1 or deadline <= 0:
            raise ValueError("timeout, deadline and page_size must be > 0, retries and backoff >= 0")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        prefix = parts.path.rstrip("/")
        if prefix.endswith(API_PREFIX):  # accept a base URL given with the version already
            prefix = prefix[: -len(API_PREFIX)]
        self._prefix = prefix
        self.base_url = f"{parts.scheme}://{parts.netloc}{prefix}"
        self._token = token
        self.ca_bundle = None if ca_bundle is None else os.fspath(ca_bundle)
        # mutual TLS, where the bank's backend wants to know the branch PC too
        self.client_cert = None if client_cert is None else os.fspath(client_cert)
        self.client_key = None if client_key is None else os.fspath(client_key)
        if self.client_key is not None and self.client_cert is None:
            raise BackendError("a client key without a client certificate; give both")
        self.timeout = float(timeout)
        # a whole call (all pages, retries, waits) ends by then: a backend trickling its reply
        # a few bytes at a time never trips the per-read ``timeout``
        self.deadline = float(deadline)
        self.retries = int(retries)
        self.backoff = float(backoff)
        self.page_size = int(page_size)
        self.max_reply_bytes = int(max_reply_bytes)
        self.max_ledger_bytes = int(max_ledger_bytes)
        self._ssl_context = self._make_ssl_context() if self.scheme == "https" else None

    @classmethod
    def from_settings(cls, settings: Any, **overrides: Any) -> BackendClient:
        """A client from ``custodian_app.settings.config.Settings`` (backend.url, .token, .ca_bundle,
        .timeout); keyword arguments override or add (retries, page_size ...)."""
        if not settings.backend_url:
            raise BackendError(
                "no backend URL is configured; set it in the settings, or import "
                "the backend's settlement file instead"
            )
        options: dict[str, Any] = {
            "token": settings.backend_token or None,
            "ca_bundle": settings.backend_ca_bundle or None,
            "timeout": settings.backend_timeout,
            # mutual TLS, when the settings carry it (keys backend.client_cert / .client_key)
            "client_cert": getattr(settings, "backend_client_cert", "") or None,
            "client_key": getattr(settings, "backend_client_key", "") or None,
        }
        options.update(overrides)
        return cls(settings.backend_url, **options)

    def __repr__(self) -> str:  # never the token
        return f"BackendClient({self.base_url!r}, token={'set' if self._token else 'none'})"

    # ------------------------------------------------------------------------------ public API

    def health(self, cancel: threading.Event | None = None) -> Health:
        """Ask ``GET /v1/health``. With a token, also says whether the backend accepts it
        (``authenticated``); a refused token raises BackendAuthError."""
        session = Session(self, None, time.monotonic() + self.deadline)
        try:
            body = session.get(
                f"{API_PREFIX}/health", {}, what="the health check", cancel=cancel, not_found=None
            )
        finally:
            session.close()
        try:
            doc = formats.decode(body, "the health reply")
        except FormatError as exc:
            raise BackendReplyError(
                f"the backend's health reply is refused ({exc}); is the URL that of the clearing interface?",
                exc.path,
            ) from None
        if type(doc.get("status")) is not str:
            raise BackendReplyError(
                "the backend's health reply has no 'status'; is the URL that of the clearing interface?",
                "$.status",
            )
        auth = doc.get("authenticated")
        server_time = doc.get("server_time")
        return Health(
            status=short(doc["status"], 40),
            api_version=short(doc.get("api_version", "?"), 20),
            authenticated=auth if type(auth) is bool else None,
            server_time=server_time if type(server_time) is str else None,
        )

    def fetch_ledger(
        self,
        terminal_id: str,
        cycle_id: str,
        progress: Progress | None = None,
        cancel: threading.Event | None = None,
        *,
        expect_currency: str | None = None,
    ) -> HostLedger:
        """Fetch the backend's host-ledger/1 for one terminal's cycle, all pages, validated.

        Raises a BackendError subclass; on any fault nothing is returned (the reply is refused
        as a whole). ``expect_currency`` (the ATM's currency) is checked like terminal and cycle.
        """
        for name, value in (("terminal id", terminal_id), ("cycle id", cycle_id)):
            if type(value) is not str or not (1 <= len(value) <= _MAX_ID_LEN) or not value.isprintable():
                raise BackendError(f"the {name} must be 1 to {_MAX_ID_LEN} printable characters")
        path = (
            f"{API_PREFIX}/terminals/{quote(terminal_id, safe='')}/cycles/{quote(cycle_id, safe='')}/ledger"
        )
        source = f"backend ledger of terminal {terminal_id} cycle {cycle_id}"
        started = time.monotonic()
        fetch = Fetch(progress)
        ends = started + self.deadline
        for restart in range(_MAX_RESTARTS + 1):
            try:
                ledger = self._fetch_pages(path, terminal_id, cycle_id, source, fetch, cancel, ends)
                break
            except LedgerChanged as changed:
                if restart == _MAX_RESTARTS:
                    raise BackendReplyError(
                        f"{source}: the backend's ledger kept changing while it was being fetched "
                        f"({changed}); try again when the backend has finished booking the cycle",
                        "$.page",
                    ) from None
                log.info(
                    "the backend's ledger of %s/%s changed during the fetch (%s); starting again",
                    terminal_id,
                    cycle_id,
                    changed,
                )
                fetch.restart()
        wanted = {"terminal_id": terminal_id, "cycle_id": cycle_id}
        if expect_currency is not None:
            wanted["currency"] = expect_currency
        for key, want in wanted.items():
            got = getattr(ledger, key)
            if got != want:
                raise BackendMismatch(
                    f"{source}: $.{key} is {fields.show(got)}, not {want!r} as "
                    f"{'the ATM has' if key == 'currency' else 'asked'}; the backend's ledger is for "
                    "another clearing and was refused as a whole",
                    f"$.{key}",
                )
        log.info(
            "fetched the backend ledger of %s/%s: %d transaction(s), %d page(s), %d bytes, %.2f s",
            terminal_id,
            cycle_id,
            len(ledger.transactions),
            fetch.pages_done,
            fetch.bytes_done,
            time.monotonic() - started,
        )
        return ledger

    # ------------------------------------------------------------------------------ internals

    def _fetch_pages(
        self,
        path: str,
        terminal_id: str,
        cycle_id: str,
        source: str,
        fetch: Fetch,
        cancel: threading.Event | None,
        ends: float,
    ) -> HostLedger:
        """One pass over the pages on one session; raises LedgerChanged when the books change."""
        session = Session(self, fetch, ends)
        try:
            return read_pages(session, path, self.page_size, terminal_id, cycle_id, source, fetch, cancel)
        finally:
            session.close()

    def _make_ssl_context(self) -> ssl.SSLContext:
        try:
            if self.ca_bundle is not None:
                ctx = ssl.create_default_context(cafile=self.ca_bundle)
            else:
                ctx = ssl.create_default_context()
        except FileNotFoundError as exc:
            raise BackendError(
                f"the CA bundle {self.ca_bundle} does not exist; check the CA bundle in the settings"
            ) from exc
        except (ssl.SSLError, OSError) as exc:
            raise BackendError(
                f"the CA bundle {self.ca_bundle} cannot be loaded ({exc}); it must be "
                "PEM certificates; check the CA bundle in the settings"
            ) from exc
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        if self.client_cert is not None:
            try:
                ctx.load_cert_chain(self.client_cert, self.client_key)
            except (ssl.SSLError, OSError) as exc:
                reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
                raise BackendError(
                    f"the client certificate {self.client_cert} (key "
                    f"{self.client_key or 'in the same file'}) cannot be loaded "
                    f"({reason}); it must be PEM; check the client certificate "
                    "setting"
                ) from exc
        return ctx

    def _headers(self) -> dict[str, str]:
        headers = {
            "Accept": "application/json",
            "User-Agent": f"custodian-app/{__version__}",
            "Accept-Encoding": "identity",
        }
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token}"
        return headers

    def _connect(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self._ssl_context
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _url(self, path: str, query: dict[str, Any]) -> str:
        return self._prefix + path + (("?" + urlencode(query)) if query else "")
