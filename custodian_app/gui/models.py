"""Table models and the cassette-level chart the pages show."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QT_TR_NOOP, QAbstractTableModel, QCoreApplication, QModelIndex, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

from custodian_app.domain.catalogue import CatalogueError
from custodian_app.domain.formats import Mismatch, NoteRecord, TotalsItem, Unit
from custodian_app.domain.money import format_grouped
from custodian_app.gui.error_words import local_time
from custodian_app.support.catalogue import load_catalogue

GREEN = QColor("#1b5e20")
RED = QColor("#b00020")
GREEN_BG = QColor("#e8f5e9")
RED_BG = QColor("#ffebee")

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
# the mismatch's category code (DISPENSED_NOT_DEBITED …) in every column: for QA (docs/qa.md)
CATEGORY_ROLE = Qt.ItemDataRole.UserRole + 2


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


# words shown through tr() at run time, listed here for the translators
_WORDS = (
    QT_TR_NOOP("withdrawal"),
    QT_TR_NOOP("deposit"),
    QT_TR_NOOP("taken"),
    QT_TR_NOOP("retracted"),
    QT_TR_NOOP("deposited"),
    QT_TR_NOOP("returned"),
    QT_TR_NOOP("rejected"),
    QT_TR_NOOP("open"),
    QT_TR_NOOP("closed"),
    QT_TR_NOOP("exchange"),
)


STATE_NAMES = {
    "signed_in": QT_TR_NOOP("signed in"),
    "atm_read": QT_TR_NOOP("ATM ledger read"),
    "counted": QT_TR_NOOP("cash counted"),
    "backend_fetched": QT_TR_NOOP("backend ledger fetched"),
    "reconciled": QT_TR_NOOP("reconciled"),
    "reviewed": QT_TR_NOOP("reviewed"),
    "signed": QT_TR_NOOP("signed off"),
    "new_cycle_started": QT_TR_NOOP("new cycle started"),
    "closed": QT_TR_NOOP("finished"),
    "abandoned": QT_TR_NOOP("abandoned"),
}


def state_name(state: str) -> str:
    return tr(STATE_NAMES.get(state, state))


def counted(n: int, one: str, many: str) -> str:
    """``one`` (a sentence for 1) or ``many`` (with %1), translated: "1 session", "3 sessions"."""
    return tr(one if n == 1 else many).replace("%1", f"{n:,}")


def money(minor: int | None) -> str:
    return "" if minor is None else format_grouped(minor)


class _Table(QAbstractTableModel):
    headers: tuple[str, ...] = ()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.rows: list[Any] = []

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(self.headers[section])
        return None

    def set_rows(self, rows: Sequence[Any]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()


UNIT_TYPE_NAMES = {
    "cashOut": QT_TR_NOOP("cash out"),
    "cashIn": QT_TR_NOOP("cash in"),
    "recycling": QT_TR_NOOP("recycling"),
    "reject": QT_TR_NOOP("reject bin"),
    "retract": QT_TR_NOOP("retract bin"),
}


class UnitsModel(_Table):
    headers = (
        QT_TR_NOOP("Unit"),
        QT_TR_NOOP("Type"),
        QT_TR_NOOP("Value"),
        QT_TR_NOOP("Initial"),
        QT_TR_NOOP("Out"),
        QT_TR_NOOP("In"),
        QT_TR_NOOP("Count"),
        QT_TR_NOOP("Amount"),
    )

    def set_units(self, units: Sequence[Unit], currency: str = "") -> None:
        self.set_rows(units)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        u: Unit = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            out, in_ = sum(u.out.values()), sum(u.in_.values())
            amount = None if u.value is None else u.value * u.count
            return [
                u.id,
                tr(UNIT_TYPE_NAMES.get(u.type, u.type)),
                money(u.value) or tr("mixed"),
                str(u.initial),
                str(out),
                str(in_),
                str(u.count),
                money(amount),
            ][col]
        if role == Qt.ItemDataRole.TextAlignmentRole and col >= 2:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class UnitLevelsChart(QWidget):
    """Bars of each unit's note count against what it was loaded with (drawn with QPainter:
    no chart library needed, and it prints and grabs the same everywhere)."""

    def __init__(self, parent=None, objectName: str = "") -> None:  # noqa: N803
        super().__init__(parent)
        if objectName:
            self.setObjectName(objectName)
        self.units: list[Unit] = []
        self.setMinimumSize(220, 160)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_units(self, units: Sequence[Unit]) -> None:
        self.units = list(units)
        self.update()

    BINS = ("cashIn", "reject", "retract")  # units that fill up during a cycle

    def levels(self) -> list[tuple[str, int, int]]:
        """(unit id, count now, scale) per unit. A cassette is drawn against what it was loaded
        with; a bin (cash-in, reject, retract) starts empty and fills, so it is drawn against
        the largest cassette load instead of itself (else 8 rejected notes look like a full bin)."""
        loads = [max(u.initial, u.count) for u in self.units if u.type not in self.BINS]
        bin_scale = max(loads, default=1)
        return [
            (u.id, max(u.count, 0), max(bin_scale if u.type in self.BINS else u.initial, u.count, 1))
            for u in self.units
        ]

    def is_bin(self, index: int) -> bool:
        return self.units[index].type in self.BINS

    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(8, 8, -8, -8)
        levels = self.levels()
        if not levels:
            p.drawText(rect, Qt.AlignmentFlag.AlignCenter, tr("No cassettes read yet"))
            p.end()
            return
        label_h = p.fontMetrics().height() * 2 + 4
        bar_area_h = rect.height() - label_h
        slot = rect.width() / len(levels)
        for i, (uid, count, scale) in enumerate(levels):
            x = rect.left() + i * slot + slot * 0.2
            w = slot * 0.6
            frame = QRectF(x, rect.top(), w, bar_area_h)
            p.setPen(QColor("#9e9e9e"))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(frame)
            frac = count / scale
            h = bar_area_h * frac
            if self.is_bin(i):  # a filling bin: neutral, and amber only when nearly full
                color = QColor("#f9a825") if frac > 0.9 else QColor("#607d8b")
            else:  # an emptying cassette: amber when low, red when nearly empty
                color = RED if frac < 0.1 else QColor("#f9a825") if frac < 0.3 else QColor("#1565c0")
            p.setBrush(QBrush(color))
            p.setPen(Qt.PenStyle.NoPen)
            p.drawRect(QRectF(x, rect.top() + bar_area_h - h, w, h))
            p.setPen(self.palette().text().color())
            p.drawText(
                QRectF(x - slot * 0.2, rect.top() + bar_area_h + 2, slot, label_h / 2),
                Qt.AlignmentFlag.AlignCenter,
                uid,
            )
            p.drawText(
                QRectF(x - slot * 0.2, rect.top() + bar_area_h + 2 + label_h / 2, slot, label_h / 2),
                Qt.AlignmentFlag.AlignCenter,
                str(count),
            )
        p.end()


TOTALS_NAMES = {
    "loaded_amount": QT_TR_NOOP("Loading amount"),
    "withdrawals.count": QT_TR_NOOP("Withdrawals (count)"),
    "withdrawals.amount": QT_TR_NOOP("Withdrawals (amount)"),
    "deposits.count": QT_TR_NOOP("Deposits (count)"),
    "deposits.amount": QT_TR_NOOP("Deposits (amount)"),
}


class TotalsModel(_Table):
    headers = (QT_TR_NOOP("Item"), QT_TR_NOOP("ATM"), QT_TR_NOOP("Backend"), QT_TR_NOOP("Equal"))

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        t: TotalsItem = self.rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            fmt = money if t.is_amount else str
            return [
                tr(TOTALS_NAMES.get(t.item, t.item)),
                fmt(t.atm),
                fmt(t.host),
                tr("equal") if t.equal else tr("differs"),
            ][col]
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(GREEN if t.equal else RED)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(GREEN_BG if t.equal else RED_BG)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


def category_name(code: str) -> str:
    """The category's one name, from the catalogue: the report prints the same words."""
    try:
        return load_catalogue().category_name(code, "zh" if is_chinese() else "en")
    except (KeyError, CatalogueError):  # a code the catalogue lacks is shown as it is
        return code


