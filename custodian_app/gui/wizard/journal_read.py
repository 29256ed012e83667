"""The read page's second way in: the ATM's own journal files and FSN folder, taken from the
ATM on a USB stick (issue 15). The custodians choose the folder, the journal files and FSN
folder found in it are shown (and can be changed), the dialect is chosen, and the files are
read on the background pool with progress (``custodian_app.journal.read_journals``). Lines the
dialect does not describe are listed by file and line; the read goes through only when the
custodians accept them knowingly (they stay with the ledger's ``source`` for the report)."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from custodian_app.gui.wizard.base import tr

# What a journal file is called on the ATMs the shipped dialects describe (EJ text files)
JOURNAL_SUFFIXES = (".txt", ".jrn", ".log", ".ej", ".ejr")
GAPS_SHOWN = 200  # lines listed; the count says how many in all


def ask_folder(parent, title: str, callback) -> QFileDialog:
    """Choose a folder (a USB stick); ``callback(path)`` once chosen. Tests replace this, as
    they replace ``dialogs.ask``."""
    dlg = QFileDialog(parent, title)
    dlg.setObjectName("openFolderDialog")
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.setFileMode(QFileDialog.FileMode.Directory)
    dlg.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dlg.fileSelected.connect(callback)
    dlg.open()
    return dlg


def find_journal_files(folder: str) -> tuple[list[str], str | None]:
    """(journal files, FSN folder) found in ``folder`` and its subfolders one level down: the
    journals by name (the order they are read in), the first folder holding ``.fsn`` files.
    Runs on a worker thread (a USB stick is slow to list); raises OSError."""
    root = Path(folder)
    places = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    journals: list[str] = []
    fsn_dir = None
    for place in places:
        try:
            entries = sorted(e for e in place.iterdir() if e.is_file() and not e.name.startswith("."))
        except OSError:
            if place == root:
                raise
            continue  # a subfolder we may not read is not the journal's
        if fsn_dir is None and any(e.suffix.lower() == ".fsn" for e in entries):
            fsn_dir = str(place)
        journals += [str(e) for e in entries if e.suffix.lower() in JOURNAL_SUFFIXES]
    return journals, fsn_dir


def gap_text(gap, folder: str | None) -> str:
    where = os.path.relpath(gap.file, folder) if folder else gap.file
    return f"{where}:{gap.line}"


class JournalBox(QWidget):
    """The choices of a journal read; the page runs the read. ``changed`` when a choice changes."""

    changed = Signal()

    def __init__(self, on_read) -> None:
        super().__init__(objectName="journalBox")
        self.folder: str | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        form = QFormLayout()
        row = QHBoxLayout()
        self.folder_edit = QLineEdit(objectName="journalFolderEdit")
        self.folder_edit.setReadOnly(True)
        self.folder_edit.setPlaceholderText(tr("Choose the USB stick or folder with the ATM's journal files"))
        self.folder_edit.setAccessibleName(tr("The folder with the ATM's journal files"))
        self.folder_button = QPushButton(tr("Choose the &folder…"), objectName="chooseFolderButton")
        row.addWidget(self.folder_edit, 1)
        row.addWidget(self.folder_button)
        folder_label = QLabel(tr("Fol&der"))
        folder_label.setBuddy(self.folder_button)
        form.addRow(folder_label, row)
        self.files = QListWidget(objectName="journalFilesList")
        self.files.setAccessibleName(tr("Journal files to read, in order (untick one to leave it out)"))
        self.files.setMaximumHeight(90)
        self.files.itemChanged.connect(lambda _i: self.changed.emit())
        files_label = QLabel(tr("&Journal files"))
        files_label.setBuddy(self.files)
        form.addRow(files_label, self.files)
        fsn_row = QHBoxLayout()
        self.fsn_edit = QLineEdit(objectName="fsnFolderEdit")
        self.fsn_edit.setReadOnly(True)
        self.fsn_edit.setPlaceholderText(tr("none found: the ledger is read without banknote records"))
        self.fsn_edit.setAccessibleName(tr("The folder with the FSN banknote files"))
        self.fsn_button = QPushButton(tr("Choose the FSN f&older…"), objectName="chooseFsnButton")
        fsn_row.addWidget(self.fsn_edit, 1)
        fsn_row.addWidget(self.fsn_button)
        fsn_label = QLabel(tr("FSN folder"))
        fsn_label.setBuddy(self.fsn_button)
        form.addRow(fsn_label, fsn_row)
        self.dialect = QComboBox(objectName="dialectCombo")
        self.dialect.setAccessibleName(tr("The journal's layout (the ATM's vendor)"))
        self.dialect.currentIndexChanged.connect(lambda _i: self.changed.emit())
        dialect_label = QLabel(tr("Journal &layout"))
        dialect_label.setBuddy(self.dialect)
        form.addRow(dialect_label, self.dialect)
        layout.addLayout(form)
        self.read_button = QPushButton(tr("&Read the journals"), objectName="readJournalButton")
        self.read_button.clicked.connect(on_read)
        self.read_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.read_button)
        self.cancel_button = QPushButton(tr("&Cancel reading"), objectName="cancelJournalButton")
        self.cancel_button.setEnabled(False)
        self.cancel_button.setAutoDefault(False)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        # shown only when lines match no rule of the dialect
        self.gaps_box = QWidget(objectName="gapsBox")
        gaps = QVBoxLayout(self.gaps_box)
        gaps.setContentsMargins(0, 0, 0, 0)
        self.gaps_label = QLabel(objectName="gapsLabel")
        self.gaps_label.setWordWrap(True)
        self.gaps = QListWidget(objectName="gapsList")
        self.gaps.setAccessibleName(tr("Journal lines that match no rule of the layout"))
        self.gaps.setMaximumHeight(90)
        self.accept_gaps = QCheckBox(
            tr("Accept these gaps &knowingly (they are listed in the report)"), objectName="acceptGapsCheck"
        )
        self.accept_gaps.toggled.connect(lambda _on: self.changed.emit())
        gaps.addWidget(self.gaps_label)
        gaps.addWidget(self.gaps)
        gaps.addWidget(self.accept_gaps)
        layout.addWidget(self.gaps_box)
        self.gaps_box.hide()
        self.changed.connect(self._sync)

    def chain_tabs(self) -> None:
        """Tab in reading order (once the box is in its window)."""
        for w, nxt in (
            (self.folder_button, self.files),
            (self.files, self.fsn_button),
            (self.fsn_button, self.dialect),
            (self.dialect, self.read_button),
            (self.read_button, self.cancel_button),
            (self.cancel_button, self.gaps),
            (self.gaps, self.accept_gaps),
        ):
            QWidget.setTabOrder(w, nxt)

    def set_dialects(self, names: list[str], remembered: str | None = None) -> None:
        self.dialect.clear()
        for name in names:
            self.dialect.addItem(name, name)
        i = self.dialect.findData(remembered) if remembered else -1
        self.dialect.setCurrentIndex(max(i, 0))

    def show_found(self, folder: str, journals: list[str], fsn_dir: str | None) -> None:
        self.folder = folder
        self.folder_edit.setText(folder)
        self.files.blockSignals(True)
        self.files.clear()
        for path in journals:
            item = QListWidgetItem(os.path.relpath(path, folder))
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.files.addItem(item)
        self.files.blockSignals(False)
        self.fsn_edit.setText(fsn_dir or "")
        self.clear_gaps()

    def journals(self) -> list[str]:
        return [
            self.files.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.files.count())
            if self.files.item(i).checkState() == Qt.CheckState.Checked
        ]

    def fsn_dir(self) -> str | None:
        return self.fsn_edit.text().strip() or None

    def dialect_name(self) -> str:
        return self.dialect.currentData() or ""

    def show_gaps(self, gaps) -> None:
        self.gaps_label.setText(
            tr(
                "%1 journal line(s) match no rule of the layout %2. Check that the layout "
                "is the ATM's; if it is, tick the box to read the journals without those "
                "lines, or ask IT to add a rule for them."
            )
            .replace("%1", f"{len(gaps):,}")
            .replace("%2", self.dialect_name())
        )
        self.gaps.clear()
        for g in gaps[:GAPS_SHOWN]:
            self.gaps.addItem(gap_text(g, self.folder))
        if len(gaps) > GAPS_SHOWN:
            self.gaps.addItem(tr("… and %1 more").replace("%1", f"{len(gaps) - GAPS_SHOWN:,}"))
        self.accept_gaps.setChecked(False)
        self.gaps_box.show()

    def clear_gaps(self) -> None:
        self.gaps.clear()
        self.accept_gaps.setChecked(False)
        self.gaps_box.hide()
        self.changed.emit()

    def set_reading(self, on: bool) -> None:
        for w in (self.folder_button, self.fsn_button, self.files, self.dialect, self.accept_gaps):
            w.setEnabled(not on)
        self.cancel_button.setEnabled(on)
        self._sync()

    def _sync(self) -> None:
        self.read_button.setEnabled(
            not self.cancel_button.isEnabled() and bool(self.journals()) and bool(self.dialect_name())
        )
