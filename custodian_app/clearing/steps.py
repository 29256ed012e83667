"""The clearing's steps that compute or fetch: the reconciliation, the evidence and its
fingerprint, the backend's ledger (fetched or imported), the report."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson

from custodian_app.clearing import ClearingError
from custodian_app.domain import formats
from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.flow import ClearingFlow

# -- the reconciliation -------------------------------------------------------------------


def success_codes(settings=None) -> frozenset[str]:
    codes = getattr(settings, "success_codes", None)
    if codes:
        return frozenset(codes)
    return frozenset({"00"})


def reconcile_flow(flow: ClearingFlow, settings) -> formats.ClearingResult:
    """The engine on the flow's documents, with the shipped catalogue of actions and the
    settings' success codes. ``settings`` has no default: the wizard once left it out and
    reconciled with ``00`` alone while ``clear`` honoured the bank's list (issue 14)."""
    from custodian_app.domain.reconcile import reconcile
    from custodian_app.support.catalogue import load_catalogue

    if flow.atm is None or flow.host is None:
        raise ClearingError("the ATM's and the backend's ledgers are both needed to reconcile")
    return reconcile(
        flow.atm,
        flow.host,
        flow.counts_document(),
        success_codes=success_codes(settings),
        catalogue=load_catalogue(),
    )


# A big ledger is millions of small objects: written as one dict and one orjson call, the
# call and the freeing of the dict each hold the interpreter lock long enough to freeze the
# window (docs/performance.md). Written a few thousand records at a time, the lock changes
# hands between pieces.
_PIECE = 2000


def ledger_bytes(ledger: formats.AtmLedger) -> bytes:
    """``formats.dumps(formats.atm_ledger_to_dict(ledger))``, byte for byte, written a piece at
    a time (it runs on the database thread while the custodians use the window)."""
    notes = None if ledger.notes is None else list(ledger.notes)
    head = formats.atm_ledger_to_dict(
        dataclasses.replace(ledger, transactions=[], notes=None if notes is None else [])
    )

    def pieces(key: str, items: list) -> Iterator[bytes]:
        for start in range(0, len(items), _PIECE):
            part = items[start : start + _PIECE]
            doc = formats.atm_ledger_to_dict(
                dataclasses.replace(
                    ledger,
                    transactions=part if key == "transactions" else [],
                    notes=part if key == "notes" else None,
                )
            )
            yield orjson.dumps(doc[key])[1:-1]

    out = []
    for key, value in head.items():
        if key in ("transactions", "notes"):
            items = ledger.transactions if key == "transactions" else notes
            written = b"[" + b",".join(pieces(key, items)) + b"]"
        else:
            written = orjson.dumps(value)
        out.append(orjson.dumps(key) + b":" + written)
    return b"{" + b",".join(out) + b"}\n"


class Evidence:
    """The documents of one clearing as bytes, and their SHA-256 fingerprint."""

    def __init__(self, flow: ClearingFlow, *, atm_bytes: bytes | None = None) -> None:
        """``atm_bytes``: the ATM ledger's bytes as the store keeps them
        (``SessionRecorder.atm_bytes``), so that they are not written a second time."""
        if flow.atm is None or flow.host is None or flow.result is None:
            raise ClearingError("the clearing has no result yet")
        self.atm = ledger_bytes(flow.atm) if atm_bytes is None else atm_bytes
        self.host = formats.dumps(formats.host_ledger_to_dict(flow.host))
        counts = flow.counts_document()
        self.counts = None if counts is None else formats.dumps(formats.counts_to_dict(counts))
        self.result = formats.dumps(formats.result_to_dict(flow.result))
        self.sha256 = evidence_digest(self.atm, self.host, self.counts, self.result)


# -- the backend --------------------------------------------------------------------------


def fetch_host_ledger(
    url: str,
    token: str | None,
    terminal_id: str,
    cycle_id: str,
    *,
    progress=None,
    cancel=None,
    ca_bundle: str | None = None,
    timeout: float = 30.0,
) -> formats.HostLedger:
    from custodian_app.backend.client import BackendClient

    client = BackendClient(url, token=token or None, ca_bundle=ca_bundle or None, timeout=timeout)
    return client.fetch_ledger(terminal_id, cycle_id, progress=progress, cancel=cancel)


def import_settlement(path: str, atm: formats.AtmLedger | None = None) -> formats.HostLedger:
    """A settlement file the backend office sent instead (host-ledger/1 JSON or CSV), checked
    against the ATM's terminal, cycle and currency."""
    from custodian_app.backend.settlement import import_settlement as _import

    if atm is None:
        return _import(path)
    return _import(path, terminal_id=atm.terminal_id, cycle_id=atm.cycle_id, currency=atm.currency)


# -- the report ---------------------------------------------------------------------------


# the application's language -> the report's: Chinese users get the bilingual report
REPORT_LANGUAGE = {"zh_CN": "both", "en": "en"}


def report_meta(
    flow: ClearingFlow,
    *,
    settings=None,
    session_id=None,
    language: str = "zh_CN",
    evidence: Evidence | None = None,
    printed_by: str | None = None,
    atm_bytes: bytes | None = None,
):
    from custodian_app.report import ReportMeta

    evidence = evidence or Evidence(flow, atm_bytes=atm_bytes)
    now = datetime.now(UTC).astimezone()
    cycle = flow.atm.cycle_id if flow.atm else "?"
    number = f"{cycle}-{session_id}" if session_id is not None else cycle
    return ReportMeta(
        bank=getattr(settings, "bank_name", "") or "",
        branch=getattr(settings, "branch_name", "") or "",
        report_no=number,
        printed_at=now.isoformat(timespec="seconds"),
        printed_by=printed_by or (flow.custodians[0] if flow.custodians else ""),
        custodians=tuple(flow.custodians or ()),
        supervisor=flow.supervisor,
        evidence_sha256=evidence.sha256,
        headless=flow.headless,
        draft=flow.supervisor is None and not flow.headless,
        language=REPORT_LANGUAGE.get(language, "both"),
        session_id=None if session_id is None else str(session_id),
        journal_gaps=flow.journal_gaps,
    )


def build_report_bytes(
    flow: ClearingFlow, *, settings=None, session_id=None, language="zh_CN", atm_bytes: bytes | None = None
) -> bytes:
    from custodian_app.report import build_report

    meta = report_meta(flow, settings=settings, session_id=session_id, language=language, atm_bytes=atm_bytes)
    return build_report(
        flow.result,
        flow.atm,
        meta=meta,
        host=flow.host,
        counts=flow.counts_document(),
        appendix=bool(getattr(settings, "report_appendix", False)),
    )


def render_report(
    flow: ClearingFlow, *, settings=None, session_id=None, language="zh_CN", atm_bytes: bytes | None = None
) -> tuple[bytes, Path]:
    """Build the report and keep it in the data folder (QPdfView reads it from there).
    ``atm_bytes``: see ``Evidence``."""
    from custodian_app.settings.paths import data_dir
    from custodian_app.support.files import write_atomic

    pdf = build_report_bytes(
        flow, settings=settings, session_id=session_id, language=language, atm_bytes=atm_bytes
    )
    folder = data_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    kind = "signed" if flow.supervisor else "draft"
    path = folder / f"{flow.atm.cycle_id}-{session_id or 'new'}-{kind}.pdf"
    write_atomic(path, pdf)
    return pdf, path


def format_amount_signed(minor: int) -> str:
    from custodian_app.domain.money import format_grouped

    return format_grouped(minor, plus=True)
