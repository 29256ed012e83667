"""The clearing wizard: a QWizard that renders ``custodian_app.domain.flow`` (house style:
SecureDrop's device wizard). Page ids are the flow's ``Step`` values; Next is gated by each
page's ``isComplete()``; the flow moves on in ``validatePage()``; Back follows the flow's rules
(a page after which going back is not allowed is made a commit page)."""

from __future__ import annotations

import logging
from datetime import datetime

from PySide6.QtCore import QCoreApplication, QTimer, Signal
from PySide6.QtWidgets import QWizard

from custodian_app.domain.flow import ClearingFlow, FlowError, Step
from custodian_app.gui import dialogs
from custodian_app.gui.context import AppContext
from custodian_app.gui.wizard.atm_panel import AtmPanel, event_text
from custodian_app.gui.wizard.backend_page import BackendPage
from custodian_app.gui.wizard.connect_page import ConnectPage
from custodian_app.gui.wizard.count_page import CountPage
from custodian_app.gui.wizard.new_cycle_page import NewCyclePage
from custodian_app.gui.wizard.read_atm_page import ReadAtmPage
from custodian_app.gui.wizard.reconcile_page import ReconcilePage
from custodian_app.gui.wizard.report_page import ReportPage
from custodian_app.gui.wizard.sign_in_page import SignInPage
from custodian_app.gui.workers import Job, describe_error

log = logging.getLogger(__name__)

PAGES = (
    SignInPage,
    ConnectPage,
    ReadAtmPage,
    CountPage,
    BackendPage,
    ReconcilePage,
    ReportPage,
    NewCyclePage,
)


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