def is_chinese() -> bool:
    return QCoreApplication.translate("", "Unit") != "Unit"


def work_order(mismatches: Sequence[Mismatch]) -> list[Mismatch]:
    """The order the custodians work the list in: shortages first, then overages, then items
    with no cash effect; the largest amount first within each."""

    def key(m: Mismatch) -> tuple[int, int]:
        side = 0 if m.cash_effect < 0 else 1 if m.cash_effect > 0 else 2
        return side, -abs(m.cash_effect)

    return sorted(mismatches, key=key)


class MismatchModel(_Table):
    headers = (
        QT_TR_NOOP("Category"),
        QT_TR_NOOP("TSN"),
        QT_TR_NOOP("Type"),
        QT_TR_NOOP("ATM amount"),
        QT_TR_NOOP("Backend amount"),
        QT_TR_NOOP("Reject code"),
        QT_TR_NOOP("Cash effect"),
        QT_TR_NOOP("Action"),
        QT_TR_NOOP("Remark"),
    )
    COL_REMARK = 8

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.remarks: dict[str, str] = {}
        self.key = lambda m: ""

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        m: Mismatch = self.rows[index.row()]
        col = index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            action = m.action if is_chinese() else (m.action_en or m.action)
            values = [
                category_name(m.category),
                m.tsn or "",
                tr(m.type) if m.type else "",
                money(m.atm_amount),
                money(m.host_amount),
                m.reject_code or "",
                format_grouped(m.cash_effect, plus=True),
                action,
                self.remarks.get(self.key(m), ""),
            ]
            return values[col]
        if role == CATEGORY_ROLE:
            return m.category
        if role == SORT_ROLE:
            # numbers sort as numbers, absent amounts first
            numeric = {3: m.atm_amount, 4: m.host_amount, 6: m.cash_effect}
            if col in numeric:
                v = numeric[col]
                return -(10**18) if v is None else v
            return self.data(index, Qt.ItemDataRole.DisplayRole)
        if role == Qt.ItemDataRole.ForegroundRole and col == 6 and m.cash_effect:
            return QBrush(RED if m.cash_effect < 0 else GREEN)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (3, 4, 6):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def remark_changed(self, row: int) -> None:
        self.dataChanged.emit(self.index(row, self.COL_REMARK), self.index(row, self.COL_REMARK))


