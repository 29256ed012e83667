from __future__ import annotations

import io

import pytest

from custodian_app.report import ReportMeta
from tests.report import clearing


def pages_text(pdf: bytes) -> list[str]:
    """The PDF read back as text, one string per page (pypdf: always installed with tests)."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return [page.extract_text() or "" for page in reader.pages]


@pytest.fixture
def meta() -> ReportMeta:
    return ReportMeta(
        bank="中国某银行 南京分行",
        branch="鼓楼支行",
        report_no="R-2026-000123",
        printed_at="2026-11-22T08:30:00+08:00",
        printed_by="王五",
        custodians=("张三", "李四"),
        supervisor="赵六",
        evidence_sha256=clearing.DIGEST,
        session_id="S-42",
    )
