"""The draft report is built while the custodians review the list: the report page shows it
as soon as it opens, and a draft says DRAFT on every page, printed or saved."""

from __future__ import annotations

from pypdf import PdfReader

from custodian_app.domain.flow import Step
from custodian_app.gui.qa.driver import SLOW, WizardDriver


def test_the_draft_is_ready_when_the_report_page_opens(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic")
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    d.count(world.scenario.counts.units)
    d.next(Step.BACKEND)
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    report = d.page(Step.REPORT)
    qtbot.waitUntil(lambda: report._ready is not None, timeout=SLOW)  # built during the review
    assert report.pdf_bytes is None  # not shown before the page opens
    d.next(Step.REPORT)
    # shown by the page's opening itself, without a job in between
    assert report._job is None and report.pdf_bytes is not None and report.document.pageCount() > 0
    assert d.sign_off_enabled()
    assert all("DRAFT" in p.extract_text() for p in PdfReader(report.pdf_path).pages)
