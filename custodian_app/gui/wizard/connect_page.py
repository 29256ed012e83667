"""Step 2: where the ATM's ledger comes from. Over the serial link: pick the ATM's maintenance
port and line speed, and show what the ATM says. From the ATM's journal files (a USB stick):
nothing to connect, Next leads to the read page, which reads them."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from custodian_app.domain.flow import FlowError, Step
from custodian_app.gui.error_words import local_time
from custodian_app.gui.wizard.base import (
    FlowPage,
    focus_later,
    show_error,
    show_info,
    show_ok,
    status_label,
    tr,
)
from custodian_app.gui.workers import Job, describe_error

SPEEDS = (9600, 19200, 38400, 57600, 115200)


def no_answer_advice(port: str, error: str = "") -> str:
    return (
        tr("The ATM on %1 does not answer.").replace("%1", port)
        + "\n"
        + (error + "\n" if error else "")
        + "\n"
        + tr(
            "Check that: the cable is plugged in at both ends; the ATM is in maintenance "
            "(supervisor) mode; the right port is chosen (unplug and replug the cable and "
            "press Refresh to see which one appears); the line speed matches the ATM's "
            "setting (usually 115200). Then press Connect again."
        )
    )


class ConnectPage(FlowPage):
    step = Step.CONNECT

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Connect to the ATM"))
        self.setSubTitle(
            tr(
                "Plug the cable into the ATM's maintenance port and choose the port, or read "
                "the ATM's journal files from a USB stick."
            )
        )
        layout = QVBoxLayout(self)
        self.serial_choice = QRadioButton(
            tr("The ATM on the serial p&ort (its maintenance port)"), objectName="sourceSerialRadio"
        )
        self.journal_choice = QRadioButton(
            tr("The ATM's &journal files, from a USB stick or folder (no cable needed)"),
            objectName="sourceJournalRadio",
        )
        self.choice = QButtonGroup(self)
        self.choice.addButton(self.serial_choice)
        self.choice.addButton(self.journal_choice)
        self.serial_choice.setChecked(True)
        self.journal_choice.toggled.connect(self._source_chosen)
        layout.addWidget(self.serial_choice)
        layout.addWidget(self.journal_choice)
        self.serial_box = QWidget(objectName="serialBox")
        serial = QVBoxLayout(self.serial_box)
        serial.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        port_row = QHBoxLayout()
        self.port = QComboBox(objectName="portCombo")
        self.port.setEditable(True)  # a pseudo-terminal or an unlisted device can be typed
        self.port.setMinimumWidth(360)
        self.refresh_button = QPushButton(tr("&Refresh"), objectName="refreshPortsButton")
        self.refresh_button.clicked.connect(self.refresh_ports)
        port_row.addWidget(self.port, 1)
        port_row.addWidget(self.refresh_button)
        port_label = QLabel(tr("&Port"))
        port_label.setBuddy(self.port)
        form.addRow(port_label, port_row)
        self.speed = QComboBox(objectName="speedCombo")
        for s in SPEEDS:
            self.speed.addItem(f"{s} bit/s", s)
        form.addRow(tr("Line &speed"), self.speed)
        serial.addLayout(form)
        self.connect_button = QPushButton(tr("&Connect"), objectName="connectButton")
        self.connect_button.clicked.connect(self.connect_atm)
        serial.addWidget(self.connect_button)
        self.atm_info = QLabel(objectName="atmInfo")
        self.atm_info.setTextInteractionFlags(self.atm_info.textInteractionFlags())
        serial.addWidget(self.atm_info)
        layout.addWidget(self.serial_box)
        self.status = status_label("connectStatus")
        layout.addWidget(self.status)
        help_text = QLabel(
            tr(
                "<b>Before connecting</b><ol>"
                "<li>Put the ATM in maintenance (supervisor) mode.</li>"
                "<li>Plug the cable into the ATM's maintenance port and into this PC.</li>"
                "<li>Choose the port: press Refresh, and the one that appears when the cable is "
                "plugged in is the ATM's.</li>"
                "<li>The line speed is the ATM's setting, usually 115200.</li></ol>"
            ),
            objectName="connectHelp",
        )
        help_text.setWordWrap(True)
        serial.addWidget(help_text)
        self.help_text = help_text
        layout.addStretch(1)
        self.setTabOrder(self.serial_choice, self.journal_choice)
        self.setTabOrder(self.journal_choice, self.port)
        self.setTabOrder(self.port, self.refresh_button)
        self.setTabOrder(self.refresh_button, self.speed)
        self.setTabOrder(self.speed, self.connect_button)
        self._job = None
        self.listing = False

    def isComplete(self) -> bool:  # noqa: N802 - Qt API
        if self.flow.atm_from_journal and not self.flow.core_read:
            # the journal way opens the store's session once the read names the terminal
            return super().isComplete()
        # the ATM answered AND the store opened the session (one open clearing per ATM)
        return super().isComplete() and self._wizard.session_id is not None

    def _source_chosen(self, journal: bool) -> None:
        if self.flow.step is not Step.CONNECT or self.flow.core_read:
            return
        self.flow.atm_from_journal = journal
        self.serial_box.setEnabled(not journal)
        if journal:
            show_info(
                self.status,
                tr("Press Next, then choose the USB stick or folder with the ATM's journal files."),
            )
        else:
            self.status.clear()
        self.changed()
        if journal:
            self._wizard.next_button_focus()

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        # a resumed clearing reconnects for the exchange: the ledger is in already
        for choice in (self.serial_choice, self.journal_choice):
            choice.setEnabled(not self.flow.core_read)
        (self.journal_choice if self.flow.atm_from_journal else self.serial_choice).setChecked(True)
        self.serial_box.setEnabled(not self.flow.atm_from_journal or self.flow.core_read)
        s = self.ctx.settings
        idx = self.speed.findData(s.serial_baud)
        self.speed.setCurrentIndex(idx if idx >= 0 else self.speed.count() - 1)
        self.refresh_ports()
        focus_later(self.port)

    def refresh_ports(self) -> None:
        self.listing = True

        def op(ctx):
            from custodian_app.link.ports import list_ports

            return list_ports()

        def listed(ports) -> None:
            self.listing = False
            # what the user typed meanwhile wins over the remembered port
            remembered = self.port.currentText().strip() or self.ctx.settings.serial_port
            self.port.clear()
            for p in ports:  # (device, description)
                device, desc = (p[0], p[1]) if isinstance(p, tuple) else (str(p), "")
                self.port.addItem(f"{device} — {desc}" if desc else device, device)
            if remembered:
                i = self.port.findData(remembered)
                if i >= 0:
                    self.port.setCurrentIndex(i)
                else:
                    self.port.setEditText(remembered)
            if not ports and not remembered:
                show_info(self.status, tr("No serial port found. Plug in the cable and press Refresh."))

        def failed(exc) -> None:
            self.listing = False
            show_error(self.status, describe_error(exc))

        Job(self, op, listed).failure(failed).run(self.ctx.runners.background)

    def chosen_port(self) -> str:
        i = self.port.currentIndex()
        text = self.port.currentText().strip()
        if i >= 0 and self.port.itemText(i) == text:
            return self.port.itemData(i) or text
        return text.split(" — ")[0].strip()

    def connect_atm(self) -> None:
        port = self.chosen_port()
        if not port:
            show_error(self.status, tr("Choose the port the ATM's cable is plugged into."))
            return
        baud = self.speed.currentData()
        self.connect_button.setEnabled(False)
        self.atm_info.clear()
        show_info(self.status, tr("Connecting to %1…").replace("%1", port))
        self._job = (
            Job(self, self.ctx.op_connect(port, baud), lambda st: self._connected(port, baud, st))
            .failure(lambda e: self._failed(port, e))
            .run(self.ctx.runners.serial)
        )

    def _connected(self, port: str, baud: int, status) -> None:
        terminal, cycle, state = status.terminal_id, status.cycle_id, status.cycle_state
        try:
            self.flow.record_atm_status(terminal, cycle, state)
        except FlowError as exc:
            show_error(self.status, describe_error(exc))
            return
        self.atm_info.setText(
            tr(
                "Terminal: %1\nCycle: %2 (%3), opened %4\nTransactions: %5 · banknote records: %6\n"
                "Line speed: %7 bit/s · safe door: %8"
            )
            .replace("%1", terminal)
            .replace("%2", cycle)
            .replace("%3", tr(state))
            .replace("%4", local_time(status.opened_at))
            .replace("%5", f"{status.transaction_count:,}")
            .replace("%6", f"{status.note_count:,}")
            .replace("%7", str(status.line_speed))
            .replace("%8", tr(status.safe_door))
        )
        self.ctx.remember_port(port, baud)
        self._wizard.atm_panel.show_sources(status.sources)  # a source the ATM agent has lost
        # the store opens the session now that the terminal is known (one open clearing per ATM)
        show_info(self.status, tr("The ATM answered. Opening the clearing session…"))
        recorder, snapshot = self._wizard.recorder, self.ctx.clearing.snapshot(self.flow)
        self.ctx.run_db(self, lambda store: recorder.sync(store, snapshot), self._opened, self._refused)

    def _opened(self, _sid) -> None:
        self.connect_button.setEnabled(True)
        show_ok(self.status, tr("The ATM answered. Press Next to read its ledger."))
        self.changed()
        self._wizard.next_button_focus()

    def _refused(self, exc) -> None:
        self.connect_button.setEnabled(True)
        self.flow.atm_status = None
        self.changed()
        show_error(self.status, describe_error(exc))

    def _failed(self, port: str, exc) -> None:
        from custodian_app.link.errors import LinkTimeout, ProtocolError

        self.connect_button.setEnabled(True)
        words = describe_error(exc, port=port)
        if isinstance(exc, LinkTimeout):  # the port opened, but no ATM in maintenance answers
            words = no_answer_advice(port)
        elif isinstance(exc, ProtocolError):  # something answers, but not as an ATM does
            words = no_answer_advice(port, words)
        show_error(self.status, words)
