"""A clearing on the ATM-side agent (the demo's arrangement: journal, FSN files and an XFS4IoT
simulator behind it): when the agent loses its journal folder the ATM panel says so."""

from __future__ import annotations

import os

from custodian_app.domain.flow import Step
from custodian_app.gui.qa.driver import SLOW, WizardDriver


def test_a_source_the_agent_loses_is_shown_on_the_atm_panel(qtbot, world_factory, make_ctx):
    world = world_factory(faults="none", transactions=40, agent=True)
    assert world.xfs_sim is not None and world.atm_folder  # really the agent on its sources
    ctx = make_ctx(world)
    d = WizardDriver(qtbot, ctx)
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    panel = d.wizard.atm_panel
    assert not panel.sources.isVisible()  # everything answers
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)

    away = world.atm_folder + "-away"
    os.rename(world.atm_folder, away)
    try:
        with qtbot.waitSignal(d.wizard.atm_event, timeout=SLOW) as shown:
            pass
        assert world.atm_folder in shown.args[0]  # the agent's words name the folder
        assert panel.sources.isVisible() and world.atm_folder in panel.sources.text()
        assert panel.events.count() == 1
    finally:
        os.rename(away, world.atm_folder)
    qtbot.waitUntil(lambda: not panel.sources.isVisible(), timeout=SLOW)
