"""At a branch PC's 1366×768: nothing the custodians type into is cut off, and no empty box
stands where nothing has arrived yet."""

from __future__ import annotations

from custodian_app.domain.flow import Step
from custodian_app.gui.qa.driver import WizardDriver


def fully_shown(widget) -> bool:
    return widget.isVisible() and widget.visibleRegion().boundingRect().size() == widget.size()


def test_pages_at_1366_by_768(qtbot, world_factory, make_ctx):
    world = world_factory(faults="realistic")
    d = WizardDriver(qtbot, make_ctx(world))
    d.wizard.resize(1366, 768)
    panel = d.wizard.atm_panel
    assert not panel.events.isVisible()  # no events yet: no empty box for them
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    read = d.page(Step.READ_ATM)
    assert not read.units_box.isVisible() or read.units_model.rowCount() > 0
    d.wait_read()
    assert read.units_box.isVisible()
    d.next(Step.COUNT)
    count = d.page(Step.COUNT)
    qtbot.waitUntil(lambda: all(fully_shown(e) for e in count.edits.values()), timeout=5000)
    # the total sits under the rows, not at the bottom of the page
    last = list(count.edits.values())[-1]
    gap = (
        count.total.mapTo(count, count.total.rect().topLeft()).y()
        - last.mapTo(count, last.rect().bottomLeft()).y()
    )
    assert 0 < gap < 80, gap
