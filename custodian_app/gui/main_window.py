"""The main window: terminals and their last clearing, the history of sessions (reprint), the
banknote-serial search (冠字号查询), settings, language; it starts and resumes clearings."""

from __future__ import annotations

import logging

from PySide6.QtCore import QT_TR_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from custodian_app.gui import dialogs, i18n
from custodian_app.gui.models import RecordsModel, counted
from custodian_app.gui.workers import describe_error

log = logging.getLogger(__name__)


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


# room either side of a column's widest text, so that columns do not run into each other
COLUMN_PADDING = 24
MIN_COLUMN_WIDTH = 72


def fit_columns(view: QTableView) -> None:
    """Each column as wide as its header and its contents (plus some room), the last one
    taking what is left. The custodian may still drag a column wider or narrower."""
    header = view.horizontalHeader()
    view.resizeColumnsToContents()
    for col in range(header.count() - 1):
        header.resizeSection(col, max(MIN_COLUMN_WIDTH, header.sectionSize(col) + COLUMN_PADDING))


def _table(name: str, model) -> QTableView:
    view = QTableView(objectName=name)
    view.setTabKeyNavigation(False)  # Tab leaves the table; arrows move inside
    view.setModel(model)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setSelectionMode(QTableView.SelectionMode.SingleSelection)
    view.setSortingEnabled(False)
    view.verticalHeader().hide()
    header = view.horizontalHeader()
    # Interactive, fitted when the rows change: ResizeToContents would pack the columns
    # edge to edge and measure every row on each repaint
    header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    header.setMinimumSectionSize(MIN_COLUMN_WIDTH // 2)
    header.setStretchLastSection(True)
    model.modelReset.connect(lambda: fit_columns(view))
    fit_columns(view)
    return view


class MainWindow(QMainWindow):
    def __init__(self, ctx) -> None:
        super().__init__()
        self.ctx = ctx
        self.setObjectName("mainWindow")
        self.wizard = None
        self._build()
        self.refresh()

    # -- building -------------------------------------------------------------------------

    def _build(self) -> None:
        title = tr("ATM clearing")
        if self.ctx.banner:
            title += " — " + self.ctx.banner
        self.setWindowTitle(title)
        self.resize(1000, 640)
        menu = self.menuBar()
        clearing = menu.addMenu(tr("&Clearing"))
        self.new_action = QAction(tr("&New clearing…"), self, objectName="newClearingAction")
        self.new_action.setShortcut(QKeySequence.StandardKey.New)
        self.new_action.triggered.connect(self.new_clearing)
        clearing.addAction(self.new_action)
        self.resume_action = QAction(tr("&Resume an interrupted clearing…"), self, objectName="resumeAction")
        self.resume_action.triggered.connect(lambda: self.offer_resumption(explicit=True))
        clearing.addAction(self.resume_action)
        clearing.addSeparator()
        quit_action = QAction(tr("&Quit"), self, objectName="quitAction")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        clearing.addAction(quit_action)
        tools = menu.addMenu(tr("T&ools"))
        self.settings_action = QAction(tr("&Settings…"), self, objectName="settingsAction")
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.triggered.connect(self.open_settings)
        tools.addAction(self.settings_action)
        lang = menu.addMenu(tr("&Language"))
        for code, name in i18n.LANGUAGES.items():
            act = QAction(name, self, objectName=f"language_{code}")
            act.triggered.connect(lambda _c=False, code=code: self.set_language(code))
            lang.addAction(act)

        central = QWidget()
        layout = QVBoxLayout(central)
        if self.ctx.banner:
            banner = QLabel(self.ctx.banner, objectName="demoBanner")
            banner.setStyleSheet("background: #fff8e1; padding: 6px; border: 1px solid #ffe082;")
            banner.setWordWrap(True)
            layout.addWidget(banner)
        top = QHBoxLayout()
        self.new_button = QPushButton(tr("&New clearing"), objectName="newClearingButton")
        self.new_button.clicked.connect(self.new_clearing)
        self.new_button.setDefault(True)
        top.addWidget(self.new_button)
        self.empty_hint = QLabel(
            tr(
                "No clearing on record yet. Press New clearing (Ctrl+N) to clear "
                "an ATM: two custodians sign in, then the wizard leads the way."
            ),
            objectName="emptyHint",
        )
        self.empty_hint.setWordWrap(True)
        self.empty_hint.hide()
        top.addWidget(self.empty_hint, 3)
        top.addStretch(1)
        layout.addLayout(top)
        self.tabs = QTabWidget(objectName="mainTabs")
        layout.addWidget(self.tabs, 1)

        # terminals and their last clearing
        self.terminals_model = RecordsModel(
            [
                ("terminal_id", tr("Terminal")),
                ("cycle_id", tr("Cycle")),
                ("state", tr("Last clearing")),
                ("updated_at", tr("When")),
                ("balanced", tr("Balanced")),
                ("custodians", tr("Custodians")),
            ],
            self,
        )
        self.terminals = _table("terminalsTable", self.terminals_model)
        self.terminals.setAccessibleName(tr("Terminals and their last clearing"))
        self.tabs.addTab(self.terminals, tr("&Terminals"))

        # history with reprint
        hist = QWidget()
        hl = QVBoxLayout(hist)
        self.history_model = RecordsModel(
            [
                ("id", tr("Session")),
                ("terminal_id", tr("Terminal")),
                ("cycle_id", tr("Cycle")),
                ("state", tr("State")),
                ("started_at", tr("Started")),
                ("custodians", tr("Custodians")),
                ("supervisor", tr("Supervisor")),
                ("mismatches", tr("Mismatches")),
            ],
            self,
        )
        self.history = _table("historyTable", self.history_model)
        self.history.setAccessibleName(tr("Clearing history"))
        self.history.doubleClicked.connect(lambda _i: self.reprint())
        hl.addWidget(self.history, 1)
        row = QHBoxLayout()
        self.reprint_button = QPushButton(tr("&Reprint report…"), objectName="reprintButton")
        self.reprint_button.clicked.connect(self.reprint)
        row.addWidget(self.reprint_button)
        row.addStretch(1)
        self.history_status = QLabel(objectName="historyStatus")
        row.addWidget(self.history_status)
        hl.addLayout(row)
        self.tabs.addTab(hist, tr("&History"))

        # banknote serial search
        search = QWidget()
        sl = QVBoxLayout(search)
        srow = QHBoxLayout()
        self.serial_edit = QLineEdit(objectName="serialSearchEdit")
        self.serial_edit.setPlaceholderText(
            tr("Banknote serial, e.g. AB12345678 (? for an unreadable character)")
        )
        self.serial_edit.returnPressed.connect(self.search_serial)
        self.serial_button = QPushButton(tr("&Search"), objectName="serialSearchButton")
        self.serial_button.clicked.connect(self.search_serial)
        label = QLabel(tr("S&erial (冠字号)"))
        label.setBuddy(self.serial_edit)
        srow.addWidget(label)
        srow.addWidget(self.serial_edit, 1)
        srow.addWidget(self.serial_button)
        sl.addLayout(srow)
        self.serial_model = RecordsModel(
            [
                ("serial", tr("Serial")),
                ("value", tr("Value")),
                ("event", tr("Event")),
                ("tsn", tr("TSN")),
                ("time", tr("Time")),
                ("card", tr("Card")),
                ("terminal_id", tr("Terminal")),
                ("cycle_id", tr("Cycle")),
            ],
            self,
        )
        self.serial_table = _table("serialSearchTable", self.serial_model)
        self.serial_table.setAccessibleName(tr("Banknote movements found"))
        sl.addWidget(self.serial_table, 1)
        self.serial_status = QLabel(objectName="serialSearchStatus")
        sl.addWidget(self.serial_status)
        self.tabs.addTab(search, tr("&Banknote serials"))
        self.setCentralWidget(central)
        self.statusBar().setObjectName("statusBar")

    def set_language(self, code: str) -> None:
        """Switch at once: the main window is rebuilt in the new language; the setting is kept."""
        self.ctx.set_language(code)
        i18n.install(code)
        old = self.centralWidget()
        self.menuBar().clear()
        self._build()
        old.deleteLater()
        self.refresh()
        if self.wizard is not None:
            self.statusBar().showMessage(
                tr("The open clearing keeps its language until it is finished or reopened.")
            )

    # -- data -----------------------------------------------------------------------------

    def refresh(self) -> None:
        clearing = self.ctx.clearing

        def op(store):
            return clearing.list_terminals(store), clearing.list_sessions(store)

        def got(data) -> None:
            terminals, sessions = data
            self.terminals_model.set_rows(terminals)
            self.history_model.set_rows(sessions)
            self.empty_hint.setVisible(not sessions)
            self.statusBar().showMessage(
                counted(len(sessions), QT_TR_NOOP("1 session on record"), QT_TR_NOOP("%1 sessions on record"))
            )

        self.ctx.run_db(self, op, got, lambda e: self.statusBar().showMessage(describe_error(e)))

    def search_serial(self) -> None:
        text = self.serial_edit.text().strip().upper()
        if len(text) < 4:
            self.serial_status.setText(tr("Type at least 4 characters of the serial."))
            return
        clearing = self.ctx.clearing
        self.serial_status.setText(tr("Searching…"))

        def got(rows) -> None:
            self.serial_model.set_rows(rows)
            self.serial_status.setText(
                counted(
                    len(rows),
                    QT_TR_NOOP("1 banknote movement found."),
                    QT_TR_NOOP("%1 banknote movements found."),
                )
            )

        self.ctx.run_db(
            self,
            lambda store: clearing.find_serial(store, text),
            got,
            lambda e: self.serial_status.setText(describe_error(e)),
        )

    def selected_session(self):
        idx = self.history.currentIndex()
        if not idx.isValid():
            return None
        return self.history_model.rows[idx.row()]

    def reprint(self) -> None:
        row = self.selected_session()
        if row is None:
            self.history_status.setText(tr("Select a session first."))
            return
        clearing = self.ctx.clearing
        sid = row.get("id") if isinstance(row, dict) else row.id

        def got(path) -> None:
            if path is None:
                self.history_status.setText(tr("This session has no report (it ended before the report)."))
                return
            from custodian_app.gui.report_viewer import ReportViewer

            viewer = ReportViewer(str(path), self)
            viewer.show()
            self.history_status.setText("")

        self.ctx.run_db(
            self,
            lambda store: clearing.report_file(store, sid),
            got,
            lambda e: self.history_status.setText(describe_error(e)),
        )

    # -- clearings ------------------------------------------------------------------------

    def new_clearing(self, flow=None, session_id=None) -> None:
        if self.wizard is not None:
            self.wizard.raise_()
            self.wizard.activateWindow()
            return
        from custodian_app.gui.wizard import ClearingWizard

        self.wizard = ClearingWizard(
            self.ctx, flow if flow is not None and not isinstance(flow, bool) else None, session_id, self
        )
        self.wizard.setWindowModality(Qt.WindowModality.NonModal)
        self.wizard.finished.connect(self._wizard_done)
        self.wizard.show()

    def _wizard_done(self, _result: int) -> None:
        w, self.wizard = self.wizard, None
        if w is not None:
            w.deleteLater()
        self.refresh()

    def offer_resumption(self, explicit: bool = False) -> None:
        """On start: an interrupted session is offered for resumption."""
        clearing = self.ctx.clearing

        def got(sessions) -> None:
            if not sessions:
                if explicit:
                    dialogs.ask(self, tr("Resume"), tr("No interrupted clearing is waiting."), kind="info")
                return
            s = sessions[0]
            text = (
                tr('The clearing of terminal %1 (cycle %2) by %3 was interrupted at "%4". Resume it?')
                .replace("%1", str(s["terminal_id"] or "?"))
                .replace("%2", str(s["cycle_id"] or "?"))
                .replace("%3", " & ".join(s["custodians"]))
                .replace("%4", s["state"])
            )

            def answered(key: str) -> None:
                if key == "yes":
                    self.resume(s["id"])

            dialogs.ask(
                self,
                tr("Resume the interrupted clearing?"),
                text,
                buttons=("yes", "no"),
                default="yes",
                callback=answered,
            )

        self.ctx.run_db(
            self,
            clearing.interrupted_sessions,
            got,
            lambda e: self.statusBar().showMessage(describe_error(e)),
        )

    def resume(self, session_id) -> None:
        clearing = self.ctx.clearing

        def got(flow) -> None:
            self.new_clearing(flow, session_id)

        def failed(exc) -> None:
            dialogs.ask(
                self,
                tr("Resume"),
                tr("The session cannot be resumed: %1").replace("%1", describe_error(exc)),
                kind="warning",
            )

        self.ctx.run_db(self, lambda store: clearing.resume_flow(store, session_id), got, failed)

    def open_settings(self) -> None:
        from custodian_app.gui.settings_dialog import SettingsDialog

        dlg = SettingsDialog(self.ctx, self)
        dlg.accepted.connect(self.refresh)
        dlg.open()

    def closeEvent(self, event) -> None:  # noqa: N802
        if self.wizard is not None:
            self.wizard.close()
            if self.wizard is not None and self.wizard.isVisible():
                event.ignore()
                return
        super().closeEvent(event)
