"""The wizard's ATM panel, beside every page: how far the ledger read is (the banknote records
keep arriving on the serial thread while the custodians count), a retry when it failed, and
what the ATM reported on its own during the clearing (the safe door opened …)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QT_TR_NOOP, QLocale
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGroupBox, QLabel, QListWidget, QPushButton, QVBoxLayout

from custodian_app.gui.wizard.base import show_error, show_info, show_ok, tr

STATUS_TEXT = {
    ("safeDoor", "open"): QT_TR_NOOP("Safe door opened at %1"),
    ("safeDoor", "closed"): QT_TR_NOOP("Safe door closed at %1"),
}


def source_lines(sources: dict) -> list[str]:
    """One line per source the ATM agent has lost or that fails, in the agent's own words
    (it sends them in English and Chinese: docs/agent.md); none when all answer."""
    chinese = QLocale().language() == QLocale.Language.Chinese
    return [
        (s.chinese if chinese and s.chinese else s.english) or f"{s.name}: {s.state}"
        for s in sources.values()
        if s.state in ("lost", "error")
    ]


def event_text(name: str, payload: dict, when: datetime) -> str:
    """Words for an unsolicited ATM event, e.g. "Safe door opened at 10:42"."""
    at = when.strftime("%H:%M")
    if "sources" in payload:  # the agent lost a source, or has it back
        from custodian_app.link.sources import parse_sources

        lines = source_lines(parse_sources(payload["sources"]))
        chinese = QLocale().language() == QLocale.Language.Chinese
        ok = "ATM 代理的各数据源均已恢复" if chinese else "The ATM agent's sources all answer again"
        return f"{at} " + ("; ".join(lines) or ok)
    parts = []
    for key, value in sorted(payload.items()):
        template = STATUS_TEXT.get((key, str(value)))
        if template is not None:
            parts.append(tr(template).replace("%1", at))
    if parts:
        return "; ".join(parts)
    if name.endswith("CycleOpenedEvent") and payload.get("cycleId"):
        return tr("The ATM opened cycle %1 at %2").replace("%1", str(payload["cycleId"])).replace("%2", at)
    detail = ", ".join(f"{k}={v}" for k, v in sorted(payload.items()))
    return tr("The ATM reported %1 (%2) at %3").replace("%1", name).replace("%2", detail).replace("%3", at)


class AtmPanel(QGroupBox):
    """The wizard's side widget (objectName ``atmPanel``)."""

    def __init__(self, parent=None) -> None:
        super().__init__(tr("The ATM"), parent)
        self.setObjectName("atmPanel")
        self.setMinimumWidth(190)
        self.setMaximumWidth(230)
        layout = QVBoxLayout(self)
        self.ledger_state = QLabel(objectName="ledgerState")
        self.ledger_state.setWordWrap(True)
        layout.addWidget(self.ledger_state)
        self.sources = QLabel(objectName="atmSources")  # the agent's lost sources, if any
        self.sources.setWordWrap(True)
        self.sources.hide()
        layout.addWidget(self.sources)
        self.retry_button = QPushButton(tr("Read a&gain"), objectName="retryReadButton")
        self.retry_button.hide()
        layout.addWidget(self.retry_button)
        self.events_label = QLabel(tr("Reported by the ATM:"))
        layout.addWidget(self.events_label)
        self.events = QListWidget(objectName="atmEvents")
        self.events.setWordWrap(True)
        self.events.setAccessibleName(tr("Reported by the ATM"))
        layout.addWidget(self.events, 1)
        # shown once the ATM has reported something: an empty box is only noise
        self.events_label.hide()
        self.events.hide()
        layout.addStretch(1)
        self.set_idle()

    def set_idle(self) -> None:
        show_info(self.ledger_state, tr("The ledger has not been read yet."))
        self.retry_button.hide()

    def set_reading(self, done: int = 0, total: int = 0) -> None:
        text = tr("Reading the ledger…")
        if total:
            text += "\n" + tr("%1 of %2 records").replace("%1", f"{done:,}").replace("%2", f"{total:,}")
        show_info(self.ledger_state, text)
        self.retry_button.hide()

    def set_notes_coming(self, done: int, total: int) -> None:
        text = tr("Transactions in: count the cash now. Banknote records still being read…")
        if total:
            text += "\n" + tr("%1 of %2 records").replace("%1", f"{done:,}").replace("%2", f"{total:,}")
        show_info(self.ledger_state, text)
        self.retry_button.hide()

    def set_complete(self, transactions: int, notes: int) -> None:
        show_ok(
            self.ledger_state,
            tr("Ledger complete: %1 transactions, %2 banknote records.")
            .replace("%1", f"{transactions:,}")
            .replace("%2", f"{notes:,}"),
        )
        self.retry_button.hide()

    def set_failed(self, message: str) -> None:
        show_error(
            self.ledger_state,
            tr(
                "Reading the banknote records failed: %1\nCheck the cable, then "
                "press Read again. The clearing cannot be reconciled without them."
            ).replace("%1", message),
        )
        self.retry_button.show()

    def show_sources(self, sources: dict) -> None:
        """The ATM agent's sources (AtmStatus.sources): a red line for each that is lost."""
        lines = source_lines(sources)
        if lines:
            show_error(self.sources, "\n".join(lines))
        self.sources.setVisible(bool(lines))

    def set_read_failed(self, message: str) -> None:
        """The read stopped before the core arrived: nothing was read, and the panel says why."""
        show_error(self.ledger_state, tr("The read failed: %1").replace("%1", message))
        self.retry_button.hide()

    def add_event(self, text: str, *, alert: bool = False) -> None:
        self.events_label.show()
        self.events.show()
        self.events.addItem(text)
        if alert:  # the safe door open during a clearing is for the custodians to see at once
            item = self.events.item(self.events.count() - 1)
            item.setForeground(QColor("#b00020"))
        self.events.scrollToBottom()
