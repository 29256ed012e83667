"""Step 5: fetch the backend's ledger for the cycle (progress, retry), or import a settlement
file instead when the backend cannot be reached."""

from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout

from custodian_app.domain.flow import FlowError, Step
from custodian_app.domain.money import format_grouped
from custodian_app.gui import dialogs
from custodian_app.gui.wizard.base import FlowPage, show_error, show_info, show_ok, status_label, tr
from custodian_app.gui.workers import Job, JobCancelled, describe_error


class BackendPage(FlowPage):
    step = Step.BACKEND

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("The backend's ledger"))
        self.setSubTitle(tr("The bank backend's books for the same cycle."))
        layout = QVBoxLayout(self)
        self.where = QLabel(objectName="backendWhere")
        self.where.setWordWrap(True)
        layout.addWidget(self.where)
        row = QHBoxLayout()
        self.fetch_button = QPushButton(tr("&Fetch from the backend"), objectName="fetchButton")
        self.fetch_button.clicked.connect(self.fetch)
        self.cancel_button = QPushButton(tr("&Cancel"), objectName="cancelFetchButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.import_button = QPushButton(tr("&Import a settlement file…"), objectName="importButton")
        self.import_button.clicked.connect(self.choose_file)
        row.addWidget(self.fetch_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.import_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.progress = QProgressBar(objectName="fetchProgress")
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status = status_label("backendStatus")
        layout.addWidget(self.status)
        self.summary = QLabel(objectName="backendSummary")
        layout.addWidget(self.summary)
        layout.addStretch(1)
        self._job: Job | None = None

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        url = self.ctx.settings.backend_url
        self.where.setText(
            tr("Backend: %1").replace(
                "%1", url or tr("(not configured: set it in Settings, or import a settlement file)")
            )
        )
        if self.flow.host is not None:
            self._show_host()
        elif url and self._job is None:
            self.fetch()

    def cleanupPage(self) -> None:  # noqa: N802 - Qt API (Back)
        self.cancel()

    def fetch(self) -> None:
        if self._job is not None:
            return
        s = self.ctx.settings
        atm = self.flow.core_ledger
        if not s.backend_url:
            show_error(
                self.status, tr("No backend address is set. Set it in Settings, or import a settlement file.")
            )
            return
        clearing = self.ctx.clearing

        def op(ctx):
            return clearing.fetch_host_ledger(
                s.backend_url,
                s.backend_token,
                atm.terminal_id,
                atm.cycle_id,
                progress=lambda *a: ctx.progress(a),
                cancel=ctx.cancel,
            )

        self._busy(True)
        show_info(self.status, tr("Fetching the backend's ledger for %1…").replace("%1", atm.cycle_id))
        self._job = (
            Job(self, op, lambda host: self._got(host, "backend"))
            .failure(self._failed)
            .with_progress(self._progressed)
            .heavy()
            .run(self.ctx.runners.background)
        )

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    def choose_file(self) -> None:
        dialogs.choose_open_file(
            self,
            tr("Import a settlement file"),
            tr("Settlement files (*.json *.csv *.txt);;All files (*)"),
            self.import_file,
        )

    def import_file(self, path: str) -> None:
        if not path or self._job is not None:
            return
        clearing, atm = self.ctx.clearing, self.flow.core_ledger
        self._busy(True)
        show_info(self.status, tr("Importing %1…").replace("%1", path))
        self._job = (
            Job(
                self,
                lambda ctx: clearing.import_settlement(path, atm),
                lambda host: self._got(host, "settlement file"),
            )
            .failure(self._failed)
            .run(self.ctx.runners.background)
        )

    def _busy(self, on: bool) -> None:
        self.fetch_button.setEnabled(not on)
        self.import_button.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self.progress.setRange(0, 0 if on else 1)

    def _progressed(self, value) -> None:
        """progress(bytes received, pages done, pages in all or None) from the backend client."""
        nbytes, done, total = (tuple(value) + (0, 0, None))[:3]
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(min(done, total))
        self.status.setText(
            tr("Fetching the backend's ledger: %1 KiB received…").replace(
                "%1", f"{(nbytes or 0) / 1024:,.0f}"
            )
        )

    def _got(self, host, source: str) -> None:
        self._job = None
        self._busy(False)
        try:
            self.flow.record_host_ledger(host, source)
        except FlowError as exc:
            show_error(self.status, describe_error(exc))
            return
        self._show_host()
        self._wizard.persist()
        self.changed()
        self._wizard.next_button_focus()

    def _show_host(self) -> None:
        host = self.flow.host
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        origin = tr("the backend") if self.flow.host_source == "backend" else tr("a settlement file")
        show_ok(
            self.status,
            tr("The backend's ledger is here (from %1): %2 records.")
            .replace("%1", origin)
            .replace("%2", f"{len(host.transactions):,}"),
        )
        t = host.totals
        self.summary.setText(
            tr("Loading amount %1 · withdrawals %2 (%3) · deposits %4 (%5)")
            .replace("%1", format_grouped(t.loaded_amount, host.currency))
            .replace("%2", str(t.withdrawals.count))
            .replace("%3", format_grouped(t.withdrawals.amount))
            .replace("%4", str(t.deposits.count))
            .replace("%5", format_grouped(t.deposits.amount))
        )

    def _failed(self, exc) -> None:
        self._job = None
        self._busy(False)
        self.progress.setValue(0)
        if isinstance(exc, JobCancelled) or type(exc).__name__.endswith("Cancelled"):
            show_info(self.status, tr("Cancelled. Press Fetch to try again."))
            return
        show_error(
            self.status,
            describe_error(exc)
            + "\n"
            + tr("Press Fetch to try again, or Import a settlement file the backend office sent you."),
        )
        self.fetch_button.setFocus()