class ClearingWizard(QWizard):
    """One clearing session. ``session_closed(state)`` when it ends (closed or abandoned)."""

    session_closed = Signal(str)
    persisted = Signal(str)  # the store state just written
    ledger_changed = Signal()  # the ATM ledger's core or the complete ledger arrived, or the read failed
    atm_event = Signal(str)  # an unsolicited ATM event, as shown on the panel

    def __init__(
        self, ctx: AppContext, flow: ClearingFlow | None = None, session_id=None, parent=None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.flow = flow or ClearingFlow()
        self.recorder = ctx.clearing.SessionRecorder(session_id)
        self.setObjectName("clearingWizard")
        self.setWindowTitle(tr("Clear an ATM"))
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.setOption(QWizard.WizardOption.HaveCustomButton1, True)
        self.setButtonText(QWizard.WizardButton.CustomButton1, tr("&Abandon…"))
        self.button(QWizard.WizardButton.CustomButton1).setObjectName("abandonButton")
        self.customButtonClicked.connect(lambda which: self.ask_abandon())
        self.setButtonText(QWizard.WizardButton.CommitButton, tr("&Next >"))
        self.button(QWizard.WizardButton.NextButton).setObjectName("nextButton")
        self.button(QWizard.WizardButton.CommitButton).setObjectName("commitButton")
        self.button(QWizard.WizardButton.BackButton).setObjectName("backButton")
        self.button(QWizard.WizardButton.FinishButton).setObjectName("finishButton")
        self.button(QWizard.WizardButton.CancelButton).setObjectName("cancelButton")
        # beside every page: the ledger read going on behind the count, and the ATM's events
        self.atm_panel = AtmPanel()
        self.setSideWidget(self.atm_panel)
        self.pages = {}
        for cls in PAGES:
            page = cls(self)
            self.setPage(int(cls.step), page)
            self.pages[cls.step] = page
        # Back never undoes the sign-in, the ATM read or the signed report: the page before a
        # step that cannot go back is a commit page (CONNECT and RECONCILE become one later)
        for step in (Step.SIGN_IN, Step.READ_ATM, Step.REPORT):
            self.pages[step].setCommitPage(True)
        self.setStartId(int(Step.SIGN_IN))
        self.atm_panel.retry_button.clicked.connect(self.pages[Step.READ_ATM].start_read)
        if self.flow.atm is not None:
            self.atm_panel.set_complete(len(self.flow.atm.transactions), len(self.flow.atm.notes or ()))
        ctx.link_events.received.connect(self._on_atm_event)
        self.currentIdChanged.connect(self._page_changed)
        self.resize(1160, 700)  # the pages plus the ATM panel beside them
        self._font_warmed = False
        self._last_id = int(Step.SIGN_IN)
        self._ending = False

    def warm_report_font(self) -> None:
        """The report's CJK font takes a while to parse, once per process: parsed in the
        background once the connect page is up (a first page painting while another thread
        parses made the window's longest pause of the sign-in on a busy 2-core PC)."""
        from custodian_app.report.fonts import register_fonts

        Job(None, lambda _ctx: register_fonts()).failure(lambda e: log.warning("report font: %s", e)).run(
            self.ctx.runners.background
        )

    # -- navigation -----------------------------------------------------------------------

    def advance_flow(self) -> None:
        """Called by a page's validatePage(): the flow moves on and the store is told."""
        self.flow.advance()
        self.persist()

    def _page_changed(self, new_id: int) -> None:
        if new_id < 0:
            return
        step = Step(new_id)
        if new_id < self._last_id and self.flow.step is not step:
            try:
                self.flow.go_back()
            except FlowError as exc:  # cannot happen when the commit pages are right
                log.error("back navigation outside the flow's rules: %s", exc)
        self._last_id = new_id
        self.sync_back()
        if step is Step.CONNECT and not self._font_warmed:
            self._font_warmed = True
            QTimer.singleShot(0, self, self.warm_report_font)  # after the page's own paint

    def sync_back(self) -> None:
        """Follow the flow: Back is closed behind the ATM read and the signature."""
        if self.flow.core_read:
            self.pages[Step.CONNECT].setCommitPage(True)
        if self.flow.supervisor is not None:
            self.pages[Step.RECONCILE].setCommitPage(True)
        abandon = self.button(QWizard.WizardButton.CustomButton1)
        abandon.setEnabled(
            self.flow.custodians is not None
            and self.flow.authenticated
            and self.flow.supervisor is None
            and not self.flow.finished
        )

    def next_button_focus(self) -> None:
        for which in (
            QWizard.WizardButton.CommitButton,
            QWizard.WizardButton.NextButton,
            QWizard.WizardButton.FinishButton,
        ):
            b = self.button(which)
            if b.isVisible() and b.isEnabled():
                b.setFocus()
                return

    # -- the ATM's own events (delivered from the serial thread by a queued signal) ---------

    def _on_atm_event(self, event) -> None:
        if self.flow.custodians is None or self.flow.finished:
            return  # not this clearing's business yet (or any more)
        when = datetime.now().astimezone()
        text = event_text(event.name, event.payload, when)
        alert = event.payload.get("safeDoor") == "open"
        if "sources" in event.payload:  # the agent lost a source, or has it back (docs/agent.md)
            from custodian_app.link.sources import parse_sources

            sources = parse_sources(event.payload["sources"])
            self.atm_panel.show_sources(sources)
            alert = any(s.state in ("lost", "error") for s in sources.values())
        self.atm_panel.add_event(text, alert=alert)
        log.log(
            logging.WARNING if alert else logging.INFO,
            "ATM event during the clearing: %s %s",
            event.name,
            event.payload,
        )
        self.atm_event.emit(text)
        core = self.flow.core_ledger
        st = self.flow.atm_status
        terminal = core.terminal_id if core else st.terminal_id if st else None
        detail = {
            "event": event.name,
            "at": when.isoformat(timespec="seconds"),
            **{k: v for k, v in event.payload.items() if isinstance(v, (str, int, bool)) or v is None},
        }
        recorder, actor = self.recorder, self.flow.custodians[0]
        self.ctx.run_db(
            self,
            lambda store: store.log(
                "atm_event", actor=actor, session_id=recorder.session_id, terminal_id=terminal, detail=detail
            ),
            None,
            self._store_failed,
        )

    # -- the store ------------------------------------------------------------------------

    @property
    def session_id(self):
        return self.recorder.session_id

    def persist(self) -> None:
        """Bring the store's session up to the flow (on the database thread, in order)."""
        if self.flow.state is None or not self.flow.authenticated:
            return
        snapshot = self.ctx.clearing.snapshot(self.flow)
        recorder = self.recorder

        def saved(_sid) -> None:
            self.persisted.emit(snapshot["state"])

        self.ctx.run_db(
            self, lambda store: recorder.sync(store, snapshot), saved, self._store_failed, heavy=True
        )

    def store_report(self, pdf: bytes) -> None:
        recorder, actor = self.recorder, self.flow.custodians[0]
        self.ctx.run_db(self, lambda store: recorder.save_report(store, pdf, actor), None, self._store_failed)

    def _store_failed(self, exc) -> None:
        dialogs.ask(
            self,
            tr("The database"),
            tr(
                "The session could not be saved: %1\nThe clearing can go on; "
                "call IT support if this happens again."
            ).replace("%1", describe_error(exc)),
            kind="warning",
        )

    # -- ending ---------------------------------------------------------------------------

    def _stop_reading(self) -> None:
        """The wizard ends: a read still going on behind the count is of no use any more."""
        self.pages[Step.READ_ATM].cancel_read()

    def accept(self) -> None:
        """Finish: QWizard validates the last page (the flow closes the session), then ends."""
        super().accept()
        if self.flow.state is not None and self.flow.finished and not self._ending:
            self._ending = True
            self.session_closed.emit(self.flow.state.value)

    def reject(self) -> None:
        """Cancel or closing the window: the session stays open for resumption, unless it
        never started (nobody signed in)."""
        if self._ending or self.session_id is None or self.flow.finished:
            # nothing kept yet (the store opens the session at connect), or already ended
            self._ending = True
            self._stop_reading()
            self.ctx.close_link(None)
            super().reject()
            return

        def answered(key: str) -> None:
            if key == "yes":
                self._ending = True
                self._stop_reading()
                self.ctx.close_link(None)
                QWizard.reject(self)

        dialogs.ask(
            self,
            tr("Leave the clearing?"),
            tr(
                "The clearing stays open and is offered for resumption when the application starts "
                "again. To give it up instead, use Abandon."
            ),
            buttons=("yes", "no"),
            default="no",
            callback=answered,
        )

    def closeEvent(self, event) -> None:  # noqa: N802
        if self._ending or self.session_id is None or self.flow.finished:
            self._ending = True
            super().closeEvent(event)
            return
        event.ignore()
        self.reject()

    def ask_abandon(self) -> None:
        def answered(reason: str | None) -> None:
            if reason is None:
                return
            try:
                self.flow.abandon(reason)
            except FlowError as exc:
                dialogs.ask(self, tr("Abandon the clearing"), describe_error(exc), kind="warning")
                return
            self.persist()
            self._ending = True
            self._stop_reading()
            self.ctx.close_link(None)
            self.session_closed.emit(self.flow.state.value)
            QWizard.reject(self)

        dialogs.ask_text(
            self,
            tr("Abandon the clearing"),
            tr("Why is this clearing abandoned? (recorded in the session)"),
            answered,
        )
