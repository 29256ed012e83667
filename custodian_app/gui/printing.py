"""Printing a PDF report through the system print dialog (show() + callback, no exec())."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPrintSupport import QPrintDialog, QPrinter
from PySide6.QtWidgets import QWidget


def print_pdf(document: QPdfDocument, printer: QPrinter) -> int:
    """Render every page of ``document`` onto ``printer``; returns the pages printed."""
    painter = QPainter()
    if not painter.begin(printer):
        raise OSError("the printer could not be opened")
    try:
        pages = document.pageCount()
        for i in range(pages):
            if i:
                printer.newPage()
            target = painter.viewport()
            size_pt = document.pagePointSize(i)
            scale = min(target.width() / size_pt.width(), target.height() / size_pt.height())
            image = document.render(i, QSize(int(size_pt.width() * scale), int(size_pt.height() * scale)))
            painter.drawImage(0, 0, image)
        return pages
    finally:
        painter.end()


def ask_print(
    parent: QWidget, document: QPdfDocument, callback: Callable[[int | None], None]
) -> QPrintDialog:
    """Open the system print dialog; on OK print the document; ``callback(pages or None)``."""
    printer = QPrinter(QPrinter.PrinterMode.HighResolution)
    dlg = QPrintDialog(printer, parent)
    dlg.setObjectName("printDialog")
    dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def accepted() -> None:
        callback(print_pdf(document, printer))

    dlg.accepted.connect(accepted)
    dlg.rejected.connect(lambda: callback(None))
    dlg.open()
    dlg._printer = printer  # keep it alive as long as the dialog
    return dlg
