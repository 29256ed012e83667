"""Step 8: the cash loaded per cassette; the exchange is sent to the ATM, which starts the
next cycle; Finish closes the session."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QPushButton, QSpinBox, QVBoxLayout

from custodian_app.domain.flow import FlowError, Step
from custodian_app.domain.money import format_grouped
from custodian_app.gui.wizard.base import (
    FlowPage,
    UnitGrid,
    figure_label,
    focus_later,
    show_error,
    show_info,
    show_ok,
    status_label,
    tr,
)
from custodian_app.gui.workers import Job, describe_error

CASSETTE_TYPES = ("cashOut", "recycling")


class NewCyclePage(FlowPage):
    step = Step.NEW_CYCLE

    def __init__(self, wizard) -> None:
        super().__init__(wizard)
        self.setTitle(tr("Load cash and start the next cycle"))
        self.setSubTitle(tr("Enter the notes loaded into each cassette; the ATM then starts its next cycle."))
        layout = QVBoxLayout(self)
        self.grid_host = UnitGrid()
        self.grid = self.grid_host.grid
        layout.addWidget(self.grid_host)
        self.total = QLabel(objectName="loadedTotal")
        layout.addWidget(self.total)
        self.exchange_button = QPushButton(
            tr("&Send to the ATM and start the new cycle"), objectName="exchangeButton"
        )
        self.exchange_button.clicked.connect(self.exchange)
        layout.addWidget(self.exchange_button)
        self.status = status_label("newCycleStatus")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.spins: dict[str, QSpinBox] = {}
        self.bins: list[str] = []
        self.values: dict[str, int] = {}
        self._job: Job | None = None

    def initializePage(self) -> None:  # noqa: N802 - Qt API
        atm = self.flow.core_ledger
        self.grid_host.reset((tr("Cassette"), tr("Value"), tr("Notes loaded"), tr("Amount")))
        self.spins.clear()
        for u in (u for u in atm.units if u.type in CASSETTE_TYPES):
            self.values[u.id] = u.value or 0
            spin = QSpinBox(objectName=f"load_{u.id}")
            spin.setRange(0, 10000)
            spin.setAccessibleName(tr("Notes loaded into %1").replace("%1", u.id))
            spin.setValue((self.flow.loaded or {}).get(u.id, u.initial))
            spin.valueChanged.connect(self._update)
            self.grid_host.add_row(
                (
                    u.id,
                    format_grouped(u.value) if u.value else "—",
                    spin,
                    figure_label(name=f"loadAmount_{u.id}"),
                ),
                entry=spin,
            )
            self.spins[u.id] = spin
        previous = self.grid_host.last_input
        # the bins are emptied at the clearing and start the cycle empty; EndExchange takes
        # the complete unit list (XFS4IoT), so they go with 0
        self.bins = [u.id for u in atm.units if u.type not in CASSETTE_TYPES]
        for uid in self.bins:
            self.grid_host.add_row((uid, None, tr("emptied")))
        # the columns at their natural width, next to their headings; the rest of the width is
        # left empty on the right
        self.grid.setColumnStretch(4, 1)
        if previous is not None:
            self.setTabOrder(previous, self.exchange_button)
        self._update()
        if self.flow.new_cycle_id:
            self._started()
        elif self.spins:
            focus_later(next(iter(self.spins.values())))

    def _update(self) -> None:
        total = 0
        for uid, spin in self.spins.items():
            amount = spin.value() * self.values[uid]
            total += amount
            self.grid_host.figure(f"loadAmount_{uid}").setText(format_grouped(amount))
        self.total.setText(tr("Loading amount of the next cycle: %1").replace("%1", format_grouped(total)))

    def loaded(self) -> dict[str, int]:
        """Notes per unit for EndExchange: the cassettes as entered, every bin empty."""
        out = {uid: spin.value() for uid, spin in self.spins.items()}
        out.update({uid: 0 for uid in self.bins})
        return out

    def exchange(self) -> None:
        if self._job is not None or self.flow.new_cycle_id:
            return
        loaded = self.loaded()
        try:
            self.flow.check_loaded(loaded)
        except FlowError as exc:
            show_error(self.status, describe_error(exc))
            return
        self.exchange_button.setEnabled(False)
        show_info(self.status, tr("Sending the exchange to the ATM…"))
        op = self.ctx.op_exchange(loaded)
        self._job = (
            Job(self, op, lambda cycle: self._exchanged(loaded, cycle))
            .failure(self._failed)
            .run(self.ctx.runners.serial)
        )

    def _exchanged(self, loaded: dict[str, int], new_cycle) -> None:
        self._job = None
        try:
            self.flow.record_new_cycle(loaded, str(new_cycle))
        except FlowError as exc:
            self.exchange_button.setEnabled(True)
            show_error(self.status, describe_error(exc))
            return
        self._wizard.persist()
        self._started()
        self.changed()
        self._wizard.next_button_focus()

    def _started(self) -> None:
        self.exchange_button.setEnabled(False)
        for spin in self.spins.values():
            spin.setEnabled(False)
        show_ok(
            self.status,
            tr("The ATM started cycle %1. Press Finish to close the session.").replace(
                "%1", self.flow.new_cycle_id
            ),
        )

    def _failed(self, exc) -> None:
        self._job = None
        self.exchange_button.setEnabled(True)
        show_error(
            self.status,
            describe_error(exc)
            + "\n"
            + tr("Check the cable and that the ATM is in maintenance mode, then press the button again."),
        )
