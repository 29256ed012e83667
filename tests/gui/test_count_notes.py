"""The count page: each unit's derived amount from its counters beside the count, note counts
per denomination that fill the amount, the difference as the custodians type, and a per-unit
count difference on the mismatch list (rules revision 2, COUNT_DIFFERS)."""

from __future__ import annotations

from custodian_app.domain.flow import Step
from custodian_app.domain.money import format_grouped
from custodian_app.gui.qa.driver import WizardDriver

DENOMINATIONS_YUAN = (100, 50, 20, 10, 5, 1)


def by_denomination(minor: int) -> dict[int, int]:
    """A bin's counted amount as the notes a custodian would find (largest first)."""
    left, notes = minor // 100, {}
    assert minor % 100 == 0, minor
    for yuan in DENOMINATIONS_YUAN:
        n, left = divmod(left, yuan)
        if n:
            notes[yuan] = n
    return notes


def test_note_counts_fill_the_amounts_and_the_difference_follows(qtbot, world_factory, make_ctx):
    world = world_factory(faults="COUNT_DIFFERS=1,RETRACTED=1", transactions=80)
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_read()
    d.next(Step.COUNT)
    page = d.page(Step.COUNT)
    atm = d.flow.atm
    units = {u.id: u for u in atm.units}
    cst1 = units["CST1"]
    # the figure the count is compared with: the unit's counters, count × value
    assert page.derived_labels["CST1"].text() == format_grouped(cst1.count * cst1.value)
    qtbot.waitUntil(lambda: "waiting" not in page.derived_labels["RTR1"].text(), timeout=5000)

    d.count_notes({"CST1": cst1.count})
    assert page.edits["CST1"].text() == format_grouped(cst1.count * cst1.value).replace(",", "")
    assert page.diff_labels["CST1"].text() == "equal"
    assert "#1b5e20" in page.diff_labels["CST1"].styleSheet()  # green
    d.count_notes({"CST1": cst1.count - 1})
    assert page.diff_labels["CST1"].text().startswith(format_grouped(-cst1.value))
    assert (
        "shortage" in page.diff_labels["CST1"].text() and "#b00020" in page.diff_labels["CST1"].styleSheet()
    )
    d.count_notes({"CST1": cst1.count + 2})
    assert "overage" in page.diff_labels["CST1"].text()

    # a mixed bin: its denominations add up
    d.count_notes({"RTR1": {100: 2, 50: 1, 1: 3}})
    assert page.edits["RTR1"].text() == "253.00"
    # an amount typed over the notes wins, and the notes are cleared (they no longer say it)
    d.type_into(page.edits["RTR1"], "10")
    assert all(not e.text() for _v, e in page.note_edits["RTR1"])

    # what the scenario's custodians counted, typed as notes: a ¥100 note short in CST1
    counted = world.scenario.counts.units
    notes = {}
    for uid, amount in counted.items():
        u = units[uid]
        notes[uid] = amount // u.value if u.value is not None else by_denomination(amount)
    d.count_notes(notes)
    assert {uid: page.edits[uid].text() for uid in counted} == {
        uid: format_grouped(v).replace(",", "") for uid, v in counted.items()
    }
    assert page.isComplete()
    assert "shortage" in page.diff_labels["CST1"].text()
    d.next(Step.BACKEND)
    assert d.flow.counts == dict(counted)  # counts/1: one amount per unit, as before
    d.wait_backend()
    d.next(Step.RECONCILE)
    d.wait_result()
    assert "COUNT_DIFFERS" in d.mismatch_categories()
    differs = [m for m in d.flow.result.mismatches if m.category == "COUNT_DIFFERS"]
    assert [(m.unit, m.counted - m.derived) for m in differs] == [("CST1", -cst1.value)]


def test_notes_that_are_not_a_number_say_so(qtbot, world_factory, make_ctx):
    world = world_factory(faults="none", transactions=30)
    d = WizardDriver(qtbot, make_ctx(world))
    d.sign_in()
    d.next(Step.CONNECT)
    d.connect(world.device)
    d.next(Step.READ_ATM)
    d.wait_core()
    d.next(Step.COUNT)
    page = d.page(Step.COUNT)
    d.count_notes({"CST2": 5})
    assert page.edits["CST2"].text() == "500.00"
    ((_v, field),) = page.note_edits["CST2"]
    d.type_into(field, "5x")
    assert page.edits["CST2"].text() == "" and "CST2" in page.status.text()
    assert not page.isComplete()
