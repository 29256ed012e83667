"""A stored report shown again (history → reprint)."""

from __future__ import annotations

from PySide6.QtCore import QT_TR_NOOP, QCoreApplication, Qt
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from custodian_app.gui import printing
from custodian_app.gui.models import counted


def tr(text: str) -> str:
    return QCoreApplication.translate("", text)


class ReportViewer(QDialog):
    def __init__(self, path: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("reportViewer")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setWindowTitle(tr("Clearing report"))
        self.resize(760, 820)
        layout = QVBoxLayout(self)
        self.document = QPdfDocument(self)
        self.document.load(path)
        self.view = QPdfView(self, objectName="reprintView")
        self.view.setDocument(self.document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        layout.addWidget(self.view, 1)
        row = QHBoxLayout()
        self.status = QLabel()
        row.addWidget(self.status, 1)
        self.print_button = QPushButton(tr("&Print…"), objectName="reprintPrintButton")
        self.print_button.clicked.connect(self.print_report)
        close = QPushButton(tr("&Close"))
        close.clicked.connect(self.close)
        row.addWidget(self.print_button)
        row.addWidget(close)
        layout.addLayout(row)

    def print_report(self) -> None:
        printing.ask_print(
            self,
            self.document,
            lambda pages: (
                pages
                and self.status.setText(
                    counted(
                        pages,
                        QT_TR_NOOP("Sent 1 page to the printer."),
                        QT_TR_NOOP("Sent %1 pages to the printer."),
                    )
                )
            ),
        )

    def closeEvent(self, event) -> None:  # noqa: N802
        self.document.close()
        super().closeEvent(event)
