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
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import os
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from custodian_app import __version__
from custodian_app.backend.errors import (
    BackendAuthError,
    BackendCancelled,
    BackendError,
    BackendMismatch,
    BackendNotFound,
    BackendReplyError,
    BackendRequestError,
    BackendServerError,
    BackendTimeout,
    BackendTLSError,
    BackendUnreachable,
)
from custodian_app.domain import fields, formats
from custodian_app.domain.errors import add_secret, scrub
from custodian_app.domain.formats import FormatError, HostLedger

log = logging.getLogger(__name__)

API_PREFIX = "/v1"
PAGE_FORMAT = "host-ledger-page/1"
MiB = 1024 * 1024

#: progress(bytes_received, pages_done, pages_total or None); called on the worker thread.
Progress = Callable[[int, int, "int | None"], None]

_READ_CHUNK = 64 * 1024
_ERROR_BODY_LIMIT = 64 * 1024  # an error reply is small; more is not read
_MAX_PAGES = 100_000  # a hard stop against a backend that pages forever
_MAX_RESTARTS = 2  # when the ledger changes between pages
# TLS alerts by which a server refuses the client (its certificate or its absence)
_TLS_REFUSALS = (
    "CERTIFICATE_REQUIRED",
    "BAD_CERTIFICATE",
    "UNKNOWN_CA",
    "CERTIFICATE_UNKNOWN",
    "CERTIFICATE_REVOKED",
    "CERTIFICATE_EXPIRED",
    "UNSUPPORTED_CERTIFICATE",
    "ACCESS_DENIED",
    "HANDSHAKE_FAILURE",
)
_MAX_ID_LEN = 32  # host-ledger/1: terminal_id and cycle_id are 1 to 32 characters


@dataclass(frozen=True, slots=True)
class Health:
    """What ``GET /v1/health`` said."""

    status: str
    api_version: str
    authenticated: bool | None  # None when no token was sent
    server_time: str | None


