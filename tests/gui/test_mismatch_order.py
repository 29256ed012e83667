"""The mismatch list opens in the order the custodians work it (shortages first, the largest
first), keeps every column in sight, and remembers the column the user sorted by."""

from __future__ import annotations

from PySide6.QtCore import Qt

from custodian_app.domain.flow import Step
from custodian_app.gui.models import SORT_ROLE
from custodian_app.gui.qa.driver import WizardDriver
from custodian_app.gui.wizard.reconcile_page import sort_choice


def to_reconcile(qtbot, world, ctx) -> WizardDriver:
    d = WizardDriver(qtbot, ctx)
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
    return d


def effects(d: WizardDriver) -> list[int]:
    model = d.page(Step.RECONCILE).table.model()
    return [model.index(r, 6).data(SORT_ROLE) for r in range(model.rowCount())]


def test_work_order_then_the_users_choice_is_kept(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic", transactions=300)
    ctx = make_ctx(world)
    d = to_reconcile(qtbot, world, ctx)
    shown = effects(d)
    assert len(shown) > 3 and any(e < 0 for e in shown) and any(e > 0 for e in shown)
    side = [0 if e < 0 else 1 if e > 0 else 2 for e in shown]
    assert side == sorted(side), "shortages, then overages, then the rest"
    for s in (0, 1):
        group = [abs(e) for e, g in zip(shown, side, strict=False) if g == s]
        assert group == sorted(group, reverse=True), "the largest first"

    # every column is in sight at 1366 px: none wider than the cap, Action and Remark shown
    page = d.page(Step.RECONCILE)
    header = page.table.horizontalHeader()
    for width in (d.wizard.width(), 1366 - 40):  # as it opens, and as wide as the screen
        d.wizard.resize(width, 700)
        qtbot.waitUntil(lambda: page.table.viewport().width() > 400, timeout=5000)
        assert all(header.sectionSize(c) <= 200 for c in range(header.count() - 1))
        # Remark starts on screen with room to read it
        assert header.sectionViewportPosition(8) + 80 <= page.table.viewport().width()

    # the user sorts by the TSN column: the next clearing's list opens sorted the same way
    qtbot.mouseClick(
        header.viewport(),
        Qt.MouseButton.LeftButton,
        pos=header.viewport().rect().topLeft() + _section_centre(header, 1),
    )
    assert header.sortIndicatorSection() == 1
    assert sort_choice()[0] == 1  # kept in the data folder's window.ini

    # shown again (the next clearing on this PC): the list comes sorted by the user's column
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    page._show()
    assert header.sortIndicatorSection() == 1
    tsns = [page.table.model().index(r, 1).data() for r in range(page.table.model().rowCount())]
    assert tsns in (sorted(tsns), sorted(tsns, reverse=True))


def _section_centre(header, section):
    from PySide6.QtCore import QPoint

    return QPoint(
        header.sectionViewportPosition(section) + header.sectionSize(section) // 2, header.height() // 2
    )
