"""Step 6: the reconciliation: totals (green equal, red not), the cash position (长款 / 短款),
and the mismatch list, sortable and filterable, with each item's banknote serials and a
custodian's remark."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import QT_TR_NOOP, QSortFilterProxyModel, Qt, QTimer
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
from custodian_app.gui.error_words import local_time
from custodian_app.gui.models import (
    SORT_ROLE,
    MismatchModel,
    NotesModel,
    TotalsModel,
    category_name,
    counted,
    is_chinese,
    work_order,
)
from custodian_app.gui.wizard.base import (
    FlowPage,
    show_error,
    show_info,
    show_ok,
    status_label,
    table_view,
    tr,
)
from custodian_app.gui.workers import Hold, Job, describe_error

# the longest the store's work waits for the mismatch list's first paint
RELEASE_LIMIT_MS = 500


def cash_position_text(cp, currency: str) -> str:
    d = cp.difference
    if d > 0:
        word = tr("overage (长款)")
    elif d < 0:
        word = tr("shortage (短款)")
    else:
        word = tr("no difference")
    text = (
        tr(
            "Cash the ATM should hold by its transactions (loaded + deposits − withdrawals): %1 · "
            "by the backend's books: %2 · difference %3: %4"
        )
        .replace("%1", format_grouped(cp.atm_expected, currency))
        .replace("%2", format_grouped(cp.host_expected, currency))
        .replace("%3", format_grouped(d, plus=True))
        .replace("%4", word)
    )
    if cp.counted is not None:
        text += "\n" + (
            tr("Counted: %1 (against the ATM %2, against the backend %3)")
            .replace("%1", format_grouped(cp.counted, currency))
            .replace("%2", format_grouped(cp.counted_vs_atm, plus=True))
            .replace("%3", format_grouped(cp.counted_vs_host, plus=True))
        )
    return text


def notes_by_tsn(notes) -> dict:
    """The banknote records of each transaction (a ledger has a hundred thousand and more)."""
    index: dict[str, list] = {}
    for n in notes or ():
        if n.tsn:
            index.setdefault(n.tsn, []).append(n)
    return index


MAX_COLUMN = 200  # px: wider columns are elided, so Action and Remark stay on screen
MIN_COLUMN = 56
REMARK_ROOM = 90  # px kept for the last column, Remark
SORT_KEY = "mismatchTable/sort"


def _prefs():
    from PySide6.QtCore import QSettings

    from custodian_app.settings.paths import data_dir

    return QSettings(str(data_dir() / "window.ini"), QSettings.Format.IniFormat)


def sort_choice() -> tuple[int, int]:
    """(column, order) the user last sorted the mismatch list by; (-1, 0): work order."""
    value = _prefs().value(SORT_KEY, "")
    try:
        section, order = (int(v) for v in str(value).split(","))
    except ValueError:
        return -1, 0
    return section, order


def remember_sort_choice(section: int, order) -> None:
    _prefs().setValue(SORT_KEY, f"{section},{int(getattr(order, 'value', order))}")


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
        self.setSubTitle(
            tr(
                "Totals first, then details; the ATM side is the reference. Press Next "
                "to confirm you have reviewed the list."
            )
        )
        layout = QVBoxLayout(self)
        self.status = status_label("reconcileStatus")
        layout.addWidget(self.status)
        top = QHBoxLayout()
        self.totals_model = TotalsModel(self)
        self.totals = table_view("totalsTable", tr("Totals: the ATM against the backend"))
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

        # the list above, the selected item's detail and banknotes below: both get the page's
        # full width, so no column is pushed off a 1366 px screen
        split = QSplitter(Qt.Orientation.Vertical)
        self.model = MismatchModel(self)
        self.model.key = mismatch_key
        self.proxy = MismatchFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = table_view("mismatchTable", tr("Mismatch list"))
        self.table.setModel(self.proxy)
        # no column sort until the user picks one: the rows come in work order (models.work_order)
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.table.setSortingEnabled(True)
        self.table.setWordWrap(False)
        self.table.horizontalHeader().setSectionsMovable(False)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        split.addWidget(self.table)
        detail = QWidget()
        dl = QHBoxLayout(detail)
        dl.setContentsMargins(0, 0, 0, 0)
        right = QVBoxLayout()
        self.detail = QLabel(objectName="mismatchDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        dl.addWidget(self.detail, 2)
        dl.addLayout(right, 3)
        self.notes_model = NotesModel(self)
        self.notes = table_view("notesTable", tr("Banknote serials of the selected item"))
        self.notes.setModel(self.notes_model)
        self.notes.verticalHeader().hide()
        self.notes.horizontalHeader().setStretchLastSection(True)
        right.addWidget(self.notes, 1)
        form = QFormLayout()
        self.remark = QLineEdit(objectName="remarkEdit")
        self.remark.setPlaceholderText(tr("The custodians' remark on this item"))
        self.remark.setEnabled(False)
        self.remark.editingFinished.connect(self._save_remark)
        form.addRow(tr("&Remark"), self.remark)
        right.addLayout(form)
        split.addWidget(detail)
        split.setSizes([300, 180])
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        self.table.viewport().installEventFilter(self)
        # fitting the columns measures this many rows, not all of a long list
        self.table.horizontalHeader().setResizeContentsPrecision(200)
        self._notes_by_tsn: dict | None = None
        self._natural: list[int] = []
        layout.addWidget(split, 1)

        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.category_combo.currentIndexChanged.connect(
            lambda _i: self.proxy.set_category(self.category_combo.currentData())
        )
        self.table.selectionModel().currentRowChanged.connect(self._selected)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._remember_sort)
        self.setTabOrder(self.filter_edit, self.category_combo)
        self.setTabOrder(self.category_combo, self.table)
        self.setTabOrder(self.table, self.remark)
        self._job: Job | None = None
        self._hold: Hold | None = None
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
                show_error(
                    self.status,
                    tr(
                        "Reading the banknote records failed: %1\nCheck the cable, then "
                        "press Read again. The clearing cannot be reconciled without them."
                    ).replace("%1", self.flow.atm_read_error),
                )
            else:
                show_info(
                    self.status,
                    tr(
                        "Waiting for the banknote records from the ATM… The "
                        "reconciliation starts as soon as they are all in."
                    ),
                )
            self.changed()
            return
        flow = self.flow
        clearing = self.ctx.clearing
        show_info(self.status, tr("Reconciling…"))

        def op(_ctx):
            return clearing.reconcile_flow(flow, self.ctx.settings), notes_by_tsn(flow.atm.notes)

        # The store's work queued from now on (when the custodians counted while the banknote
        # records were read: storing them) waits until the list has been painted.
        hold = self._hold = Hold(self.ctx.runners.database)
        self.destroyed.connect(lambda *_: hold.release())
        self._job = (
            Job(self, op, self._computed).failure(self._failed).heavy().run(self.ctx.runners.background)
        )

    def _computed(self, computed) -> None:
        self._job = None
        result, self._notes_by_tsn = computed
        try:
            self.flow.record_result(result)
        except FlowError as exc:
            self._release_store()
            show_error(self.status, describe_error(exc))
            return
        self._show()
        self.changed()
        # storing the result and building the draft report run Python on other threads: started
        # from the event loop, after this page has been laid out and painted
        QTimer.singleShot(0, self._wizard, self._wizard.persist)
        # the store goes on after the list's first paint (eventFilter), or at the latest after
        # RELEASE_LIMIT_MS should none come (the page is not on screen)
        QTimer.singleShot(RELEASE_LIMIT_MS, self, self._release_store)

    def _release_store(self) -> None:
        if self._hold is not None:
            self._hold.release()
            self._hold = None

    def _failed(self, exc) -> None:
        self._job = None
        self._release_store()
        show_error(self.status, describe_error(exc))

    def _show(self) -> None:
        r = self.flow.result
        self.totals_model.set_rows(r.totals)
        self.cash.setText(cash_position_text(r.cash_position, r.currency))
        self.model.remarks = self.flow.remarks
        self.model.set_rows(work_order(r.mismatches))
        # the draft is ready when they press Next
        QTimer.singleShot(0, self, self._wizard.pages[Step.REPORT].prebuild)
        self._apply_sort_choice()
        self.table.resizeColumnsToContents()
        self._natural = [
            self.table.horizontalHeader().sectionSize(c) for c in range(self.model.columnCount())
        ]
        self.fit_columns()
        self.table.setColumnWidth(7, min(self.table.columnWidth(7), 320))
        self.category_combo.blockSignals(True)
        self.category_combo.clear()
        self.category_combo.addItem(tr("All categories"), None)
        for cat, n in sorted(Counter(m.category for m in r.mismatches).items()):
            self.category_combo.addItem(f"{category_name(cat)} ({n})", cat)
        self.category_combo.blockSignals(False)
        if r.balanced:
            show_ok(self.status, tr("Balanced: the ATM and the backend agree. Press Next."))
        else:
            show_error(
                self.status,
                counted(
                    len(r.mismatches),
                    QT_TR_NOOP(
                        "1 mismatch. Review it (select it to see its banknotes, add a remark), then press Next."
                    ),
                    QT_TR_NOOP(
                        "%1 mismatches. Review each item (select it to see its banknotes, "
                        "add a remark), then press Next."
                    ),
                ),
            )
        if r.mismatches:
            self.table.selectRow(0)

    def fit_columns(self) -> None:
        """Every column in sight at 1366 px: the widest are narrowed (elided with "…"; the
        tooltip and the detail beside show all) until Remark has room; the user may drag them."""
        if not self._natural:
            return
        header = self.table.horizontalHeader()
        widths = [min(w, MAX_COLUMN) for w in self._natural[:-1]]
        room = self.table.viewport().width() - REMARK_ROOM
        while sum(widths) > room and max(widths) > MIN_COLUMN:
            i = widths.index(max(widths))
            widths[i] = max(MIN_COLUMN, widths[i] - 8)
        for col, w in enumerate(widths):
            header.resizeSection(col, w)

    def eventFilter(self, watched, event) -> bool:  # noqa: N802 - Qt API
        from PySide6.QtCore import QEvent

        if watched is self.table.viewport():
            if event.type() == QEvent.Type.Resize:
                self.fit_columns()
            elif (
                event.type() == QEvent.Type.Paint and self._hold is not None and self.flow.result is not None
            ):
                # this paint is under way: the store goes on once it is done
                QTimer.singleShot(0, self, self._release_store)
        return False

    # -- the user's sort, remembered between clearings (on this PC, in the data folder) -----

    def _apply_sort_choice(self) -> None:
        section, order = sort_choice()
        if 0 <= section < self.model.columnCount():
            self.table.sortByColumn(section, Qt.SortOrder(order))
        else:
            self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            self.proxy.sort(-1)

    def _remember_sort(self, section: int, order) -> None:
        if section >= 0:
            remember_sort_choice(section, order)

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
            lines.append(
                tr("TSN %1").replace("%1", m.tsn)
                + (f" · {local_time(m.time)}" if m.time else "")
                + (f" · {m.card}" if m.card else "")
            )
        if m.host_refs:
            lines.append(tr("Backend references: %1").replace("%1", ", ".join(m.host_refs)))
        if m.side:
            lines.append(tr("Side: %1, item: %2").replace("%1", m.side).replace("%2", m.item or ""))
        lines.append(tr("Cash effect: %1").replace("%1", format_grouped(m.cash_effect, plus=True)))
        lines.append(m.action if is_chinese() else (m.action_en or m.action))
        self.detail.setText("<br>".join(lines))
        if self._notes_by_tsn is None:  # a resumed session: its result came from the store
            self._notes_by_tsn = notes_by_tsn(self.flow.atm.notes)
        notes = self._notes_by_tsn.get(m.tsn, []) if m.tsn else []
        self.notes_model.set_rows(notes)
        self.notes.resizeColumnsToContents()  # a few rows: Serial, Value, Event, Unit and TSN fit
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
            show_error(self.status, describe_error(exc))
            return
        self.model.remark_changed(row)
        self._wizard.persist()
