"""Step 3: read the ATM's ledger (progress, cancel), then show its cassettes. Two ways in:
over the maintenance port, or from the ATM's journal files on a USB stick
(``journal_read``; chosen on the connect page).

A little over 500 lines, kept whole: both ways in end in the same ledger panel, progress and
hand-over to the clearing flow, which this page owns; the journal's own widgets are apart."""

from __future__ import annotations

import os

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from custodian_app.domain.flow import FlowError, Step
from custodian_app.gui.models import UnitLevelsChart, UnitsModel
from custodian_app.gui.wizard import journal_read
from custodian_app.gui.wizard.base import (
    FlowPage,
    show_error,
    show_info,
    show_ok,
    status_label,
    table_view,
    tr,
)
from custodian_app.gui.workers import Job, JobCancelled, describe_error


def progress_figures(value) -> tuple[int, int, int, float | None]:
    """(bytes, records, records in all, seconds left or None) as the link reports them."""
    if isinstance(value, tuple) and len(value) == 1 and isinstance(value[0], tuple):
        value = value[0]
    nbytes, done, total, eta = (tuple(value) + (0, 0, 0, None))[:4]
    return int(nbytes or 0), int(done or 0), int(total or 0), eta


class ReadAtmPage(FlowPage):
    step = Step.READ_ATM

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Read the ATM"))
        self.setSubTitle(tr("The ATM's ledger for this cycle is read over the maintenance port."))
        layout = QVBoxLayout(self)
        self.serial_box = QWidget(objectName="serialReadBox")
        row = QHBoxLayout(self.serial_box)
        row.setContentsMargins(0, 0, 0, 0)
        self.read_button = QPushButton(tr("&Read ledger"), objectName="readButton")
        self.read_button.clicked.connect(self.start_read)
        self.cancel_button = QPushButton(tr("&Cancel reading"), objectName="cancelReadButton")
        self.cancel_button.clicked.connect(self.cancel_read)
        self.cancel_button.setEnabled(False)
        # it has the focus while reading (Space cancels); Enter, pressed out of habit right
        # after starting, must not
        self.cancel_button.setAutoDefault(False)
        row.addWidget(self.read_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        layout.addWidget(self.serial_box)
        self.journal = journal_read.JournalBox(self.start_journal_read)
        self.journal.folder_button.clicked.connect(self._choose_folder)
        self.journal.fsn_button.clicked.connect(self._choose_fsn)
        self.journal.cancel_button.clicked.connect(self.cancel_read)
        self.journal.dialect.currentIndexChanged.connect(lambda _i: self.journal.clear_gaps())
        self.journal.changed.connect(self.changed)
        layout.addWidget(self.journal)
        self.journal.chain_tabs()
        self.journal.hide()
        self.progress = QProgressBar(objectName="readProgress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.figures = QLabel(objectName="readFigures")
        layout.addWidget(self.figures)
        self.status = status_label("readStatus")
        layout.addWidget(self.status)
        # the units' table and chart show once the units are read: before, they are empty boxes
        self.units_box = QWidget(objectName="unitsBox")
        tables = QHBoxLayout(self.units_box)
        tables.setContentsMargins(0, 0, 0, 0)
        self.units_model = UnitsModel(self)
        self.units = table_view("unitsTable", tr("Cassettes and bins read from the ATM"))
        self.units.setModel(self.units_model)
        self.units.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.units.verticalHeader().hide()
        self.chart = UnitLevelsChart(objectName="unitsChart")
        tables.addWidget(self.units, 3)
        tables.addWidget(self.chart, 2)
        layout.addWidget(self.units_box, 1)
        self.units_box.hide()
        layout.addStretch(0)
        self._job: Job | None = None
        self._done = self._total = 0

    @property
    def panel(self):
        return self._wizard.atm_panel

    @property
    def reading(self) -> bool:
        return self._job is not None

    @property
    def from_journal(self) -> bool:
        return self.flow.atm_from_journal

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        # a journal read opens the store's session once the terminal is known (the serial way
        # opened it at connect): one open clearing per ATM
        return super().isComplete() and (not self.from_journal or self._wizard.session_id is not None)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.serial_box.setVisible(not self.from_journal)
        self.journal.setVisible(self.from_journal)
        if self.from_journal:
            self.setSubTitle(
                tr(
                    "The ATM's ledger for this cycle is read from its journal files: choose the "
                    "USB stick or folder holding them."
                )
            )
        else:
            self.setSubTitle(tr("The ATM's ledger for this cycle is read over the maintenance port."))
        if self.from_journal and self.flow.atm is None:
            self._init_journal()
            return
        if self.flow.atm is not None:
            self._show_ledger()
        elif self.flow.core_read:
            self._show_core()
        elif self._job is None:
            self.start_read()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back)
        self.cancel_read()

    def start_read(self) -> None:
        """Read the ledger; also the retry after a failure (the core must come back the same)."""
        if self._job is not None or self.flow.atm is not None or self.flow.finished or self.from_journal:
            return
        self.read_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.figures.clear()
        show_info(self.status, tr("Reading the ATM's ledger…"))
        self.panel.set_reading()
        self._job = (
            Job(self, self.ctx.op_read_ledger(core_as_partial=True), self._read)
            .failure(self._failed)
            .with_progress(self._progressed)
            .with_partial(self._core)
            .heavy()
            .run(self.ctx.runners.serial)
        )
        if self._wizard.currentId() == int(self.step):
            self.cancel_button.setFocus()

    def cancel_read(self) -> None:
        if self._job is not None:
            self._job.cancel()
            show_info(self.status, tr("Cancelling…"))

    def _progressed(self, value) -> None:
        nbytes, done, total, eta = progress_figures(value)
        self._done, self._total = done, total
        text = (
            tr("%1 of %2 records, %3 KiB")
            .replace("%1", f"{done:,}")
            .replace("%2", f"{total:,}")
            .replace("%3", f"{nbytes / 1024:,.0f}")
        )
        if total:
            # QProgressBar repaints itself at once on a new value (and what lies under it with
            # it); with updates off it is painted with the rest of the window, in the event loop
            bar = self.progress
            bar.setUpdatesEnabled(False)
            try:
                bar.setRange(0, total)
                bar.setValue(min(done, total))
            finally:
                bar.setUpdatesEnabled(True)
        if eta is not None:
            text += " · " + tr("about %1 s left").replace("%1", f"{eta:.0f}")
        self.figures.setText(text)
        if self.flow.notes_pending:
            self.panel.set_notes_coming(done, total)
        else:
            self.panel.set_reading(done, total)

    def _core(self, core) -> None:
        """The totals, units and transactions are in; the banknote records keep coming."""
        try:
            self.flow.record_atm_core(core)
        except FlowError as exc:
            self.cancel_read()
            message = describe_error(exc)
            show_error(self.status, message)
            self.panel.set_failed(message)
            return
        self._show_core()
        self._wizard.ledger_changed.emit()
        self.changed()
        if self._wizard.currentId() == int(self.step):
            self._wizard.next_button_focus()

    def _show_core(self) -> None:
        core = self.flow.core_ledger
        self.read_button.setEnabled(self._job is None)
        show_ok(
            self.status,
            tr(
                "The %1 transactions of cycle %2 are in: press Next to count the cash. "
                "The banknote records are still being read; the reconciliation "
                "waits for them."
            )
            .replace("%1", f"{len(core.transactions):,}")
            .replace("%2", core.cycle_id),
        )
        self.panel.set_notes_coming(self._done, self._total)
        self.units_model.set_units(core.units, core.currency)
        self.chart.set_units(core.units)
        self.units_box.show()

    def _read(self, ledger) -> None:
        self._job = None
        self.cancel_button.setEnabled(False)
        try:
            self.flow.record_atm_ledger(ledger)
        except FlowError as exc:
            self.read_button.setEnabled(True)
            message = describe_error(exc)
            show_error(self.status, message)
            self.flow.record_atm_read_failed(message)
            self.panel.set_failed(message)
            self._wizard.ledger_changed.emit()
            return
        self._show_ledger()
        self._wizard.ledger_changed.emit()
        self.changed()
        if self._wizard.currentId() == int(self.step):
            self._wizard.next_button_focus()
        # Storing the ledger (tens of thousands of records) keeps the database thread busy in
        # Python for seconds. Started from here, it would compete for the interpreter lock
        # with every call Qt makes into Python while laying out and painting this page (see
        # workers.GUI_SWITCH_INTERVAL_S); from the event loop, the page is shown first.
        QTimer.singleShot(0, self._wizard, self._wizard.persist)

    def _show_ledger(self) -> None:
        atm = self.flow.atm
        self.read_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        n = len(atm.transactions)
        notes = len(atm.notes or ())
        self.figures.setText(tr("%1 records read.").replace("%1", f"{n + notes + len(atm.units):,}"))
        show_ok(
            self.status,
            tr("Read %1 transactions and %2 banknote records of cycle %3.")
            .replace("%1", f"{n:,}")
            .replace("%2", f"{notes:,}")
            .replace("%3", atm.cycle_id),
        )
        self.panel.set_complete(n, notes)
        self.units_model.set_units(atm.units, atm.currency)
        self.chart.set_units(atm.units)
        self.units_box.show()

    def _failed(self, exc) -> None:
        self._job = None
        self.read_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        cancelled = isinstance(exc, JobCancelled) or type(exc).__name__.endswith("Cancelled")
        if self.flow.core_read:
            # the custodians may be counting already: the panel beside every page says so
            message = (
                tr("the read was cancelled")
                if cancelled
                else describe_error(exc, port=self._port(), lost=True)
            )
            self.flow.record_atm_read_failed(message)
            self.panel.set_failed(message)
            show_error(
                self.status,
                tr(
                    "Reading the banknote records failed: %1\nCheck the cable, then "
                    "press Read again. The clearing cannot be reconciled without them."
                ).replace("%1", message),
            )
            self._wizard.ledger_changed.emit()
            self.changed()
            return
        self.figures.clear()  # no "0 of 0 records" left behind
        if cancelled:
            self.panel.set_idle()
            show_info(self.status, tr("Reading was cancelled. Press Read ledger to start again."))
            return
        # the port opened at connect: failing now, it was lost (a cable pulled), not never there
        message = describe_error(exc, port=self._port(), lost=True)
        self.panel.set_read_failed(message)
        show_error(
            self.status,
            message
            + "\n"
            + tr(
                "Check the cable and that the ATM is still in maintenance mode, then press Read ledger "
                "to try again (or Back to connect on another port)."
            ),
        )

    def _port(self) -> str:
        return self.ctx.port

    # -- the second way in: the ATM's journal files ----------------------------------------

    def _init_journal(self) -> None:
        from custodian_app.journal import available_dialects

        if self.journal.dialect.count() == 0:
            self.journal.set_dialects(available_dialects())
        if self._job is None and not self.journal.folder:
            show_info(
                self.status, tr("Plug in the USB stick with the ATM's journal files and choose its folder.")
            )
            self.journal.folder_button.setFocus()

    def _choose_folder(self) -> None:
        journal_read.ask_folder(self, tr("The folder with the ATM's journal files"), self._folder_chosen)

    def _choose_fsn(self) -> None:
        journal_read.ask_folder(self, tr("The folder with the FSN banknote files"), self._fsn_chosen)

    def _fsn_chosen(self, folder: str) -> None:
        if folder:
            self.journal.fsn_edit.setText(folder)

    def _folder_chosen(self, folder: str) -> None:
        if not folder:
            return
        show_info(self.status, tr("Looking for journal files in %1…").replace("%1", folder))

        def found(result) -> None:
            journals, fsn_dir = result
            self.journal.show_found(folder, journals, fsn_dir)
            if not journals:
                show_error(
                    self.status,
                    tr(
                        "No journal file in %1 (files ending .txt, .jrn, .log or .ej): choose "
                        "the folder the ATM wrote its journal into."
                    ).replace("%1", folder),
                )
                return
            show_info(
                self.status,
                tr(
                    "Found %1 journal file(s). Check the journal layout, then press Read the journals."
                ).replace("%1", str(len(journals))),
            )
            self.journal.read_button.setFocus()

        def failed(exc) -> None:
            show_error(
                self.status,
                tr("The folder %1 cannot be read (%2): check the USB stick, then choose the folder again.")
                .replace("%1", folder)
                .replace("%2", getattr(exc, "strerror", None) or type(exc).__name__),
            )

        Job(self, lambda _ctx: journal_read.find_journal_files(folder), found).failure(failed).run(
            self.ctx.runners.background
        )

    def start_journal_read(self) -> None:
        if self._job is not None or self.flow.atm is not None or self.flow.finished:
            return
        paths, fsn_dir, dialect = self.journal.journals(), self.journal.fsn_dir(), self.journal.dialect_name()
        accept = self.journal.gaps_box.isVisible() and self.journal.accept_gaps.isChecked()
        success = self.ctx.settings.success_code_set()
        where = self.journal.folder or os.path.dirname(paths[0])

        def op(ctx):
            from custodian_app.domain import formats
            from custodian_app.journal import read_journals

            def progress(done: int, total: int) -> None:
                ctx.check()  # Cancel stops the read between two steps
                ctx.progress((done, total))

            read = read_journals(
                paths, fsn_dir, dialect, accept_gaps=accept, progress=progress, success_codes=success
            )
            ctx.check()
            return read, formats.parse_atm_ledger(read.ledger, f"journal in {where}")

        self.journal.set_reading(True)
        self.progress.setRange(0, 0)
        self.figures.clear()
        show_info(self.status, tr("Reading the ATM's journal files…"))
        self.panel.set_reading()
        self._job = (
            Job(self, op, self._journal_read)
            .failure(self._journal_failed)
            .with_progress(self._journal_progress)
            .heavy()
            .run(self.ctx.runners.background)
        )
        self.journal.cancel_button.setFocus()

    def _journal_progress(self, value) -> None:
        done, total = value
        bar = self.progress
        bar.setUpdatesEnabled(False)
        try:
            # QProgressBar counts in int: KiB keeps a month of journal well inside it
            bar.setRange(0, max(total // 1024, 1))
            bar.setValue(min(done, total) // 1024)
        finally:
            bar.setUpdatesEnabled(True)
        self.figures.setText(
            tr("%1 of %2 KiB read").replace("%1", f"{done / 1024:,.0f}").replace("%2", f"{total / 1024:,.0f}")
        )

    def _journal_read(self, value) -> None:
        read, ledger = value
        self._job = None
        self.journal.set_reading(False)
        try:
            self.flow.record_atm_ledger(ledger)
        except FlowError as exc:
            message = describe_error(exc)
            show_error(self.status, message)
            self.panel.set_read_failed(message)
            return
        # the ledger is kept with where it came from (the dialect, the gaps accepted)
        self._wizard.recorder.atm_source = read.ledger.get("source")
        self.flow.journal_gaps = tuple((g.file, g.line) for g in read.gaps)  # listed on the report
        self.journal.gaps_box.setVisible(bool(read.gaps))
        self.journal.setEnabled(False)  # read: the ledger is the reference now
        self._show_ledger()
        if read.gaps:
            show_ok(
                self.status,
                self.status.text()
                + "\n"
                + tr("%1 journal line(s) were accepted as gaps; the report lists them.").replace(
                    "%1", f"{len(read.gaps):,}"
                ),
            )
        if read.notes_without_tsn:
            show_ok(
                self.status,
                self.status.text()
                + "\n"
                + tr("%1 banknote record(s) could not be tied to a transaction by their time.").replace(
                    "%1", f"{read.notes_without_tsn:,}"
                ),
            )
        self._wizard.ledger_changed.emit()
        # the store opens the session now that the terminal is known (one open clearing per ATM);
        # the audit log says the ledger came from files the custodians brought, and which
        recorder, snapshot = self._wizard.recorder, self.ctx.clearing.snapshot(self.flow)
        actor = self.flow.custodians[0]
        detail = {
            "dialect": read.dialect,
            "journals": [os.path.basename(p) for p in self.journal.journals()],
            "fsn_files": read.fsn_files,
            "gaps_accepted": len(read.gaps),
            "notes_without_tsn": read.notes_without_tsn,
        }

        def op(store):
            sid = recorder.sync(store, snapshot)
            store.log("atm_journal_read", actor=actor, session_id=sid, detail=detail)
            return sid

        self.ctx.run_db(self, op, self._session_opened, self._session_refused, heavy=True)

    def _session_opened(self, _sid) -> None:
        self._wizard.persisted.emit(self.flow.state.value)
        self.changed()
        if self._wizard.currentId() == int(self.step):
            self._wizard.next_button_focus()

    def _session_refused(self, exc) -> None:
        show_error(self.status, describe_error(exc))
        self.changed()

    def _journal_failed(self, exc) -> None:
        from custodian_app.journal import JournalError, JournalGapsError

        self._job = None
        self.journal.set_reading(False)
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        self.figures.clear()
        self.panel.set_idle()
        if isinstance(exc, JobCancelled):
            show_info(self.status, tr("Reading was cancelled. Press Read the journals to start again."))
        elif isinstance(exc, JournalGapsError):
            self.journal.show_gaps(exc.gaps)
            self.journal.accept_gaps.setFocus()
            show_error(
                self.status,
                tr("Some journal lines match no rule of the layout %1: see the list below.").replace(
                    "%1", self.journal.dialect_name()
                ),
            )
        elif isinstance(exc, JournalError):
            show_error(
                self.status,
                tr(
                    "The journal files cannot be read as the layout %1: %2\nCheck that the "
                    "layout is the ATM's and the files are complete, or ask IT support."
                )
                .replace("%1", self.journal.dialect_name())
                .replace("%2", str(exc)),
            )
        else:
            show_error(self.status, describe_error(exc))
        self.changed()
