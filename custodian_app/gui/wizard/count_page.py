"""Step 4: the custodians enter the cash they counted per unit (retract and reject bins too);
totals update as they type; skipping the count needs a reason, which is recorded."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
)

from custodian_app.domain.flow import FlowError, Step
from custodian_app.domain.money import format_grouped
from custodian_app.gui.models import UNIT_TYPE_NAMES
from custodian_app.gui.models import tr as mtr
from custodian_app.gui.workers import describe_error
from custodian_app.gui.wizard.base import FlowPage, UnitGrid, figure_label, focus_later, status_label, tr
from custodian_app.gui.wizard.base import show_error, show_info, show_ok


_AMOUNT = re.compile(r"\d{1,13}(?:\.\d{1,2})?\Z")


def parse_user_amount(text: str) -> int | None:
    """What a custodian types ("150000", "1,500.50") as minor units; None if it is not an
    amount. Decimal all the way: no float touches money."""
    text = text.strip().replace(",", "").replace("，", "").replace("¥", "")
    if not _AMOUNT.match(text):
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    if not d.is_finite() or d < 0 or d != d.quantize(Decimal("0.01")):
        return None
    return int(d.scaleb(2))


MAX_GRID_HEIGHT = 420  # px: the rows of the count, before they scroll

class CountPage(FlowPage):
    step = Step.COUNT

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Count the cash"))
        self.setSubTitle(tr("Enter the cash you counted in each unit, the retract and reject bins "
                            "included (in yuan)."))
        layout = QVBoxLayout(self)
        self.grid_host = UnitGrid()
        self.grid = self.grid_host.grid
        self.scroll = scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.grid_host)
        # as tall as its rows (scrolling only for an ATM with many units): the total, the skip
        # box and the status then sit right under the figures, not at the bottom of the page
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        layout.addWidget(scroll)
        self.total = QLabel(objectName="countTotal")
        layout.addWidget(self.total)
        self.skip = QCheckBox(tr("S&kip the count (a reason is required)"), objectName="skipCountCheck")
        self.skip.toggled.connect(self._skip_toggled)
        layout.addWidget(self.skip)
        self.reason = QLineEdit(objectName="skipReasonEdit")
        self.reason.setAccessibleName(tr("Why the cash was not counted"))
        self.reason.setPlaceholderText(tr("Why was the cash not counted?"))
        self.reason.setEnabled(False)
        self.reason.textChanged.connect(self._update)
        layout.addWidget(self.reason)
        self.status = status_label("countStatus")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.edits: dict[str, QLineEdit] = {}
        self.expected: dict[str, int | None] = {}

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        atm = self.flow.core_ledger
        self.grid_host.reset((tr("Unit"), tr("Type"), tr("Expected (ATM)"), tr("Counted"), tr("Difference")))
        self.edits.clear()
        for u in atm.units:
            expected = None if u.value is None else u.value * u.count
            self.expected[u.id] = expected
            edit = QLineEdit(objectName=f"count_{u.id}")
            edit.setAlignment(Qt.AlignmentFlag.AlignRight)
            edit.setMaximumWidth(180)
            edit.setPlaceholderText("0.00")
            edit.setAccessibleName(tr("Counted cash in %1").replace("%1", u.id))
            if self.flow.counts and u.id in self.flow.counts:
                edit.setText(format_grouped(self.flow.counts[u.id]).replace(",", ""))
            edit.textChanged.connect(self._update)
            self.grid_host.add_row(
                (u.id, mtr(UNIT_TYPE_NAMES.get(u.type, u.type)),
                 figure_label(format_grouped(expected) if expected is not None else tr("mixed bin")),
                 edit, figure_label(name=f"diff_{u.id}")), entry=edit)
            self.edits[u.id] = edit
        previous = self.grid_host.last_input
        # rows stay at the top, columns at their natural width
        self.grid.setRowStretch(self.grid.rowCount(), 1)
        self.grid.setColumnStretch(5, 1)
        if previous is not None:
            self.setTabOrder(previous, self.skip)
            self.setTabOrder(self.skip, self.reason)
        if self.flow.count_skip_reason:
            self.skip.setChecked(True)
            self.reason.setText(self.flow.count_skip_reason)
        self._update()
        self.grid.activate()
        # as tall as the rows (up to most of the page; more units scroll)
        self.scroll.setMinimumHeight(min(self.grid_host.sizeHint().height() + 4, MAX_GRID_HEIGHT))
        first = next(iter(self.edits.values()), None)
        if first is not None:
            focus_later(first)

    def _skip_toggled(self, on: bool) -> None:
        self.reason.setEnabled(on)
        for e in self.edits.values():
            e.setEnabled(not on)
        if on:
            self.reason.setFocus()
        self._update()

    def _update(self) -> None:
        if self.flow.step is not Step.COUNT:
            return
        total = 0
        complete = True
        bad = []
        for uid, edit in self.edits.items():
            value = parse_user_amount(edit.text())
            diff_label = self.grid_host.figure(f"diff_{uid}")
            if value is None:
                complete = False
                if edit.text().strip():
                    bad.append(uid)
                diff_label.setText("")
                continue
            total += value
            expected = self.expected.get(uid)
            if expected is not None:
                d = value - expected
                diff_label.setText(format_grouped(d, plus=True))
                diff_label.setStyleSheet("color: #b00020;" if d else "color: #1b5e20;")
            else:
                diff_label.setText("")
        expected_total = sum(v for v in self.expected.values() if v is not None)
        self.total.setText(tr("Counted in total: %1. The ATM's unit counters show %2 in the units "
                              "(notes counted × value; mixed bins not included).")
                           .replace("%1", format_grouped(total)).replace("%2", format_grouped(expected_total)))
        try:
            if self.skip.isChecked():
                reason = self.reason.text().strip()
                if len(reason) >= 2:
                    self.flow.skip_counts(reason)
                    show_info(self.status, tr("The count is skipped; the reason is recorded in the session."))
                else:
                    self._clear()
                    show_info(self.status, tr("Say why the cash was not counted."))
            elif complete:
                self.flow.record_counts({uid: parse_user_amount(e.text()) for uid, e in self.edits.items()})
                show_ok(self.status, tr("All units counted. Press Next."))
            else:
                self._clear()
                if bad:
                    show_error(self.status, tr("Not an amount in %1: type yuan like 1500 or 1500.50.")
                               .replace("%1", ", ".join(bad)))
                else:
                    show_info(self.status, tr("Enter the counted cash for every unit (0 for an empty one)."))
        except FlowError as exc:
            self._clear()
            show_error(self.status, describe_error(exc))
        self.changed()

    def _clear(self) -> None:
        self.flow.counts = None
        self.flow.count_skip_reason = None
