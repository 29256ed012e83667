"""Step 4: the custodians enter the cash they counted per unit (retract and reject bins too),
as notes per denomination or as amounts, beside what each unit should hold by its counters
(rules revision 2's derived amount, the figure COUNT_DIFFERS compares with); the difference
shows as they type; skipping the count needs a reason, which is recorded. The counts sent on
stay one amount per unit (counts/1)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from custodian_app.domain.flow import FlowError, Step
from custodian_app.domain.money import format_grouped
from custodian_app.domain.reconcile import notes_into_units
from custodian_app.gui.models import UNIT_TYPE_NAMES
from custodian_app.gui.models import tr as mtr
from custodian_app.gui.wizard.base import (
    FlowPage,
    UnitGrid,
    figure_label,
    focus_later,
    show_error,
    show_info,
    show_ok,
    status_label,
    tr,
)
from custodian_app.gui.workers import describe_error

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

# The notes a mixed bin (retract, reject: value null) may hold, counted bundle by bundle per
# denomination; for another currency the denominations of the ATM's own cassettes.
DENOMINATIONS = {"CNY": (10000, 5000, 2000, 1000, 500, 100)}

_NOTES = re.compile(r"\d{1,7}\Z")


def parse_note_count(text: str) -> int | None:
    """A number of notes as typed ("120", "1,200"); None if it is not one."""
    text = text.strip().replace(",", "").replace("，", "")
    return int(text) if _NOTES.match(text) else None


def denominations(atm) -> tuple[int, ...]:
    known = DENOMINATIONS.get(atm.currency)
    if known:
        return known
    return tuple(sorted({u.value for u in atm.units if u.value is not None}, reverse=True))


def difference_words(d: int) -> tuple[str, str]:
    """(text, style) of a counted-minus-derived difference, in the glossary's words."""
    if d < 0:
        return f"{format_grouped(d)} {tr('shortage (短款)')}", "color: #b00020;"
    if d > 0:
        return f"{format_grouped(d, plus=True)} {tr('overage (长款)')}", "color: #e65100;"
    return tr("equal"), "color: #1b5e20;"


def notes_edit(name: str, accessible: str) -> QLineEdit:
    edit = QLineEdit(objectName=name)
    edit.setAlignment(Qt.AlignmentFlag.AlignRight)
    edit.setMaximumWidth(90)
    edit.setPlaceholderText("0")
    edit.setAccessibleName(accessible)
    return edit


