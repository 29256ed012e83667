"""Step 6: the reconciliation: totals (green equal, red not), the cash position (长款 / 短款),
and the mismatch list, sortable and filterable, with each item's banknote serials and a
custodian's remark."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from custodian_app.domain.flow import FlowError, Step, mismatch_key
from custodian_app.domain.money import format_grouped
from custodian_app.gui.models import (
    SORT_ROLE,
    MismatchModel,
    NotesModel,
    TotalsModel,
    category_name,
    is_chinese,
)
from custodian_app.gui.wizard.base import FlowPage, show_error, show_info, show_ok, status_label, tr
from custodian_app.gui.workers import Job, describe_error


def cash_position_text(cp, currency: str) -> str:
    d = cp.difference
    if d > 0:
        word = tr("overage (长款)")
    elif d < 0:
        word = tr("shortage (短款)")
    else:
        word = tr("no difference")
    text = (tr("Cash the ATM's books expect: %1 · the backend's books: %2 · difference %3: %4")
            .replace("%1", format_grouped(cp.atm_expected, currency))
            .replace("%2", format_grouped(cp.host_expected, currency))
            .replace("%3", format_grouped(d, plus=True)).replace("%4", word))
    if cp.counted is not None:
        text += "\n" + (tr("Counted: %1 (against the ATM %2, against the backend %3)")
                        .replace("%1", format_grouped(cp.counted, currency))
                        .replace("%2", format_grouped(cp.counted_vs_atm, plus=True))
                        .replace("%3", format_grouped(cp.counted_vs_host, plus=True)))
    return text


class MismatchFilter(QSortFilterProxyModel):
    """Free text over every column, plus one category."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.category: str | None = None
        self.setSortRole(SORT_ROLE)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setFilterKeyColumn(-1)

    def set_category(self, category: str | None) -> None:
        self.beginFilterChange()
        self.category = category
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, row, parent) -> bool:  # noqa: N802
        model: MismatchModel = self.sourceModel()
        if self.category and model.rows[row].category != self.category:
            return False
        return super().filterAcceptsRow(row, parent)


