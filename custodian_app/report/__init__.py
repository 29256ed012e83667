"""The clearing report: a PDF the supervisor signs.

    from custodian_app.report import ReportMeta, build_report, write_report, report_for

``build_report(result, atm, *, meta, host=None, counts=None, appendix=False) -> bytes``
``write_report(path, result, atm, *, meta, host=None, counts=None, appendix=False) -> Path``
``report_for(result, atm, host, counts, meta, *, path=None, appendix=False) -> bytes``
``embedded_evidence_digest(pdf_bytes) -> str | None``: the digest a report carries
``meta_from_settings(settings, *, cycle_id, printed_by, custodians, ...) -> ReportMeta``

reportlab is imported only when a report is built, so importing this package is cheap.
"""

from __future__ import annotations

import os
from datetime import datetime

from custodian_app.report.errors import ReportError, ReportInputError
from custodian_app.report.meta import NOT_SET, ReportMeta, mask_card
from custodian_app.report.pdf import build_report, embedded_evidence_digest, write_report

__all__ = [
    "ReportError",
    "ReportInputError",
    "ReportMeta",
    "build_report",
    "write_report",
    "report_for",
    "default_report_no",
    "mask_card",
    "embedded_evidence_digest",
    "meta_from_settings",
]


def default_report_no(cycle_id: str, printed_at: datetime) -> str:
    """A report number when the bank has no numbering of its own: cycle and print time."""
    return f"{cycle_id}-{printed_at.strftime('%Y%m%d%H%M%S')}"


def meta_from_settings(
    settings,
    *,
    cycle_id: str,
    printed_by: str,
    custodians=(),
    supervisor=None,
    evidence_sha256=None,
    headless: bool = False,
    session_id=None,
    printed_at: datetime | None = None,
    report_no: str | None = None,
    language: str = "both",
) -> ReportMeta:
    """ReportMeta with the bank and branch from ``custodian_app.settings.config.Settings`` (shown as
    "not set" when the settings leave them empty, so a headless run still prints), printed
    now, numbered ``<cycle>-<YYYYmmddHHMMSS>`` unless ``report_no`` is given. The report stays
    bilingual whatever the interface language: it is archived and read by auditors; pass
    ``language="zh"`` or ``"en"`` for one language."""
    when = printed_at or datetime.now().astimezone()
    return ReportMeta(
        bank=(getattr(settings, "bank_name", "") or "").strip() or NOT_SET,
        branch=(getattr(settings, "branch_name", "") or "").strip() or NOT_SET,
        report_no=report_no or default_report_no(cycle_id, when),
        printed_at=when,
        printed_by=printed_by,
        custodians=tuple(custodians or ()),
        supervisor=supervisor,
        evidence_sha256=evidence_sha256,
        headless=headless,
        language=language,
        session_id=session_id,
    )


def report_for(
    result,
    atm,
    host=None,
    counts=None,
    meta: ReportMeta | None = None,
    *,
    path: str | os.PathLike | None = None,
    appendix: bool = False,
) -> bytes:
    """One call for the command line and the wizard: build the report of one clearing and,
    when ``path`` is given, write it there atomically (the verify command then names the
    file). Returns the PDF bytes either way (the GUI previews them)."""
    if meta is None:
        raise ReportInputError(
            "report: the report needs its ReportMeta (bank, branch, report number, "
            "custodians, evidence digest)"
        )
    if path is None:
        return build_report(result, atm, meta=meta, host=host, counts=counts, appendix=appendix)
    from pathlib import Path

    from custodian_app.report.pdf import save_pdf

    target = Path(path)
    data = build_report(
        result, atm, meta=meta, host=host, counts=counts, appendix=appendix, filename=target.name
    )
    save_pdf(target, data)
    return data