class _LedgerChanged(Exception):
    """Internal: the backend's ledger changed between two pages; the fetch starts again."""


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try. ``error`` is what to raise
    if no try is left."""

    def __init__(self, error: BackendError, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason  # short, for the log line of the retry
        self.retry_after = retry_after


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _short(text: object, limit: int = 200) -> str:
    """A server-supplied text, cut short and on one line, for an error message."""
    s = scrub(" ".join(str(text).split()))  # a hostile server's text may hold a card number
    return s if len(s) <= limit else s[: limit - 3] + "..."


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
                f"backend URL {_short(base_url, 80)!r} is not an http(s) URL like "
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
        session = _Session(self, None, time.monotonic() + self.deadline)
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
            status=_short(doc["status"], 40),
            api_version=_short(doc.get("api_version", "?"), 20),
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
        fetch = _Fetch(progress)
        ends = started + self.deadline
        for restart in range(_MAX_RESTARTS + 1):
            try:
                ledger = self._fetch_pages(path, terminal_id, cycle_id, source, fetch, cancel, ends)
                break
            except _LedgerChanged as changed:
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
        fetch: _Fetch,
        cancel: threading.Event | None,
        ends: float,
    ) -> HostLedger:
        """One pass over the pages; raises _LedgerChanged when the books change in between."""
        session = _Session(self, fetch, ends)
        try:
            body = session.get(
                path,
                {"page_size": self.page_size},
                what="the ledger",
                cancel=cancel,
                not_found=(terminal_id, cycle_id),
            )
            doc = self._decode(body, source, "the first page")
            if doc.get("format") != formats.HOST_LEDGER:
                # let the format code word it (wrong version, missing key, ...)
                self._parse(doc, source)
            page = doc.pop("page", None)
            transactions = self._transactions(doc, "$", source)
            if page is not None:
                index, pages_total, tx_total, cursor = self._page_info(page, source, 0)
                fetch.pages_total = pages_total
                fetch.page_done()
                seen = {cursor}
                while cursor is not None:
                    if fetch.pages_done >= pages_total:
                        raise BackendReplyError(
                            f"{source}: the backend sent more pages than the {pages_total} it "
                            "announced; the reply was refused as a whole",
                            "$.page.next_cursor",
                        )
                    try:
                        body = session.get(
                            path,
                            {"page_size": self.page_size, "cursor": cursor},
                            what=f"page {fetch.pages_done + 1} of the ledger",
                            cancel=cancel,
                            not_found=(terminal_id, cycle_id),
                        )
                    except BackendRequestError as exc:
                        if exc.code == "bad_cursor":  # the books changed between two pages
                            raise _LedgerChanged(str(exc)) from None
                        raise
                    where = f"page {fetch.pages_done + 1}"
                    part = self._decode(body, source, where)
                    if part.get("format") != PAGE_FORMAT:
                        raise BackendReplyError(
                            f"{source}: {where}: $.format: expected {PAGE_FORMAT!r}, found "
                            f"{fields.show(part.get('format'))}; the reply was refused as a whole",
                            "$.format",
                        )
                    for key, want in (("terminal_id", terminal_id), ("cycle_id", cycle_id)):
                        if part.get(key) != want:
                            raise BackendMismatch(
                                f"{source}: {where}: $.{key} is {fields.show(part.get(key))}, not "
                                f"{want!r} as asked; the reply was refused as a whole",
                                f"$.{key}",
                            )
                    more = self._transactions(part, "$", f"{source}: {where}")
                    index, pt, tt, cursor = self._page_info(part.get("page"), source, fetch.pages_done)
                    if (pt, tt) != (pages_total, tx_total):
                        raise _LedgerChanged(
                            f"{where} announces {pt} page(s) and {tt} transaction(s), "
                            f"the first page {pages_total} and {tx_total}"
                        )
                    if cursor in seen:
                        raise BackendReplyError(
                            f"{source}: {where}: the backend sent a cursor it had sent before "
                            "(a paging loop); the reply was refused as a whole",
                            "$.page.next_cursor",
                        )
                    seen.add(cursor)
                    transactions.extend(more)
                    fetch.page_done()
                if fetch.pages_done != pages_total or len(transactions) != tx_total:
                    raise BackendReplyError(
                        f"{source}: the backend announced {pages_total} page(s) and {tx_total} "
                        f"transaction(s) but sent {fetch.pages_done} and {len(transactions)}; "
                        "the reply was refused as a whole",
                        "$.page",
                    )
            else:
                fetch.pages_total = 1
                fetch.page_done()
            doc["transactions"] = transactions
            return self._parse(doc, source)
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

    @staticmethod
    def _decode(body: bytes, source: str, where: str) -> dict:
        """The reply as a dict, by the formats' own JSON reader (a key given twice refused)."""
        try:
            return formats.decode(body, source)
        except FormatError as exc:
            raise BackendReplyError(
                f"{source}: {where}: {exc.path}: {exc.message}; the reply was refused as a whole", exc.path
            ) from None

    @staticmethod
    def _transactions(doc: dict, path: str, source: str) -> list:
        value = doc.get("transactions")
        if type(value) is not list:
            raise BackendReplyError(
                f"{source}: {path}.transactions: expected an array, found {fields.show(value)}; "
                "the reply was refused as a whole",
                f"{path}.transactions",
            )
        return value

    @staticmethod
    def _page_info(page: Any, source: str, index: int) -> tuple[int, int, int, str | None]:
        where = f"{source}: page {index + 1}: $.page"
        if type(page) is not dict:
            raise BackendReplyError(
                f"{where}: expected the paging object, found {fields.show(page)}; "
                "the reply was refused as a whole",
                "$.page",
            )
        got_index = page.get("index")
        pages_total = page.get("pages_total")
        tx_total = page.get("transactions_total")
        cursor = page.get("next_cursor")
        if got_index != index:
            raise BackendReplyError(
                f"{where}.index: expected {index}, found {fields.show(got_index)} "
                "(pages out of order); the reply was refused as a whole",
                "$.page.index",
            )
        for name, value in (("pages_total", pages_total), ("transactions_total", tx_total)):
            if type(value) is not int or value < (1 if name == "pages_total" else 0):
                raise BackendReplyError(
                    f"{where}.{name}: expected a whole number, found "
                    f"{fields.show(value)}; the reply was refused as a whole",
                    f"$.page.{name}",
                )
        if pages_total > _MAX_PAGES:
            raise BackendReplyError(
                f"{where}.pages_total: {pages_total} pages is beyond the limit of "
                f"{_MAX_PAGES}; the reply was refused as a whole",
                "$.page.pages_total",
            )
        if cursor is not None and (
            type(cursor) is not str or not 1 <= len(cursor) <= 512 or not cursor.isprintable()
        ):
            raise BackendReplyError(
                f"{where}.next_cursor: expected a string or null; the reply was refused as a whole",
                "$.page.next_cursor",
            )
        return got_index, pages_total, tx_total, cursor

    @staticmethod
    def _parse(doc: dict, source: str) -> HostLedger:
        try:
            ledger = formats.parse_host_ledger(doc, source)
        except FormatError as exc:
            raise BackendReplyError(
                f"{exc}; the reply was refused as a whole, nothing was kept", exc.path
            ) from exc
        return ledger


