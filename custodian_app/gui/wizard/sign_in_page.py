"""Step 1: two custodians sign in, each with their own password (dual custody)."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from custodian_app.domain.flow import FlowError, Step
from custodian_app.gui.wizard.base import (
    FlowPage,
    credentials_box,
    show_error,
    show_info,
    show_ok,
    status_label,
    tr,
)
from custodian_app.gui.workers import describe_error


class SignInPage(FlowPage):
    step = Step.SIGN_IN

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Sign in: two custodians"))
        self.setSubTitle(tr("Dual custody: each custodian signs in with their own password."))
        self.user = []
        self.password = []
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        for i in (1, 2):
            box, _form, user, pw = credentials_box(
                tr("Custodian %1").replace("%1", str(i)),
                f"custodian{i}User",
                f"custodian{i}Password",
                self.sign_in,
            )
            user.textChanged.connect(self._edited)
            pw.textChanged.connect(self._edited)
            self.user.append(user)
            self.password.append(pw)
            row.addWidget(box)
        layout.addLayout(row)
        self.sign_in_button = QPushButton(tr("&Sign in"), objectName="signInButton")
        self.sign_in_button.clicked.connect(self.sign_in)
        layout.addWidget(self.sign_in_button)
        self.status = status_label("signInStatus")
        layout.addWidget(self.status)
        help_text = QLabel(
            tr(
                "<b>Dual custody</b><ul>"
                "<li>Two custodians clear an ATM together; each signs in with their own password.</li>"
                "<li>Both stay until the report is signed off; the supervisor who signs it is a third "
                "person.</li>"
                "<li>After repeated wrong passwords an account is locked for a while: ask an administrator "
                "to unlock it.</li></ul>"
            ),
            objectName="signInHelp",
        )
        help_text.setWordWrap(True)
        layout.addWidget(help_text)
        layout.addStretch(1)
        self.setTabOrder(self.user[0], self.password[0])
        self.setTabOrder(self.password[0], self.user[1])
        self.setTabOrder(self.user[1], self.password[1])
        self.setTabOrder(self.password[1], self.sign_in_button)
        self._busy = False

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        flow = self.flow
        if flow.custodians and flow.resume_at is not None:
            self.user[0].setText(flow.custodians[0])
            self.user[1].setText(flow.custodians[1])
            show_info(
                self.status,
                tr("Resuming the interrupted clearing of %1 and %2: both sign in again.")
                .replace("%1", flow.custodians[0])
                .replace("%2", flow.custodians[1]),
            )
            target = self.password[0]
        else:
            target = self.user[0]
        # after QWizard has placed its own focus on the page
        QTimer.singleShot(0, target.setFocus)

    def _edited(self) -> None:
        if self.flow.authenticated and not self._busy and self.flow.step is Step.SIGN_IN:
            # editing a name after signing in withdraws it until both sign in again
            self.flow.withdraw_sign_in()
            self.changed()

    def sign_in(self) -> None:
        if self._busy:
            return
        names = [u.text().strip() for u in self.user]
        words = [p.text() for p in self.password]
        if not all(names) or not all(words):
            show_error(self.status, tr("Both custodians enter their user name and password."))
            return
        if names[0].casefold() == names[1].casefold():
            show_error(
                self.status,
                tr("The two custodians must be different people: dual custody needs a second custodian."),
            )
            return
        self._busy = True
        self.sign_in_button.setEnabled(False)
        show_info(self.status, tr("Checking passwords…"))
        clearing = self.ctx.clearing
        recorder = self._wizard.recorder

        def op(store):
            users = [
                clearing.authenticate(store, n, w, role="custodian")
                for n, w in zip(names, words, strict=False)
            ]
            if recorder.session_id is not None:  # a resumed session: the store checks the pair
                store.resume_session(recorder.session_id, *users)
            return users

        self.ctx.run_db(self, op, self._signed_in, self._failed)

    def _signed_in(self, users) -> None:
        self._busy = False
        self.sign_in_button.setEnabled(True)
        names = [u.username for u in users]
        try:
            self.flow.record_sign_in(*names)
        except FlowError as exc:
            show_error(self.status, describe_error(exc))
            return
        self._wizard.recorder.users = users
        self._busy = True  # clearing the password fields is not an edit
        for pw in self.password:
            pw.clear()
        self._busy = False
        show_ok(
            self.status,
            tr("Signed in: %1 and %2. Press Next.").replace("%1", names[0]).replace("%2", names[1]),
        )
        self.changed()
        self._wizard.next_button_focus()

    def _failed(self, exc) -> None:
        self._busy = False
        self.sign_in_button.setEnabled(True)
        show_error(self.status, describe_error(exc))
        for pw in self.password:
            pw.clear()
        self.password[0].setFocus()
