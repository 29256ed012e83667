"""The clearing report: a PDF the supervisor signs.

    from custodian_app.report import ReportMeta, build_report, write_report, report_for

``build_report(result, atm, *, meta, host=None, counts=None, appendix=False) -> bytes``
``write_report(path, result, atm, *, meta, host=None, counts=None, appendix=False) -> Path``
``report_for(result, atm, host, counts, meta, *, path=None, appendix=False) -> bytes``

reportlab is imported only when a report is built, so importing this package is cheap.
"""

from __future__ import annotations

import os
from datetime import datetime

from custodian_app.report.errors import ReportError, ReportInputError
from custodian_app.report.pdf import ReportMeta, build_report, mask_card, write_report

__all__ = ["ReportError", "ReportInputError", "ReportMeta", "build_report", "write_report",
           "report_for", "default_report_no", "mask_card"]


def default_report_no(cycle_id: str, printed_at: datetime) -> str:
    """A report number when the bank has no numbering of its own: cycle and print time."""
    return f"{cycle_id}-{printed_at.strftime('%Y%m%d%H%M%S')}"


def report_for(result, atm, host=None, counts=None, meta: ReportMeta | None = None, *,
               path: str | os.PathLike | None = None, appendix: bool = False) -> bytes:
    """One call for the command line and the wizard: build the report of one clearing and,
    when ``path`` is given, write it there atomically (the verify command then names the
    file). Returns the PDF bytes either way (the GUI previews them)."""
    if meta is None:
        raise ReportInputError("report: the report needs its ReportMeta (bank, branch, report number, "
                               "custodians, evidence digest)")
    if path is None:
        return build_report(result, atm, meta=meta, host=host, counts=counts, appendix=appendix)
    from pathlib import Path

    from custodian_app.files import write_atomic

    target = Path(path)
    data = build_report(result, atm, meta=meta, host=host, counts=counts, appendix=appendix,
                        filename=target.name)
    try:
        write_atomic(target, data)
    except OSError as exc:
        raise ReportError(f"cannot write the report to {target}: {exc.strerror or exc}; "
                          "choose a folder you can write to") from exc
    return data