class ReconcilePage(FlowPage):
    step = Step.RECONCILE

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Reconcile"))
        self.setSubTitle(tr("Totals first, then details; the ATM side is the reference. Press Next "
                            "to confirm you have reviewed the list."))
        layout = QVBoxLayout(self)
        self.status = status_label("reconcileStatus")
        layout.addWidget(self.status)
        top = QHBoxLayout()
        self.totals_model = TotalsModel(self)
        self.totals = QTableView(objectName="totalsTable")
        self.totals.setModel(self.totals_model)
        self.totals.verticalHeader().hide()
        self.totals.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.totals.setMaximumHeight(180)
        top.addWidget(self.totals, 3)
        self.cash = QLabel(objectName="cashPosition")
        self.cash.setWordWrap(True)
        top.addWidget(self.cash, 2)
        layout.addLayout(top)

        filters = QHBoxLayout()
        self.filter_edit = QLineEdit(objectName="mismatchFilter")
        self.filter_edit.setPlaceholderText(tr("Filter: TSN, amount, action…"))
        self.filter_edit.setClearButtonEnabled(True)
        self.category_combo = QComboBox(objectName="categoryFilter")
        filters.addWidget(QLabel(tr("&Filter")))
        filters.itemAt(0).widget().setBuddy(self.filter_edit)
        filters.addWidget(self.filter_edit, 2)
        filters.addWidget(self.category_combo, 1)
        layout.addLayout(filters)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = MismatchModel(self)
        self.model.key = mismatch_key
        self.proxy = MismatchFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView(objectName="mismatchTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        split.addWidget(self.table)
        detail = QWidget()
        dl = QVBoxLayout(detail)
        self.detail = QLabel(objectName="mismatchDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        dl.addWidget(self.detail)
        self.notes_model = NotesModel(self)
        self.notes = QTableView(objectName="notesTable")
        self.notes.setModel(self.notes_model)
        self.notes.verticalHeader().hide()
        dl.addWidget(self.notes, 1)
        form = QFormLayout()
        self.remark = QLineEdit(objectName="remarkEdit")
        self.remark.setPlaceholderText(tr("The custodians' remark on this item"))
        self.remark.setEnabled(False)
        self.remark.editingFinished.connect(self._save_remark)
        form.addRow(tr("&Remark"), self.remark)
        dl.addLayout(form)
        split.addWidget(detail)
        split.setSizes([620, 300])
        layout.addWidget(split, 1)

        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.category_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_category(self.category_combo.currentData()))
        self.table.selectionModel().currentRowChanged.connect(self._selected)
        self.setTabOrder(self.filter_edit, self.category_combo)
        self.setTabOrder(self.category_combo, self.table)
        self.setTabOrder(self.table, self.remark)
        self._job: Job | None = None
        self._current = None
        wizard.ledger_changed.connect(self._ledger_changed)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        if self.flow.result is None:
            self.compute()
        else:
            self._show()

    @property
    def waiting_for_notes(self) -> bool:
        return self.flow.step is Step.RECONCILE and self.flow.result is None and self.flow.atm is None

    def _ledger_changed(self) -> None:
        """The read behind the count finished (or failed): reconcile now, or say why not."""
        if self.flow.step is Step.RECONCILE and self.flow.result is None:
            self.compute()

    def compute(self) -> None:
        if self._job is not None:
            return
        if self.flow.atm is None:
            # never on a partial ledger: NOTE_FLOW_MISMATCH and the serials need the notes
            if self.flow.atm_read_error is not None:
                show_error(self.status, tr("Reading the banknote records failed: %1\nCheck the cable, then "
                                           "press Read again. The clearing cannot be reconciled without them.")
                           .replace("%1", self.flow.atm_read_error))
            else:
                show_info(self.status, tr("Waiting for the banknote records from the ATM… The "
                                          "reconciliation starts as soon as they are all in."))
            self.changed()
            return
        flow = self.flow
        clearing = self.ctx.clearing
        show_info(self.status, tr("Reconciling…"))
        self._job = Job(self, lambda ctx: clearing.reconcile_flow(flow, self.ctx.settings), self._computed) \
            .failure(self._failed).heavy().run(self.ctx.runners.background)

    def _computed(self, result) -> None:
        self._job = None
        try:
            self.flow.record_result(result)
        except FlowError as exc:
            show_error(self.status, str(exc))
            return
        self._show()
        self._wizard.persist()
        self.changed()

    def _failed(self, exc) -> None:
        self._job = None
        show_error(self.status, describe_error(exc))

    def _show(self) -> None:
        r = self.flow.result
        self.totals_model.set_rows(r.totals)
        self.cash.setText(cash_position_text(r.cash_position, r.currency))
        self.model.remarks = self.flow.remarks
        self.model.set_rows(r.mismatches)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(7, min(self.table.columnWidth(7), 320))
        self.category_combo.blockSignals(True)
        self.category_combo.clear()
        self.category_combo.addItem(tr("All categories"), None)
        for cat in sorted({m.category for m in r.mismatches}):
            n = sum(1 for m in r.mismatches if m.category == cat)
            self.category_combo.addItem(f"{category_name(cat)} ({n})", cat)
        self.category_combo.blockSignals(False)
        if r.balanced:
            show_ok(self.status, tr("Balanced: the ATM and the backend agree. Press Next."))
        else:
            show_error(self.status, tr("%1 mismatches. Review each item (select it to see its banknotes, "
                                       "add a remark), then press Next.").replace("%1", str(len(r.mismatches))))
        if r.mismatches:
            self.table.selectRow(0)

    def _selected(self, current, _previous) -> None:
        self._save_remark()
        if not current.isValid():
            self._current = None
            self.remark.setEnabled(False)
            return
        row = self.proxy.mapToSource(current).row()
        m = self.model.rows[row]
        self._current = (row, m)
        lines = [f"<b>{category_name(m.category)}</b>"]
        if m.tsn:
            lines.append(tr("TSN %1").replace("%1", m.tsn) + (f" · {m.time}" if m.time else "")
                         + (f" · {m.card}" if m.card else ""))
        if m.host_refs:
            lines.append(tr("Backend references: %1").replace("%1", ", ".join(m.host_refs)))
        if m.side:
            lines.append(tr("Side: %1, item: %2").replace("%1", m.side).replace("%2", m.item or ""))
        lines.append(tr("Cash effect: %1").replace("%1", format_grouped(m.cash_effect, plus=True)))
        lines.append(m.action if is_chinese() else (m.action_en or m.action))
        self.detail.setText("<br>".join(lines))
        notes = [n for n in (self.flow.atm.notes or ()) if m.tsn and n.tsn == m.tsn]
        self.notes_model.set_rows(notes)
        self.remark.setEnabled(not self.flow.supervisor)
        self.remark.setText(self.flow.remarks.get(mismatch_key(m), ""))

    def _save_remark(self) -> None:
        if self._current is None or self.flow.supervisor:
            return
        row, m = self._current
        key = mismatch_key(m)
        text = self.remark.text()
        if text.strip() == self.flow.remarks.get(key, ""):
            return
        try:
            self.flow.set_remark(key, text)
        except FlowError as exc:
            show_error(self.status, str(exc))
            return
        self.model.remark_changed(row)
        self._wizard.persist()
