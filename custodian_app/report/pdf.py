"""The clearing report (清机对账报告): the PDF the custodians and the supervisor sign.

The whole report is A4 landscape. The mismatch list is the heart of it and has eleven columns,
two of them bilingual text (category, action) and one left blank for the custodians' remark;
in portrait they would need three or four lines a row or a font too small to read. One
orientation for every page keeps the binding edge (a wider left margin) and the printer
settings the same throughout.

The document is laid out twice with the same code: a counting pass without a canvas that only
advances the cursor (cheap: every cell is wrapped once, before either pass) to learn the number
of pages, then the drawing pass that can print "page x of y" on every page.
"""

from __future__ import annotations

import io
import os
import re
import threading
from pathlib import Path

from custodian_app import __version__
from custodian_app.domain.formats import (
    AtmLedger,
    ClearingResult,
    Counts,
    FormatError,
    HostLedger,
    check_same_clearing,
)
from custodian_app.report import labels
from custodian_app.report.composer import Composer
from custodian_app.report.errors import ReportError, ReportInputError
from custodian_app.report.layout import Metrics
from custodian_app.report.meta import ReportMeta
from custodian_app.report.page import PAGE_H, PAGE_W
from custodian_app.report.sections import Content

APPENDIX_LIMIT = 50_000  # transactions (both ledgers) an appendix may list: about 1,100 pages


def _check(result: ClearingResult, atm: AtmLedger, host: HostLedger | None, counts: Counts | None) -> None:
    for name in ("terminal_id", "cycle_id", "currency"):
        if getattr(result, name) != getattr(atm, name):
            raise ReportInputError(
                f"report: the clearing result's {name} {getattr(result, name)!r} does not "
                f"match the ATM ledger's {getattr(atm, name)!r}; print the report of one clearing"
            )
    try:
        check_same_clearing(atm, host, counts)
    except FormatError as exc:
        raise ReportInputError(f"report: {exc}") from exc


def build_report(
    result: ClearingResult,
    atm: AtmLedger,
    *,
    meta: ReportMeta,
    host: HostLedger | None = None,
    counts: Counts | None = None,
    appendix: bool = False,
    filename: str | None = None,
    vocabulary: labels.Vocabulary | None = None,
) -> bytes:
    """The clearing report as PDF bytes. ``filename`` only goes into the default verify
    command; ``vocabulary`` overrides the catalogue's names (tests)."""
    if not isinstance(meta, ReportMeta):
        raise ReportInputError("report: meta must be a ReportMeta")
    _check(result, atm, host, counts)
    if appendix:
        listed = len(atm.transactions) + (len(host.transactions) if host is not None else 0)
        if listed > APPENDIX_LIMIT:
            raise ReportInputError(
                f"report: an appendix of {listed:,} transactions would run to about "
                f"{listed // 45:,} pages; print the report without the appendix and "
                "keep the ledgers with the session instead"
            )
    from reportlab.pdfgen.canvas import Canvas

    from custodian_app.report.fonts import register_fonts

    font, mono = register_fonts()
    metrics = Metrics(font)
    content = Content(
        result,
        atm,
        host,
        counts,
        meta,
        appendix,
        metrics,
        vocabulary or labels.default_vocabulary(),
        filename,
    )
    pages = Composer(content, None, font, mono).run()
    buf = io.BytesIO()
    # initialFontName: otherwise every page names Helvetica, a font that is not embedded
    canvas = Canvas(
        buf,
        pagesize=(PAGE_W, PAGE_H),
        pageCompression=1,
        invariant=1,
        initialFontName=font.fontName,
        initialFontSize=8,
    )
    canvas.setTitle(f"ATM 清机对账报告 {meta.report_no}")
    canvas.setAuthor(meta.printed_by)
    canvas.setSubject(f"{atm.terminal_id} {atm.cycle_id}")
    canvas.setCreator(f"custodian-app {__version__}")
    if meta.evidence_sha256:
        # also in the document information, for tools: see embedded_evidence_digest()
        canvas.setKeywords(f"evidence-sha256:{meta.evidence_sha256}")
    drawn = Composer(content, canvas, font, mono, pages).run()
    if drawn != pages:  # the two passes share their code; a difference is a bug, not bad input
        raise ReportError(f"report layout disagreed with itself ({pages} pages counted, {drawn} drawn)")
    _save_binary(canvas)
    return buf.getvalue()


_save_lock = threading.Lock()


def _save_binary(canvas) -> None:
    """Save with compressed binary streams, without reportlab's ASCII85 wrapping: its encoder
    is pure Python unless the optional rl_accel extension is installed, and on a 400-page
    report it took longer than drawing every page. reportlab reads the switch from its global
    configuration while saving, hence the lock and the restore."""
    from reportlab import rl_config

    with _save_lock:
        before = rl_config.useA85
        rl_config.useA85 = 0
        try:
            canvas.save()
        finally:
            rl_config.useA85 = before


_KEYWORDS = re.compile(rb"/Keywords \(evidence-sha256:([0-9a-f]{64})\)")


def embedded_evidence_digest(pdf: bytes) -> str | None:
    """The evidence digest a report made by ``build_report`` carries in its document
    information (the same one printed and in the QR code on its last page), or None."""
    found = _KEYWORDS.findall(pdf)
    return found[-1].decode("ascii") if found else None


def write_report(
    path: str | os.PathLike,
    result: ClearingResult,
    atm: AtmLedger,
    *,
    meta: ReportMeta,
    host: HostLedger | None = None,
    counts: Counts | None = None,
    appendix: bool = False,
) -> Path:
    """Build the report and write it to ``path`` all at once (never a half-written PDF)."""
    target = Path(path)
    save_pdf(
        target,
        build_report(
            result, atm, meta=meta, host=host, counts=counts, appendix=appendix, filename=target.name
        ),
    )
    return target


def save_pdf(target: Path, data: bytes) -> None:
    """Write report bytes all at once (custodian_app.support.files.write_atomic) or raise ReportError."""
    from custodian_app.support.files import write_atomic

    try:
        write_atomic(target, data)
    except OSError as exc:
        raise ReportError(
            f"cannot write the report to {target}: {exc.strerror or exc}; choose a folder you can write to"
        ) from exc
