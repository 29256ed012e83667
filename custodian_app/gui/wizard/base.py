"""What every wizard page shares: it renders one step of the clearing flow."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QLabel, QLineEdit, QWidget, QWizardPage

from custodian_app.domain.flow import ClearingFlow, Step

if TYPE_CHECKING:
    from custodian_app.gui.context import AppContext
    from custodian_app.gui.wizard import ClearingWizard


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


class FlowPage(QWizardPage):
    """A page of the clearing wizard. Next is allowed exactly when the flow says so."""

    step: Step

    def __init__(self, wizard: ClearingWizard) -> None:
        super().__init__()
        self._wizard = wizard
        self.setObjectName(f"page_{self.step.name.lower()}")

    @property
    def flow(self) -> ClearingFlow:
        return self._wizard.flow

    @property
    def ctx(self) -> AppContext:
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


def focus_later(widget) -> None:
    """Focus ``widget`` once QWizard has placed its own focus on a newly shown page."""
    QTimer.singleShot(0, widget.setFocus)


def status_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    return label


def show_error(label: QLabel, text: str) -> None:
    _show(label, "color: #b00020;", text)


def show_ok(label: QLabel, text: str) -> None:
    _show(label, "color: #1b5e20;", text)


def show_info(label: QLabel, text: str) -> None:
    _show(label, "", text)


def _show(label: QLabel, style: str, text: str) -> None:
    """A status line, touched only where it changes: setting a style sheet re-polishes the
    widget even when it is the same one, and a new text re-lays the window out; progress
    updates a status line many times a second while a ledger is read."""
    if label.styleSheet() != style:
        label.setStyleSheet(style)
    if label.text() != text:
        label.setText(text)


def figure_label(text: str = "", name: str | None = None) -> QLabel:
    """A right-aligned figure (an amount) in a grid."""
    label = QLabel(text)
    if name:
        label.setObjectName(name)
    label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return label


class UnitGrid(QWidget):
    """One row per unit of the ATM under bold headings, with one input per row; Tab goes down
    the inputs in order (the count and the cash loaded for the next cycle)."""

    def __init__(self) -> None:
        super().__init__()
        self.grid = QGridLayout(self)
        self.rows = 0
        self.last_input: QWidget | None = None

    def reset(self, headings) -> None:
        while self.grid.count():
            w = self.grid.takeAt(0).widget()
            if w:
                w.deleteLater()
        for col, head in enumerate(headings):
            self.grid.addWidget(QLabel(f"<b>{head}</b>"), 0, col)
        self.rows = 1
        self.last_input = None

    def add_row(self, cells, entry: QWidget | None = None) -> None:
        """``cells``: widgets or texts, column by column; ``entry`` (one of them) joins the Tab order."""
        for col, cell in enumerate(cells):
            if cell is None:
                continue
            self.grid.addWidget(QLabel(cell) if isinstance(cell, str) else cell, self.rows, col)
        if entry is not None:
            if self.last_input is not None:
                QWidget.setTabOrder(self.last_input, entry)
            self.last_input = entry
        self.rows += 1

    def figure(self, name: str) -> QLabel:
        return self.findChild(QLabel, name)


def credentials_box(
    title: str, user_name: str, password_name: str, on_enter, *, user_label: str | None = None
) -> tuple[QGroupBox, QFormLayout, QLineEdit, QLineEdit]:
    """A user name and password pair in a group box; Enter in the password signs in."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    user = QLineEdit(objectName=user_name)
    password = QLineEdit(objectName=password_name)
    password.setEchoMode(QLineEdit.EchoMode.Password)
    password.returnPressed.connect(on_enter)
    form.addRow(user_label or tr("User name"), user)
    form.addRow(tr("Password"), password)
    # a screen reader names the field with its box: "Custodian 2: user name"
    user.setAccessibleName(tr("%1: user name").replace("%1", title))
    password.setAccessibleName(tr("%1: password").replace("%1", title))
    return box, form, user, password


def table_view(name: str, accessible: str):
    """A table the keyboard passes through: Tab moves on to the next field (arrows move
    inside), and a screen reader says what it holds."""
    from PySide6.QtWidgets import QTableView

    view = QTableView(objectName=name)
    view.setTabKeyNavigation(False)
    view.setAccessibleName(accessible)
    return view