class NotesModel(_Table):
    headers = (
        QT_TR_NOOP("Serial"),
        QT_TR_NOOP("Value"),
        QT_TR_NOOP("Event"),
        QT_TR_NOOP("Unit"),
        QT_TR_NOOP("TSN"),
    )

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        n: NoteRecord = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return [n.serial, money(n.value), tr(n.event), n.unit, n.tsn or ""][index.column()]
        return None


class RecordsModel(_Table):
    """Rows of plain dicts, for the history, terminals and serial-search tables."""

    # columns whose stored words (English codes) are shown in the interface's language
    WORDS = {"state": state_name, "event": lambda v: tr(v)}
    # moments, shown in the branch's local time as the interface's language writes them
    TIMES = frozenset({"started_at", "updated_at", "time"})

    def __init__(self, columns: Sequence[tuple[str, str]], parent=None) -> None:
        super().__init__(parent)
        self.columns = list(columns)  # (key, header)
        self.headers = tuple(h for _k, h in self.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        row = self.rows[index.row()]
        key = self.columns[index.column()][0]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            value = row.get(key) if isinstance(row, dict) else getattr(row, key, None)
            if value is None:
                return ""
            if key in self.TIMES:
                return local_time(value)
            words = self.WORDS.get(key)
            return words(str(value)) if words else str(value)
        return None
