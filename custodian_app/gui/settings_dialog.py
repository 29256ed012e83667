"""Settings: serial defaults, backend address and token, database, bank and branch, language.
Values IT locked in the system settings file are shown but cannot be edited."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QT_TR_NOOP, QCoreApplication
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
)

from custodian_app.gui import i18n
from custodian_app.gui.wizard.connect_page import SPEEDS
from custodian_app.gui.workers import Job, describe_error


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


FIELDS = (  # (settings attribute, label, secret)
    ("bank_name", QT_TR_NOOP("Bank"), False),
    ("branch_name", QT_TR_NOOP("Branch"), False),
    ("serial_port", QT_TR_NOOP("Default serial port"), False),
    ("backend_url", QT_TR_NOOP("Backend address (https://…)"), False),
    ("backend_token", QT_TR_NOOP("Backend access token"), True),
    ("database_url", QT_TR_NOOP("Database URL (empty: the local database)"), False),
)


class SettingsDialog(QDialog):
    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setObjectName("settingsDialog")
        self.setWindowTitle(tr("Settings"))
        self.setMinimumWidth(560)
        layout = QVBoxLayout(self)
        form = QFormLayout()
        s = ctx.settings
        locked = getattr(s, "is_locked", lambda key: False)
        self.edits: dict[str, QLineEdit] = {}
        for attr, label, secret in FIELDS:
            edit = QLineEdit(str(getattr(s, attr, "") or ""), objectName=f"setting_{attr}")
            if secret:
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            if locked(attr):
                edit.setEnabled(False)
                edit.setToolTip(tr("Set by IT; cannot be changed here."))
            form.addRow(tr(label), edit)
            self.edits[attr] = edit
        self.speed = QComboBox(objectName="setting_serial_baud")
        for sp in SPEEDS:
            self.speed.addItem(f"{sp} bit/s", sp)
        self.speed.setCurrentIndex(max(0, self.speed.findData(s.serial_baud)))
        form.addRow(tr("Line speed"), self.speed)
        self.language = QComboBox(objectName="setting_language")
        for code, name in i18n.LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(max(0, self.language.findData(s.language)))
        form.addRow(tr("Language"), self.language)
        layout.addLayout(form)
        self.status = QLabel(objectName="settingsStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def values(self) -> dict:
        out = {attr: e.text().strip() for attr, e in self.edits.items() if e.isEnabled()}
        out["serial_baud"] = self.speed.currentData()
        out["language"] = self.language.currentData()
        return out

    def save(self) -> None:
        values = self.values()
        ctx = self.ctx
        new = dataclasses.replace(ctx.settings, **values)

        def op(_c):
            from custodian_app.settings.config import save_settings

            save_settings(new)
            return new

        def saved(settings) -> None:
            language_changed = settings.language != ctx.settings.language
            db_changed = settings.database_url != ctx.settings.database_url
            ctx.settings = settings
            if db_changed:
                ctx.reopen_store()
            if language_changed and self.parent() is not None and hasattr(self.parent(), "set_language"):
                self.parent().set_language(settings.language)
            self.accept()

        Job(self, op, saved).failure(lambda e: self.status.setText(describe_error(e))).run(
            ctx.runners.background
        )
