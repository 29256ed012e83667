"""Drives the clearing wizard through its own widgets, the way QA does (objectNames in
docs/qa.md). Every wait is on a condition, never on time."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from custodian_app.domain.flow import Step
from custodian_app.domain.money import format_amount
from custodian_app.gui.wizard import ClearingWizard

from .conftest import PASSWORDS, shot

SLOW = 30_000  # ms: reading a ledger over a pty on a busy 2-core machine


class WizardDriver:
    def __init__(self, qtbot, ctx, *, flow=None, session_id=None, screenshots: str | None = None) -> None:
        self.qtbot = qtbot
        self.ctx = ctx
        self.wizard = ClearingWizard(ctx, flow, session_id)
        qtbot.addWidget(self.wizard)
        self.wizard.show()
        qtbot.waitExposed(self.wizard)
        self.screenshots = screenshots

    @property
    def flow(self):
        return self.wizard.flow

    def page(self, step: Step):
        return self.wizard.page(int(step))

    def current(self) -> Step:
        return Step(self.wizard.currentId())

    def snap(self, name: str) -> None:
        if self.screenshots:
            shot(self.wizard, f"{self.screenshots}-{name}")

    def next_enabled(self) -> bool:
        for which in (QWizard.WizardButton.NextButton, QWizard.WizardButton.CommitButton,
                      QWizard.WizardButton.FinishButton):
            b = self.wizard.button(which)
            if b.isVisible() and b.isEnabled():
                return True
        return False

    def next(self, expect: Step | None = None) -> None:
        assert self.next_enabled(), f"Next is disabled on {self.current().name}"
        before = self.current()
        self.wizard.next()
        if expect is not None:
            self.qtbot.waitUntil(lambda: self.current() is expect, timeout=5000)
        else:
            assert self.current() is not before

    # -- pages ----------------------------------------------------------------------------

    def sign_in(self, a="alice", b="bob", pa=None, pb=None, *, wait_ok=True) -> None:
        p = self.page(Step.SIGN_IN)
        p.user[0].setText(a)
        p.password[0].setText(PASSWORDS.get(a, "") if pa is None else pa)
        p.user[1].setText(b)
        p.password[1].setText(PASSWORDS.get(b, "") if pb is None else pb)
        self.qtbot.mouseClick(p.sign_in_button, Qt.MouseButton.LeftButton)
        if wait_ok:
            self.qtbot.waitUntil(lambda: self.flow.authenticated, timeout=SLOW)
        else:
            self.qtbot.waitUntil(lambda: p.sign_in_button.isEnabled() and p.status.text() != ""
                                 and "Checking" not in p.status.text(), timeout=SLOW)

    def connect(self, device: str, *, wait_ok=True) -> None:
        p = self.page(Step.CONNECT)
        self.qtbot.waitUntil(lambda: not p.listing, timeout=SLOW)
        p.port.setEditText(device)
        self.qtbot.mouseClick(p.connect_button, Qt.MouseButton.LeftButton)
        self.qtbot.waitUntil(lambda: p.connect_button.isEnabled(), timeout=SLOW)
        if wait_ok:
            assert p.isComplete(), p.status.text()

    def wait_core(self) -> None:
        """The ledger's core is in: Next leads to the count while the notes keep coming."""
        p = self.page(Step.READ_ATM)
        self.qtbot.waitUntil(p.isComplete, timeout=SLOW)

    def wait_read(self) -> None:
        """The whole ledger, banknote records included, is in."""
        self.wait_core()
        self.qtbot.waitUntil(lambda: self.flow.atm is not None, timeout=SLOW)

    def count(self, counts: dict[str, int]) -> None:
        p = self.page(Step.COUNT)
        for uid, amount in counts.items():
            p.edits[uid].setText(format_amount(amount))
        assert p.isComplete()

    def wait_backend(self) -> None:
        self.qtbot.waitUntil(self.page(Step.BACKEND).isComplete, timeout=SLOW)

    def wait_result(self) -> None:
        self.qtbot.waitUntil(self.page(Step.RECONCILE).isComplete, timeout=SLOW)

    def wait_report(self) -> None:
        p = self.page(Step.REPORT)
        self.qtbot.waitUntil(lambda: p.pdf_bytes is not None and p._job is None
                             and p.document.pageCount() > 0, timeout=SLOW)

    def wait_pdf_painted(self) -> None:
        """QPdfView renders in the background; for a screenshot wait until ink shows."""
        view = self.page(Step.REPORT).view

        def inked() -> bool:
            img = view.viewport().grab().toImage()
            w, h = img.width(), img.height()
            return any(img.pixelColor(x, y).lightness() < 128
                       for x in range(w // 8, w * 7 // 8, 6) for y in range(h // 8, h // 2, 6))

        self.qtbot.waitUntil(inked, timeout=SLOW)

    def sign_off(self, user="carol", password=None) -> None:
        p = self.page(Step.REPORT)
        p.sup_user.setText(user)
        p.sup_password.setText(PASSWORDS.get(user, "") if password is None else password)
        self.qtbot.mouseClick(p.sign_button, Qt.MouseButton.LeftButton)

    def wait_db(self) -> None:
        """Wait until the database thread has done everything queued so far."""
        import threading

        done = threading.Event()
        self.ctx.runners.database.submit(done.set)
        assert done.wait(20)
        self.qtbot.waitUntil(lambda: not [j for j in _active() if not j.finished], timeout=SLOW)


def _active():
    from custodian_app.gui import workers

    return list(workers._ACTIVE)
