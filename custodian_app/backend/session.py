"""The HTTP side of the backend client: one connection, its retries and the call's deadline.

A ``Session`` does the GETs of one call (a health check, or all the pages of a ledger) over one
kept-alive connection: it retries connection errors, timeouts and 5xx with exponential backoff,
never a 4xx; it reads each body in chunks against a size limit, reporting progress and watching
for cancellation; and it ends the whole call at the client's deadline. What a ledger reply says
is checked in ``custodian_app.backend.paging``.
"""

from __future__ import annotations

import http.client
import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from custodian_app.backend.errors import (
    BackendAuthError,
    BackendCancelled,
    BackendError,
    BackendNotFound,
    BackendReplyError,
    BackendRequestError,
    BackendServerError,
    BackendTimeout,
    BackendTLSError,
    BackendUnreachable,
)
from custodian_app.domain import formats
from custodian_app.domain.errors import scrub
from custodian_app.domain.formats import FormatError

log = logging.getLogger(__name__)

#: progress(bytes_received, pages_done, pages_total or None); called on the worker thread.
Progress = Callable[[int, int, "int | None"], None]

_READ_CHUNK = 64 * 1024
_ERROR_BODY_LIMIT = 64 * 1024  # an error reply is small; more is not read
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


class _Retry(Exception):
    """Internal: this attempt failed in a way worth another try. ``error`` is what to raise
    if no try is left."""

    def __init__(self, error: BackendError, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.error = error
        self.reason = reason  # short, for the log line of the retry
        self.retry_after = retry_after


def short(text: object, limit: int = 200) -> str:
    """A server-supplied text, cut short and on one line, for an error message."""
    s = scrub(" ".join(str(text).split()))  # a hostile server's text may hold a card number
    return s if len(s) <= limit else s[: limit - 3] + "..."


class Endpoint(Protocol):
    """What a session uses of its ``BackendClient`` (named here, not imported: the client
    imports this module)."""

    base_url: str
    timeout: float
    deadline: float
    retries: int
    backoff: float
    max_reply_bytes: int
    max_ledger_bytes: int

    def _connect(self) -> http.client.HTTPConnection: ...

    def _headers(self) -> dict[str, str]: ...

    def _url(self, path: str, query: dict[str, Any]) -> str: ...


class Fetch:
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


class Session:
    """One connection (kept alive across the pages of a fetch) and the retry loop."""

    def __init__(self, client: Endpoint, fetch: Fetch | None, ends: float) -> None:
        self.client = client
        self.fetch = fetch or Fetch(None)
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
            reason = exc.reason or short(exc)
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
            reason = short(exc) or type(exc).__name__
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
            where = short(resp.getheader("Location") or "?", 100)
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
        short(code, 40) if type(code) is str else None,
        short(message) if type(message) is str else None,
    )
