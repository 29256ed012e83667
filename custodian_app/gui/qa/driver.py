"""``WizardDriver``: clears an ATM through the wizard the way a custodian does, by clicking its
buttons (``qtbot.mouseClick``) and typing into its fields (``qtbot.keyClicks``). It never calls
the wizard's methods to move on. Every wait is on a condition, never on time.

What QA reads back: ``session_id`` (the store's session, set from the connect page on),
``mismatch_categories()`` (the category codes of the mismatch list, in the order shown),
``sign_off_enabled()``, ``flow`` (the ``ClearingFlow``: ``flow.result`` is the reconciliation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLineEdit, QWidget, QWizard

from custodian_app.domain.flow import State, Step
from custodian_app.domain.money import format_amount

if TYPE_CHECKING:
    from custodian_app.gui.qa.users import QaUsers

# ms: reading a ledger over a pty on a busy machine takes a while; waits end as soon as done
SLOW = 30_000

_FORWARD = (
    QWizard.WizardButton.CommitButton,
    QWizard.WizardButton.NextButton,
    QWizard.WizardButton.FinishButton,
)


class WizardDriver:
    """``WizardDriver(qtbot, ctx, users)`` opens a ``ClearingWizard`` on ``ctx`` (an
    ``AppContext``); or pass ``wizard=`` to drive one the main window opened."""

    def __init__(
        self, qtbot, ctx, users: QaUsers | None = None, *, flow=None, session_id=None, wizard=None
    ) -> None:
        from custodian_app.gui.qa.users import demo_users
        from custodian_app.gui.wizard import ClearingWizard

        self.qtbot = qtbot
        self.ctx = ctx
        self.users = users or demo_users()
        if wizard is None:
            wizard = ClearingWizard(ctx, flow, session_id)
            qtbot.addWidget(wizard)
            wizard.show()
        self.wizard = wizard
        qtbot.waitExposed(self.wizard)

    # -- what the wizard shows ------------------------------------------------------------

    @property
    def flow(self):
        return self.wizard.flow

    @property
    def session_id(self):
        """The store's id of this clearing (None until the connect page opened it)."""
        return self.wizard.session_id

    def page(self, step: Step):
        return self.wizard.page(int(step))

    def current(self) -> Step:
        return Step(self.wizard.currentId())

    def forward_button(self) -> QAbstractButton | None:
        """The button that moves on (Next, its commit form, or Finish), if shown and enabled."""
        for which in _FORWARD:
            b = self.wizard.button(which)
            if b.isVisible() and b.isEnabled():
                return b
        return None

    def next_enabled(self) -> bool:
        return self.forward_button() is not None

    def mismatch_categories(self) -> list[str]:
        """The category codes (``DISPENSED_NOT_DEBITED`` …) of the mismatch list, top to bottom
        as shown (sorted and filtered): ``models.CATEGORY_ROLE`` of the ``mismatchTable``."""
        from custodian_app.gui.models import CATEGORY_ROLE

        model = self.page(Step.RECONCILE).table.model()
        return [model.index(r, 0).data(CATEGORY_ROLE) for r in range(model.rowCount())]

    def sign_off_enabled(self) -> bool:
        """``signOffButton`` is enabled once the draft report is shown and until it is signed."""
        return self.page(Step.REPORT).sign_button.isEnabled()

    # -- typing and clicking --------------------------------------------------------------

    def click(self, button: QWidget) -> None:
        assert button.isVisible() and button.isEnabled(), f"{button.objectName()} cannot be clicked"
        self.qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    def tick(self, box: QAbstractButton) -> None:
        """Click a check box or radio button on its mark (its row may be wider than its text)."""
        from PySide6.QtCore import QPoint

        assert box.isVisible() and box.isEnabled(), f"{box.objectName()} cannot be clicked"
        self.qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))

    def type_into(self, field: QLineEdit, text: str) -> None:
        """Replace what the field holds by typing: select all, then the keys."""
        if field.text():
            field.setFocus()
            self.qtbot.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
            self.qtbot.keyClick(field, Qt.Key.Key_Delete)
        if text:
            self.qtbot.keyClicks(field, text)
        assert field.text() == text, (field.objectName(), field.text())

    def next(self, expect: Step | None = None) -> None:
        """Click Next (or the commit page's Next); wait for the page ``expect`` if given."""
        button = self.forward_button()
        assert button is not None, f"Next is disabled on {self.current().name}: {self.flow.missing()}"
        before = self.current()
        self.click(button)
        if expect is not None:
            self.qtbot.waitUntil(lambda: self.current() is expect, timeout=5000)
        else:
            assert self.current() is not before

    def finish(self) -> str:
        """Click Finish on the last page; the state the session ended in (``"closed"``)."""
        button = self.wizard.button(QWizard.WizardButton.FinishButton)
        with self.qtbot.waitSignal(self.wizard.session_closed, timeout=SLOW) as closed:
            self.click(button)
        self.wait_db()
        return closed.args[0]

    # -- pages ----------------------------------------------------------------------------

    def sign_in(
        self,
        a: str | None = None,
        b: str | None = None,
        pa: str | None = None,
        pb: str | None = None,
        *,
        wait_ok: bool = True,
    ) -> None:
        """Both custodians type their names and passwords and click Sign in."""
        a = self.users.custodians[0] if a is None else a
        b = self.users.custodians[1] if b is None else b
        p = self.page(Step.SIGN_IN)
        self.type_into(p.user[0], a)
        self.type_into(p.password[0], self.users.passwords.get(a, "") if pa is None else pa)
        self.type_into(p.user[1], b)
        self.type_into(p.password[1], self.users.passwords.get(b, "") if pb is None else pb)
        self.click(p.sign_in_button)
        if wait_ok:
            self.qtbot.waitUntil(lambda: self.flow.authenticated, timeout=SLOW)
        else:
            self.qtbot.waitUntil(
                lambda: p.sign_in_button.isEnabled() and not p._busy and p.status.text() != "", timeout=SLOW
            )

    def connect(self, device: str, *, wait_ok: bool = True) -> None:
        """Type the port (after the page's own port listing is done) and click Connect."""
        p = self.page(Step.CONNECT)
        self.qtbot.waitUntil(lambda: not p.listing, timeout=SLOW)
        self.type_into(p.port.lineEdit(), device)
        self.click(p.connect_button)
        self.qtbot.waitUntil(lambda: p.connect_button.isEnabled(), timeout=SLOW)
        if wait_ok:
            self.qtbot.waitUntil(p.isComplete, timeout=SLOW)

    def choose_journal_files(self) -> None:
        """On the connect page: the ledger comes from the ATM's journal files, not the cable."""
        p = self.page(Step.CONNECT)
        self.qtbot.waitUntil(lambda: not p.listing, timeout=SLOW)
        self.tick(p.journal_choice)
        self.qtbot.waitUntil(p.isComplete, timeout=SLOW)

    def read_journal_files(self, folder, dialect: str | None = None, *, wait_ok: bool = True) -> None:
        """On the read page: choose ``folder`` (the folder dialog answered with it), the
        journal layout ``dialect`` (typed into its list), and click Read the journals."""
        from custodian_app.gui.wizard import journal_read

        p = self.page(Step.READ_ATM)
        box = p.journal
        real = journal_read.ask_folder
        journal_read.ask_folder = lambda _parent, _title, callback: callback(str(folder))
        try:
            self.click(box.folder_button)
        finally:
            journal_read.ask_folder = real
        self.qtbot.waitUntil(lambda: box.folder == str(folder) and box.read_button.isEnabled(), timeout=SLOW)
        if dialect is not None and box.dialect_name() != dialect:
            box.dialect.setFocus()
            self.qtbot.keyClicks(box.dialect, dialect)
            assert box.dialect_name() == dialect, box.dialect_name()
        self.click(box.read_button)
        self.wait_journal(wait_ok=wait_ok)

    def wait_journal(self, *, wait_ok: bool = True) -> None:
        """The journal read has ended: the ledger is in and the session open (``wait_ok``), or
        it stopped (gaps listed, an error shown)."""
        p = self.page(Step.READ_ATM)
        if wait_ok:  # the session opened on the database thread, and the page said so
            self.qtbot.waitUntil(lambda: p.isComplete() and self.next_enabled(), timeout=SLOW)
        else:
            self.qtbot.waitUntil(lambda: p._job is None, timeout=SLOW)

    def accept_journal_gaps(self) -> None:
        """The custodians tick "accept these gaps knowingly" and read again."""
        box = self.page(Step.READ_ATM).journal
        self.tick(box.accept_gaps)
        self.click(box.read_button)
        self.wait_journal()

    def wait_core(self) -> None:
        """The ledger's core is in: Next leads to the count while the notes keep coming."""
        self.qtbot.waitUntil(self.page(Step.READ_ATM).isComplete, timeout=SLOW)

    def wait_read(self) -> None:
        """The whole ledger, banknote records included, is in."""
        self.wait_core()
        self.qtbot.waitUntil(lambda: self.flow.atm is not None, timeout=SLOW)

    def count(self, counts: dict[str, int | str]) -> None:
        """Type the counted cash per unit: minor units (``{"CST1": 1_250_000}``) or the
        amounts as a counts/1 file writes them (``{"CST1": "12500.00"}``)."""
        p = self.page(Step.COUNT)
        for uid, amount in counts.items():
            self.type_into(p.edits[uid], amount if isinstance(amount, str) else format_amount(amount))
        assert p.isComplete(), p.status.text()

    def count_notes(self, notes: dict[str, int | dict[int, int]]) -> None:
        """Type the notes counted per unit, as the custodians count them bundle by bundle: a
        cassette's number of notes (``{"CST1": 120}``), a mixed bin's notes per denomination in
        yuan (``{"RTR1": {100: 3, 50: 1}}``); the page fills the amounts."""
        p = self.page(Step.COUNT)
        for uid, n in notes.items():
            if isinstance(n, dict):
                fields = dict((value // 100, e) for value, e in p.note_edits[uid])
                for yuan, k in n.items():
                    self.type_into(fields[yuan], str(k))
            else:
                ((_value, field),) = p.note_edits[uid]
                self.type_into(field, str(n))

    def skip_count(self, reason: str) -> None:
        p = self.page(Step.COUNT)
        if not p.skip.isChecked():
            self.click(p.skip)
        self.type_into(p.reason, reason)

    def wait_backend(self) -> None:
        self.qtbot.waitUntil(self.page(Step.BACKEND).isComplete, timeout=SLOW)

    def wait_result(self) -> None:
        self.qtbot.waitUntil(self.page(Step.RECONCILE).isComplete, timeout=SLOW)

    def wait_report(self) -> None:
        """The report (draft, or signed after sign-off) is built and shown."""
        p = self.page(Step.REPORT)
        self.qtbot.waitUntil(
            lambda: p.pdf_bytes is not None and p._job is None and p.document.pageCount() > 0, timeout=SLOW
        )

    def wait_pdf_painted(self) -> None:
        """QPdfView renders in the background; wait until ink shows (for a picture)."""
        view = self.page(Step.REPORT).view

        def inked() -> bool:
            img = view.viewport().grab().toImage()
            w, h = img.width(), img.height()
            return any(
                img.pixelColor(x, y).lightness() < 128
                for x in range(w // 8, w * 7 // 8, 6)
                for y in range(h // 8, h // 2, 6)
            )

        self.qtbot.waitUntil(inked, timeout=SLOW)

    def sign_off(
        self, user: str | None = None, password: str | None = None, *, wait_ok: bool = False
    ) -> None:
        """The supervisor types their name and password and clicks Sign off."""
        user = self.users.supervisor if user is None else user
        p = self.page(Step.REPORT)
        self.type_into(p.sup_user, user)
        self.type_into(p.sup_password, self.users.passwords.get(user, "") if password is None else password)
        self.click(p.sign_button)
        if wait_ok:
            self.qtbot.waitUntil(lambda: self.flow.supervisor == user, timeout=SLOW)
            self.wait_report()

    def exchange(self) -> str:
        """Send the new cycle's loading to the ATM; the new cycle's id."""
        p = self.page(Step.NEW_CYCLE)
        self.click(p.exchange_button)
        self.qtbot.waitUntil(
            lambda: self.flow.new_cycle_id is not None or p.exchange_button.isEnabled(), timeout=SLOW
        )
        assert self.flow.new_cycle_id, p.status.text()
        return self.flow.new_cycle_id

    def clear(self, device: str, counts: dict[str, int | str] | None = None, *, skip_reason: str = "") -> str:
        """The whole clearing from sign-in to Finish (a given count, or skipped with a reason);
        the store's session id. Stops at the first step that does not go through."""
        self.sign_in()
        self.next(Step.CONNECT)
        self.connect(device)
        self.next(Step.READ_ATM)
        self.wait_core()
        self.next(Step.COUNT)
        if counts is None:
            self.skip_count(skip_reason or "QA: not counted")
        else:
            self.count(counts)
        self.next(Step.BACKEND)
        self.wait_backend()
        self.next(Step.RECONCILE)
        self.wait_result()
        self.next(Step.REPORT)
        self.wait_report()
        self.sign_off(wait_ok=True)
        self.next(Step.NEW_CYCLE)
        self.exchange()
        assert self.finish() == State.CLOSED.value
        return self.session_id

    def wait_db(self) -> None:
        """Wait until the database thread has done everything queued so far."""
        import threading

        from custodian_app.gui import workers

        done = threading.Event()
        self.ctx.runners.database.submit(done.set)
        self.qtbot.waitUntil(done.is_set, timeout=SLOW)
        self.qtbot.waitUntil(lambda: not [j for j in list(workers._ACTIVE) if not j.finished], timeout=SLOW)
