"""What every wizard page shares: it renders one step of the clearing flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TR_NOOP, QCoreApplication
from PySide6.QtWidgets import QLabel, QWizardPage

from custodian_app.domain.flow import ClearingFlow, Missing, Step

if TYPE_CHECKING:
    from custodian_app.gui.context import AppContext
    from custodian_app.gui.wizard import ClearingWizard


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


MISSING_TEXT = {
    Missing.TWO_CUSTODIANS: QT_TR_NOOP("Two custodians must sign in."),
    Missing.SAME_CUSTODIAN: QT_TR_NOOP("The two custodians must be different people."),
    Missing.ATM_STATUS: QT_TR_NOOP("Connect to the ATM first."),
    Missing.ATM_LEDGER: QT_TR_NOOP("Read the ATM's ledger first."),
    Missing.COUNTS: QT_TR_NOOP("Enter the counted cash for every unit, or skip counting with a reason."),
    Missing.HOST_LEDGER: QT_TR_NOOP("Fetch the backend's ledger or import a settlement file."),
    Missing.RESULT: QT_TR_NOOP("The reconciliation has not been computed yet."),
    Missing.REVIEW: QT_TR_NOOP("Confirm the mismatch list first."),
    Missing.SUPERVISOR: QT_TR_NOOP("A supervisor must sign the report off."),
    Missing.SUPERVISOR_IS_CUSTODIAN: QT_TR_NOOP("The supervisor must not be one of the custodians."),
    Missing.LOADED: QT_TR_NOOP("Enter the cash loaded into every cassette."),
    Missing.EXCHANGE: QT_TR_NOOP("Start the new cycle on the ATM first."),
}


def missing_text(m: Missing) -> str:
    return tr(MISSING_TEXT[m])


class FlowPage(QWizardPage):
    """A page of the clearing wizard. Next is allowed exactly when the flow says so."""

    step: Step

    def __init__(self, wizard: "ClearingWizard") -> None:
        super().__init__()
        self._wizard = wizard
        self.setObjectName(f"page_{self.step.name.lower()}")

    @property
    def flow(self) -> ClearingFlow:
        return self._wizard.flow

    @property
    def ctx(self) -> "AppContext":
        return self._wizard.ctx

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        return self.flow.step is self.step and not self.flow.finished and not self.flow.missing(self.step)

    def nextId(self) -> int:  # noqa: N802 - Qt API
        if self.flow.step is self.step:
            nxt = self.flow.next_step()
        elif self.flow.step > self.step:
            nxt = self.flow.step  # validatePage() has just moved the flow on
        else:
            return super().nextId()
        return -1 if nxt is Step.DONE else int(nxt)

    def validatePage(self) -> bool:  # noqa: N802 - Qt API
        """Next: the flow moves on and the store is told; refused if the flow says no."""
        if not self.isComplete():
            return False
        self._wizard.advance_flow()
        return True

    def changed(self) -> None:
        """The flow changed under this page: re-evaluate Next and the Back rules."""
        self._wizard.sync_back()  # first: completeChanged makes QWizard refresh its buttons
        self.completeChanged.emit()


def status_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


def show_error(label: QLabel, text: str) -> None:
    label.setStyleSheet("color: #b00020;")
    label.setText(text)


def show_ok(label: QLabel, text: str) -> None:
    label.setStyleSheet("color: #1b5e20;")
    label.setText(text)


def show_info(label: QLabel, text: str) -> None:
    label.setStyleSheet("")
    label.setText(text)
