"""The backend's ledger reply read and checked: its pages assembled into one host-ledger/1.

The first page is the document plus ``page`` = ``{"index", "pages_total", "transactions_total",
"next_cursor"}``; each further page is ``{"format": "host-ledger-page/1", "terminal_id",
"cycle_id", "page", "transactions"}``. Every page is checked against the first (same terminal,
cycle and totals, in order, no cursor twice) and the assembled document is validated with the
code that reads a file; any fault refuses the whole reply (docs/backend-api.md).
"""

from __future__ import annotations

import threading
from typing import Any

from custodian_app.backend.errors import BackendMismatch, BackendReplyError, BackendRequestError
from custodian_app.backend.session import Fetch, Session
from custodian_app.domain import fields, formats
from custodian_app.domain.formats import FormatError, HostLedger

PAGE_FORMAT = "host-ledger-page/1"
_MAX_PAGES = 100_000  # a hard stop against a backend that pages forever


class LedgerChanged(Exception):
    """The backend's ledger changed between two pages; the fetch starts again."""


def read_pages(
    session: Session,
    path: str,
    page_size: int,
    terminal_id: str,
    cycle_id: str,
    source: str,
    fetch: Fetch,
    cancel: threading.Event | None,
) -> HostLedger:
    """One pass over the pages; raises LedgerChanged when the books change in between."""
    body = session.get(
        path,
        {"page_size": page_size},
        what="the ledger",
        cancel=cancel,
        not_found=(terminal_id, cycle_id),
    )
    doc = _decode(body, source, "the first page")
    if doc.get("format") != formats.HOST_LEDGER:
        # let the format code word it (wrong version, missing key, ...)
        _parse(doc, source)
    page = doc.pop("page", None)
    transactions = _transactions(doc, "$", source)
    if page is not None:
        index, pages_total, tx_total, cursor = _page_info(page, source, 0)
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
                    {"page_size": page_size, "cursor": cursor},
                    what=f"page {fetch.pages_done + 1} of the ledger",
                    cancel=cancel,
                    not_found=(terminal_id, cycle_id),
                )
            except BackendRequestError as exc:
                if exc.code == "bad_cursor":  # the books changed between two pages
                    raise LedgerChanged(str(exc)) from None
                raise
            where = f"page {fetch.pages_done + 1}"
            part = _decode(body, source, where)
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
            more = _transactions(part, "$", f"{source}: {where}")
            index, pt, tt, cursor = _page_info(part.get("page"), source, fetch.pages_done)
            if (pt, tt) != (pages_total, tx_total):
                raise LedgerChanged(
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
    return _parse(doc, source)


def _decode(body: bytes, source: str, where: str) -> dict:
    """The reply as a dict, by the formats' own JSON reader (a key given twice refused)."""
    try:
        return formats.decode(body, source)
    except FormatError as exc:
        raise BackendReplyError(
            f"{source}: {where}: {exc.path}: {exc.message}; the reply was refused as a whole", exc.path
        ) from None


def _transactions(doc: dict, path: str, source: str) -> list:
    value = doc.get("transactions")
    if type(value) is not list:
        raise BackendReplyError(
            f"{source}: {path}.transactions: expected an array, found {fields.show(value)}; "
            "the reply was refused as a whole",
            f"{path}.transactions",
        )
    return value


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


def _parse(doc: dict, source: str) -> HostLedger:
    try:
        ledger = formats.parse_host_ledger(doc, source)
    except FormatError as exc:
        raise BackendReplyError(
            f"{exc}; the reply was refused as a whole, nothing was kept", exc.path
        ) from exc
    return ledger
