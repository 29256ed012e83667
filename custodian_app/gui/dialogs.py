"""Every modal question the application asks goes through here, as ``show()`` + a callback
(house style: qutebrowser's msgbox, never a nested ``exec()`` in application logic). Tests
replace these functions (monkeypatch ``custodian_app.gui.dialogs.ask`` …) to answer at once.

Callers must call them as ``dialogs.ask(...)`` (module attribute), so a replacement takes effect.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QFileDialog, QInputDialog, QLineEdit, QMessageBox, QWidget

_BUTTONS = {
    "ok": QMessageBox.StandardButton.Ok,
    "cancel": QMessageBox.StandardButton.Cancel,
    "yes": QMessageBox.StandardButton.Yes,
    "no": QMessageBox.StandardButton.No,
    "retry": QMessageBox.StandardButton.Retry,
}
_ICONS = {
    "info": QMessageBox.Icon.Information,
    "question": QMessageBox.Icon.Question,
    "warning": QMessageBox.Icon.Warning,
    "error": QMessageBox.Icon.Critical,
}


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


def ask(
    parent: QWidget | None,
    title: str,
    text: str,
    *,
    kind: str = "question",
    buttons: tuple[str, ...] = ("ok",),
    default: str | None = None,
    callback: Callable[[str], None] | None = None,
    details: str | None = None,
) -> QMessageBox:
    """Show a window-modal message box; ``callback`` gets the key of the button pressed
    ("ok", "yes", "no", "cancel", "retry"). Escape counts as "cancel" or the last button."""
    box = QMessageBox(_ICONS[kind], title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("askBox")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    keys = {}
    for key in buttons:
        keys[box.addButton(_BUTTONS[key])] = key
    if default:
        box.setDefaultButton(_BUTTONS[default])
    if details:
        box.setDetailedText(details)

    def finished(_result: int) -> None:
        clicked = box.clickedButton()
        key = keys.get(clicked) if clicked is not None else None
        if key is None:
            key = "cancel" if "cancel" in buttons else buttons[-1]
        if callback:
            callback(key)

    box.finished.connect(finished)
    box.open()
    return box


def ask_text(
    parent: QWidget | None,
    title: str,
    label: str,
    callback: Callable[[str | None], None],
    *,
    password: bool = False,
) -> QInputDialog:
    """Ask for one line of text (a reason); ``callback`` gets it, or None when cancelled."""
    dlg = QInputDialog(parent)
    dlg.setObjectName("askTextBox")
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.setWindowTitle(title)
    dlg.setLabelText(label)
    if password:
        dlg.setTextEchoMode(QLineEdit.EchoMode.Password)
    dlg.textValueSelected.connect(lambda text: callback(text))
    dlg.rejected.connect(lambda: callback(None))
    dlg.open()
    return dlg


def choose_open_file(
    parent: QWidget | None, title: str, filters: str, callback: Callable[[str], None]
) -> QFileDialog:
    dlg = QFileDialog(parent, title, "", filters)
    dlg.setObjectName("openFileDialog")
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
    dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptOpen)
    dlg.fileSelected.connect(callback)
    dlg.open()
    return dlg


def choose_save_file(
    parent: QWidget | None, title: str, filters: str, suggested: str, callback: Callable[[str], None]
) -> QFileDialog:
    dlg = QFileDialog(parent, title, "", filters)
    dlg.setObjectName("saveFileDialog")
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dlg.selectFile(suggested)
    dlg.fileSelected.connect(callback)
    dlg.open()
    return dlg