class CountPage(FlowPage):
    step = Step.COUNT

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Count the cash"))
        self.setSubTitle(
            tr(
                "Count each unit bundle by bundle: type the number of notes (the amount "
                "follows), or the amount in yuan. Retract and reject bins hold mixed notes: "
                "type the notes of each denomination."
            )
        )
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
        self.total.setWordWrap(True)
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
        # unit -> [(value, notes field)]: one for a cassette, one per denomination for a bin
        self.note_edits: dict[str, list[tuple[int, QLineEdit]]] = {}
        self.expected: dict[str, int | None] = {}
        self.derived_labels: dict[str, QLabel] = {}
        self.diff_labels: dict[str, QLabel] = {}
        wizard.ledger_changed.connect(self._ledger_changed)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        atm = self.flow.core_ledger
        self.grid_host.reset(
            (tr("Unit"), tr("Type"), tr("By its counters"), tr("Notes"), tr("Counted"), tr("Difference"))
        )
        self.edits.clear()
        self.note_edits.clear()
        self.derived_labels.clear()
        self.diff_labels.clear()
        self.expected = self._derived()
        for u in atm.units:
            edit = QLineEdit(objectName=f"count_{u.id}")
            edit.setAlignment(Qt.AlignmentFlag.AlignRight)
            edit.setMaximumWidth(160)
            edit.setPlaceholderText("0.00")
            edit.setAccessibleName(tr("Counted cash in %1").replace("%1", u.id))
            if self.flow.counts and u.id in self.flow.counts:
                edit.setText(format_grouped(self.flow.counts[u.id]).replace(",", ""))
            edit.textChanged.connect(self._update)
            # an amount typed over the notes: the notes no longer say what was counted
            edit.textEdited.connect(lambda _t, uid=u.id: self._amount_typed(uid))
            self.edits[u.id] = edit
            derived = self.derived_labels[u.id] = figure_label(name=f"derived_{u.id}")
            diff = self.diff_labels[u.id] = figure_label(name=f"diff_{u.id}")
            if u.value is not None:
                notes = notes_edit(
                    f"notes_{u.id}",
                    tr("Notes counted in %1 (%2 each)")
                    .replace("%1", u.id)
                    .replace("%2", format_grouped(u.value)),
                )
                notes.textChanged.connect(lambda _t, uid=u.id: self._notes_typed(uid))
                self.note_edits[u.id] = [(u.value, notes)]
                self.grid_host.add_row(
                    (
                        u.id,
                        mtr(UNIT_TYPE_NAMES.get(u.type, u.type)),
                        derived,
                        self._cell(notes, tr("× %1").replace("%1", format_grouped(u.value))),
                        edit,
                        diff,
                    )
                )
                self._chain(notes)
                self._chain(edit)
                continue
            self.grid_host.add_row(
                (
                    u.id,
                    mtr(UNIT_TYPE_NAMES.get(u.type, u.type)) + " · " + tr("mixed bin"),
                    derived,
                    tr("by denomination:"),
                    edit,
                    diff,
                )
            )
            self._chain(edit)
            row = QWidget(objectName=f"denominations_{u.id}")
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            # in the page before its fields join the Tab order (Qt orders only one window's widgets)
            self.grid.addWidget(row, self.grid_host.rows, 1, 1, 4)
            self.grid_host.rows += 1
            fields = []
            for value in denominations(atm):
                yuan = format_grouped(value).removesuffix(".00")
                notes = notes_edit(
                    f"notes_{u.id}_{yuan}", tr("%1: notes of %2").replace("%1", u.id).replace("%2", yuan)
                )
                notes.setMaximumWidth(64)
                notes.textChanged.connect(lambda _t, uid=u.id: self._notes_typed(uid))
                label = QLabel(f"{yuan} ×")
                label.setBuddy(notes)
                line.addWidget(label)
                line.addWidget(notes)
                fields.append((value, notes))
                self._chain(notes)
            line.addStretch(1)
            self.note_edits[u.id] = fields
        previous = self.grid_host.last_input
        # rows stay at the top, columns at their natural width
        self.grid.setRowStretch(self.grid.rowCount(), 1)
        self.grid.setColumnStretch(6, 1)
        if previous is not None:
            self.setTabOrder(previous, self.skip)
            self.setTabOrder(self.skip, self.reason)
        if self.flow.count_skip_reason:
            self.skip.setChecked(True)
            self.reason.setText(self.flow.count_skip_reason)
        self._show_derived()
        self._update()
        self.grid.activate()
        # as tall as the rows (up to most of the page; more units scroll)
        self.scroll.setMinimumHeight(min(self.grid_host.sizeHint().height() + 4, MAX_GRID_HEIGHT))
        first = next(iter(self.note_edits.values()), None)
        if first:
            focus_later(first[0][1])

    @staticmethod
    def _cell(edit: QWidget, after: str) -> QWidget:
        cell = QWidget()
        row = QHBoxLayout(cell)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(edit)
        row.addWidget(QLabel(after))
        row.addStretch(1)
        return cell

    def _chain(self, widget: QWidget) -> None:
        """Tab goes through the fields in reading order."""
        if self.grid_host.last_input is not None:
            QWidget.setTabOrder(self.grid_host.last_input, widget)
        self.grid_host.last_input = widget

    # -- what the units should hold -------------------------------------------------------

    def _derived(self) -> dict[str, int | None]:
        """Each unit's derived amount (rules revision 2): count × value from its counters; a
        mixed bin's from the banknote records, so None until they are all read."""
        atm = self.flow.core_ledger
        into = (
            None
            if self.flow.atm is None or self.flow.atm.notes is None
            else notes_into_units(self.flow.atm.notes)
        )
        return {u.id: u.derived_amount(into) for u in atm.units}

    def _ledger_changed(self) -> None:
        if self.flow.core_ledger is None or not self.edits:
            return
        self.expected = self._derived()
        self._show_derived()
        self._update()

    def _show_derived(self) -> None:
        for uid, amount in self.expected.items():
            label = self.derived_labels.get(uid)
            if label is not None:
                label.setText(
                    format_grouped(amount) if amount is not None else tr("waiting for the banknote records")
                )

    # -- typing ---------------------------------------------------------------------------

    def _notes_typed(self, uid: str) -> None:
        """Notes counted: the amount is their value (a bin's denominations add up)."""
        fields = self.note_edits[uid]
        if all(not e.text().strip() for _v, e in fields):
            return
        amount = 0
        for value, e in fields:
            text = e.text().strip()
            if not text:
                continue
            n = parse_note_count(text)
            if n is None:
                self.edits[uid].clear()
                show_error(
                    self.status,
                    tr("Not a number of notes in %1: type whole notes like 120.").replace("%1", uid),
                )
                return
            amount += n * value
        self.edits[uid].setText(format_grouped(amount).replace(",", ""))

    def _amount_typed(self, uid: str) -> None:
        for _v, e in self.note_edits.get(uid, ()):
            e.blockSignals(True)
            e.clear()
            e.blockSignals(False)

    def _skip_toggled(self, on: bool) -> None:
        self.reason.setEnabled(on)
        for e in self.edits.values():
            e.setEnabled(not on)
        for fields in self.note_edits.values():
            for _v, e in fields:
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
            diff_label = self.diff_labels[uid]
            if value is None:
                complete = False
                if edit.text().strip():
                    bad.append(uid)
                diff_label.setText("")
                continue
            total += value
            expected = self.expected.get(uid)
            if expected is not None:
                text, style = difference_words(value - expected)
                diff_label.setText(text)
                diff_label.setStyleSheet(style)
            else:
                diff_label.setText("")
        derived = [v for v in self.expected.values() if v is not None]
        if len(derived) == len(self.expected):
            text = tr("Counted in total: %1. By the units' counters the ATM should hold %2.")
        else:
            text = tr(
                "Counted in total: %1. By the units' counters the cassettes should hold %2 (the "
                "mixed bins follow once the banknote records are read)."
            )
        self.total.setText(
            text.replace("%1", format_grouped(total)).replace("%2", format_grouped(sum(derived)))
        )
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
                    show_error(
                        self.status,
                        tr("Not an amount in %1: type yuan like 1500 or 1500.50.").replace(
                            "%1", ", ".join(bad)
                        ),
                    )
                else:
                    show_info(self.status, tr("Enter the counted cash for every unit (0 for an empty one)."))
        except FlowError as exc:
            self._clear()
            show_error(self.status, describe_error(exc))
        self.changed()

    def _clear(self) -> None:
        self.flow.counts = None
        self.flow.count_skip_reason = None