class _Fetch:
    """Progress bookkeeping of one fetch."""

    __slots__ = ("callback", "bytes_done", "pages_done", "pages_total")

    def __init__(self, callback: Progress | None) -> None:
        self.callback = callback
        self.bytes_done = 0  # bytes of the pages accepted so far
        self.pages_done = 0
        self.pages_total: int | None = None

    def report(self, in_flight: int = 0) -> None:
        if self.callback is not None:
            self.callback(self.bytes_done + in_flight, self.pages_done, self.pages_total)

    def restart(self) -> None:
        self.bytes_done = 0
        self.pages_done = 0
        self.pages_total = None
        self.report()

    def page_done(self) -> None:
        self.pages_done += 1
        self.report()


class _Session:
    """One connection (kept alive across the pages of a fetch) and the retry loop."""

    def __init__(self, client: BackendClient, fetch: _Fetch | None, ends: float) -> None:
        self.client = client
        self.fetch = fetch or _Fetch(None)
        self.ends = ends  # time.monotonic() by which the whole call is over (client.deadline)
        self.conn: http.client.HTTPConnection | None = None

    def _left(self, what: str) -> float:
        """Seconds left before the deadline; past it, BackendTimeout (not retried)."""
        left = self.ends - time.monotonic()
        if left <= 0:
            self.close()
            c = self.client
            raise BackendTimeout(
                f"the backend at {c.base_url} did not deliver {what} within the deadline of "
                f"{c.deadline:g} s ({self.fetch.bytes_done} bytes of accepted pages); it answers "
                "too slowly; try again later, or import the settlement file; nothing was kept"
            )
        return left

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def get(
        self,
        path: str,
        query: dict,
        *,
        what: str,
        cancel: threading.Event | None,
        not_found: tuple[str, str] | None,
    ) -> bytes:
        """GET with retries; returns the body of a 200, raises a BackendError otherwise."""
        c = self.client
        waiter = cancel if cancel is not None else threading.Event()
        last: _Retry | None = None
        for attempt in range(c.retries + 1):
            if waiter.is_set():
                raise BackendCancelled(f"fetching {what} was cancelled; nothing was kept")
            if attempt:
                delay = c.backoff * (2 ** (attempt - 1))
                if last is not None and last.retry_after is not None:
                    delay = max(delay, min(last.retry_after, 30.0))
                delay = min(delay, self._left(what))
                log.info(
                    "retrying %s in %.2f s (attempt %d of %d): %s",
                    what,
                    delay,
                    attempt + 1,
                    c.retries + 1,
                    last.reason if last else "",
                )
                if waiter.wait(delay):
                    raise BackendCancelled(f"fetching {what} was cancelled; nothing was kept")
            self._left(what)
            try:
                return self._once(path, query, what, waiter, not_found)
            except _Retry as retry:
                self.close()
                last = retry
                if time.monotonic() >= self.ends:
                    self._left(what)  # the timeout was the deadline's: say so, no more tries
            except BaseException:
                self.close()
                raise
        assert last is not None
        raise last.error

    def _once(
        self, path: str, query: dict, what: str, cancel: threading.Event, not_found: tuple[str, str] | None
    ) -> bytes:
        c = self.client
        url = c._url(path, query)
        target = f"{c.base_url}{path}"  # for messages and logs: no query, no token
        started = time.monotonic()
        try:
            if self.conn is None:
                self.conn = c._connect()
                self.conn.timeout = min(c.timeout, self._left(what))
            self.conn.request("GET", url, headers=c._headers())
            resp = self.conn.getresponse()
            status = resp.status
            if status != 200:
                body = self._read(resp, _ERROR_BODY_LIMIT, cancel, count=False, truncate_ok=True)
            else:
                body = self._read(resp, c.max_reply_bytes, cancel, count=True, truncate_ok=False)
            if resp.will_close:
                self.close()
        except ssl.SSLCertVerificationError as exc:
            raise BackendTLSError(
                f"the backend's certificate could not be verified ({exc.verify_message}) at "
                f"{c.base_url}; check the backend URL and the CA bundle in the settings "
                "(the bank's IT provides the CA certificate)"
            ) from exc
        except ssl.SSLError as exc:
            reason = exc.reason or _short(exc)
            if any(alert in str(reason).upper() for alert in _TLS_REFUSALS):
                # the backend refused the handshake on purpose (an alert): not transient
                raise BackendTLSError(
                    f"the backend at {c.base_url} refused the TLS connection ({reason}); it may want "
                    "a client certificate it trusts: check the client certificate setting, or ask "
                    "the bank's IT"
                ) from exc
            raise _Retry(
                BackendUnreachable(
                    f"the TLS connection to the backend at {c.base_url} failed ({reason}; "
                    f"{c.retries + 1} tries) while fetching {what}; try again later; if the backend "
                    "requires a client certificate, check that setting"
                ),
                f"SSLError: {reason}",
            ) from exc
        except TimeoutError as exc:
            raise _Retry(
                BackendTimeout(
                    f"the backend at {c.base_url} did not answer within {c.timeout:g} s "
                    f"({c.retries + 1} tries) while fetching {what}; check the network, or try again "
                    "later or import the settlement file"
                ),
                f"no answer within {c.timeout:g} s",
            ) from exc
        except (OSError, http.client.HTTPException) as exc:
            reason = _short(exc) or type(exc).__name__
            raise _Retry(
                BackendUnreachable(
                    f"cannot reach the backend at {c.base_url} ({type(exc).__name__}: {reason}; "
                    f"{c.retries + 1} tries) while fetching {what}; check the network and the backend "
                    "URL in the settings, or import the settlement file"
                ),
                f"{type(exc).__name__}: {reason}",
            ) from exc
        elapsed = time.monotonic() - started
        log.debug("GET %s -> %d (%d bytes, %.3f s)", target, status, len(body), elapsed)
        if status == 200:
            return body
        code, message = _error_of(body)
        detail = f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        if status >= 500:
            retry_after = None
            try:
                retry_after = float(resp.getheader("Retry-After") or "")
            except ValueError:
                pass
            raise _Retry(
                BackendServerError(
                    f"the backend at {c.base_url} failed with a server error ({detail}) on every one of "
                    f"{c.retries + 1} tries while fetching {what}; try again later, or import the "
                    "settlement file",
                    status,
                    code,
                ),
                detail,
                retry_after,
            )
        if status == 401:
            raise BackendAuthError(
                f"the backend refused the token ({detail}); check the backend token in the settings", status
            )
        if status == 403:
            raise BackendAuthError(
                f"the token is not allowed to fetch {what} ({detail}); ask the bank's IT to grant it", status
            )
        if status == 404 and not_found is not None:
            terminal_id, cycle_id = not_found
            if code == "terminal_not_found":
                text = f"the backend knows no terminal {terminal_id!r}"
                cycle: str | None = None
            else:
                text = f"the backend has no cycle {cycle_id!r} for terminal {terminal_id!r}"
                cycle = cycle_id
            raise BackendNotFound(
                f"{text} ({detail}); check the terminal and cycle ids (they must be the ones the ATM "
                "reports)",
                terminal_id,
                cycle,
            )
        if 300 <= status < 400:
            # not followed: a redirect could carry the token to another host
            where = _short(resp.getheader("Location") or "?", 100)
            raise BackendRequestError(
                f"the backend redirects {target} to {where} (HTTP {status}); redirects are not "
                "followed; put the right address in the backend URL setting",
                status,
                code,
            )
        if status == 404:
            raise BackendRequestError(
                f"{target} does not exist ({detail}); check the backend URL in the settings", status, code
            )
        raise BackendRequestError(f"the backend refused the request for {what} ({detail})", status, code)

    def _read(
        self,
        resp: http.client.HTTPResponse,
        limit: int,
        cancel: threading.Event,
        *,
        count: bool,
        truncate_ok: bool,
    ) -> bytes:
        """Read the body in chunks: progress, cancellation, and a size limit on what a backend
        may make us hold in memory."""
        c = self.client
        declared = resp.getheader("Content-Length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit and not truncate_ok:
            self.close()
            raise BackendReplyError(
                f"the backend's reply of {int(declared)} bytes is beyond the limit of {limit} bytes; "
                "it was refused as a whole",
                "$",
            )
        chunks: list[bytes] = []
        size = 0
        while True:
            if cancel.is_set():
                self.close()
                raise BackendCancelled("the fetch was cancelled; nothing was kept")
            left = self._left("the reply")
            sock = self.conn.sock if self.conn is not None else None
            if sock is not None:  # no single read may outlast the deadline either
                sock.settimeout(min(c.timeout, left))
            chunk = resp.read1(_READ_CHUNK)  # what has come, not a full chunk: see the deadline
            if not chunk:
                break
            size += len(chunk)
            if size > limit:
                if truncate_ok:
                    self.close()
                    break
                self.close()
                raise BackendReplyError(
                    f"the backend's reply is beyond the limit of {limit} bytes; it was refused as a whole",
                    "$",
                )
            chunks.append(chunk)
            if count:
                if self.fetch.bytes_done + size > c.max_ledger_bytes:
                    self.close()
                    raise BackendReplyError(
                        f"the backend's ledger is beyond the limit of {c.max_ledger_bytes} bytes; it "
                        "was refused as a whole",
                        "$",
                    )
                self.fetch.report(size)
        if not resp.isclosed():
            resp.read()  # read1 does not mark a finished body done; the connection is reused
        if declared is not None and declared.strip().isdigit() and size < int(declared) and not truncate_ok:
            # http.client's read(amt) just stops when the connection closes early; a body shorter
            # than announced was lost in transit: worth another try, like a dropped connection
            self.close()
            raise http.client.IncompleteRead(b"", int(declared) - size)
        if count:
            self.fetch.bytes_done += size
        return b"".join(chunks)


def _error_of(body: bytes) -> tuple[str | None, str | None]:
    """The code and message of an error reply ``{"error": {"code", "message"}}``, if any."""
    try:
        doc = formats.decode(body, "the error reply")
    except FormatError:  # not JSON, or a key twice: no code nor message to trust
        return None, None
    if type(doc.get("error")) is not dict:
        return None, None
    code, message = doc["error"].get("code"), doc["error"].get("message")
    return (
        _short(code, 40) if type(code) is str else None,
        _short(message) if type(message) is str else None,
    )
