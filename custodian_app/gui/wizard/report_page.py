"""Step 7: the clearing report as a PDF shown inside the application; print, save; the
supervisor signs in to sign it off (the signed report is the one kept)."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QT_TR_NOOP
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QVBoxLayout

from custodian_app.domain.flow import FlowError, Step
from custodian_app.gui import dialogs, printing
from custodian_app.gui.models import counted
from custodian_app.gui.wizard.base import (
    FlowPage,
    credentials_box,
    focus_later,
    show_error,
    show_info,
    show_ok,
    status_label,
    tr,
)
from custodian_app.gui.workers import Job, describe_error

log = logging.getLogger(__name__)


class ReportPage(FlowPage):
    step = Step.REPORT

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Clearing report"))
        self.setSubTitle(tr("Check the report; the supervisor signs in to sign it off. Print and save it."))
        layout = QHBoxLayout(self)
        self.document = QPdfDocument(self)
        self.view = QPdfView(self, objectName="reportView")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        layout.addWidget(self.view, 3)
        side = QVBoxLayout()
        box, form, self.sup_user, self.sup_password = credentials_box(
            tr("Supervisor sign-off"),
            "supervisorUser",
            "supervisorPassword",
            self.sign_off,
            user_label=tr("Supervisor"),
        )
        self.sign_button = QPushButton(tr("Sign &off"), objectName="signOffButton")
        self.sign_button.clicked.connect(self.sign_off)
        form.addRow(self.sign_button)
        side.addWidget(box)
        self.print_button = QPushButton(tr("&Print…"), objectName="printButton")
        self.print_button.clicked.connect(self.print_report)
        self.save_button = QPushButton(tr("Sa&ve as PDF…"), objectName="saveReportButton")
        self.save_button.clicked.connect(self.save_report)
        side.addWidget(self.print_button)
        side.addWidget(self.save_button)
        self.status = status_label("reportStatus")
        side.addWidget(self.status)
        side.addStretch(1)
        layout.addLayout(side, 1)
        self.setTabOrder(self.sup_user, self.sup_password)
        self.setTabOrder(self.sup_password, self.sign_button)
        self.setTabOrder(self.sign_button, self.print_button)
        self.setTabOrder(self.print_button, self.save_button)
        self.pdf_path: Path | None = None
        self.pdf_bytes: bytes | None = None
        self._job: Job | None = None
        self._ready: tuple | None = None  # (key, (pdf, path)) of the last report built
        self._wanted: tuple | None = None  # the key the page shows (None: not opened yet)

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        self.build()
        focus_later(self.sup_user)

    def _key(self) -> tuple:
        """What the report shows depends on: the result, the signature, the session, the language."""
        return id(self.flow.result), self.flow.supervisor, self._wizard.session_id, self.ctx.language

    def prebuild(self) -> None:
        """Build the draft while the custodians review the list, so the page shows it at once:
        once the database thread has done what is queued (storing the ledger runs Python for
        seconds; both at once with the page starved the window on a busy 2-core PC)."""
        if self.flow.result is None or self.flow.supervisor or self._job is not None:
            return
        self.ctx.run_db(self, lambda _store: None, lambda _r: self._prebuild_now())

    def _prebuild_now(self) -> None:
        if self.flow.result is None or self.flow.supervisor or self._job is not None or self._wanted:
            return  # the page opened meanwhile and builds for itself
        if self._ready is None or self._ready[0] != self._key():
            self._start(self._key())

    def build(self) -> None:
        """Show the report, built off the GUI thread; before the sign-off it is a draft."""
        self._wanted = self._key()
        if self._ready is not None and self._ready[0] == self._wanted:
            self._show(self._ready[1])
            return
        self._set_buttons(False)
        show_info(self.status, tr("Building the report…"))
        if self._job is None:  # else the one under way is checked when it ends
            self._start(self._wanted)

    def _start(self, key: tuple) -> None:
        flow, ctx = self.flow, self.ctx
        session_id = self._wizard.session_id
        recorder = self._wizard.recorder

        def op(_ctx):
            # the ledger's bytes as the store keeps them, written once for both (recorder.py)
            atm_bytes = recorder.atm_bytes(flow.atm)
            return ctx.clearing.render_report(
                flow, settings=ctx.settings, session_id=session_id, language=ctx.language, atm_bytes=atm_bytes
            )

        self._job = (
            Job(self, op, lambda rendered: self._built(key, rendered))
            .failure(self._failed)
            .run(self.ctx.runners.background)
        )

    def _built(self, key: tuple, rendered) -> None:
        self._job = None
        self._ready = (key, rendered)
        if self._wanted is None:
            return  # built ahead: shown when the page opens
        if key != self._wanted:  # built ahead for what has changed since
            self._start(self._wanted)
            return
        self._show(rendered)

    def _show(self, rendered) -> None:
        pdf, path = rendered
        self.pdf_bytes = pdf
        self.pdf_path = Path(path)
        self.document.close()
        self.document.load(str(self.pdf_path))
        self._set_buttons(True)
        if self.flow.supervisor:
            show_ok(
                self.status,
                tr(
                    "Signed off by %1. Print the report, then press Next to load the cash for the next cycle."
                ).replace("%1", self.flow.supervisor),
            )
            self._wizard.store_report(pdf)
            if self._wizard.currentId() == int(self.step):
                self._wizard.next_button_focus()  # signed: the next thing to do is Next
        else:
            show_info(
                self.status,
                tr("Draft report (%1 pages). The supervisor signs it off.").replace(
                    "%1", str(self.document.pageCount())
                ),
            )

    def _failed(self, exc) -> None:
        self._job = None
        if self._wanted is None:  # building ahead failed: the page tries again when it opens
            log.warning("building the draft report ahead failed: %s", exc)
            return
        self._set_buttons(True)
        show_error(self.status, describe_error(exc))

    def _set_buttons(self, on: bool) -> None:
        signed = self.flow.supervisor is not None
        self.sign_button.setEnabled(on and not signed)
        self.sup_user.setEnabled(not signed)
        self.sup_password.setEnabled(not signed)
        self.print_button.setEnabled(on and self.pdf_bytes is not None)
        self.save_button.setEnabled(on and self.pdf_bytes is not None)

    def sign_off(self) -> None:
        name, word = self.sup_user.text().strip(), self.sup_password.text()
        if not name or not word:
            show_error(self.status, tr("The supervisor enters their user name and password."))
            return
        if self.flow.custodians and name.casefold() in {c.casefold() for c in self.flow.custodians}:
            show_error(self.status, tr("The supervisor must not be one of the custodians."))
            return
        clearing = self.ctx.clearing
        recorder = self._wizard.recorder
        self.sign_button.setEnabled(False)
        show_info(self.status, tr("Checking the supervisor's password…"))

        def op(store):
            user = clearing.authenticate(store, name, word, role="supervisor")
            recorder.sign_off(store, user)
            return user.username

        self.ctx.run_db(self, op, self._signed, self._sign_failed)

    def _signed(self, supervisor: str) -> None:
        self.sup_password.clear()
        try:
            self.flow.record_sign_off(supervisor)
        except FlowError as exc:
            self.sign_button.setEnabled(True)
            show_error(self.status, describe_error(exc))
            return
        self._wizard.persist()
        self.changed()
        self.build()  # the signed report carries the supervisor's name

    def _sign_failed(self, exc) -> None:
        self.sup_password.clear()
        self.sign_button.setEnabled(True)
        show_error(self.status, describe_error(exc))
        self.sup_password.setFocus()

    def print_report(self) -> None:
        def printed(pages) -> None:
            if pages:
                show_ok(
                    self.status,
                    counted(
                        pages,
                        QT_TR_NOOP("Sent 1 page to the printer."),
                        QT_TR_NOOP("Sent %1 pages to the printer."),
                    ),
                )

        printing.ask_print(self, self.document, printed)

    def save_report(self) -> None:
        suggested = f"clearing-{self.flow.atm.cycle_id}.pdf"
        dialogs.choose_save_file(
            self, tr("Save the report"), tr("PDF files (*.pdf)"), suggested, self._save_to
        )

    def _save_to(self, path: str) -> None:
        if not path:
            return
        from custodian_app.support.files import write_atomic

        data = self.pdf_bytes
        Job(
            self,
            lambda ctx: write_atomic(path, data),
            lambda _r: show_ok(self.status, tr("Saved to %1").replace("%1", path)),
        ).failure(lambda e: show_error(self.status, describe_error(e))).run(self.ctx.runners.background)
