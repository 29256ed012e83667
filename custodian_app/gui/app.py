"""The application: QApplication set-up (fonts, language), the main window, the event loop."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QtMsgType, QTimer, qInstallMessageHandler
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from custodian_app import __version__
from custodian_app.gui import i18n
from custodian_app.resources_path import resource

log = logging.getLogger(__name__)

CJK_FONT_FILES = ("wqy-microhei.ttc", "wqy-microhei.ttf")


def register_fonts() -> str | None:
    """Register the shipped CJK font so the window looks the same on every PC; its family."""
    for name in CJK_FONT_FILES:
        path = resource("fonts", name)
        if path.is_file():
            fid = QFontDatabase.addApplicationFont(str(path))
            if fid >= 0:
                families = QFontDatabase.applicationFontFamilies(fid)
                if families:
                    return families[0]
    log.warning("the CJK font is not shipped in resources/fonts; Chinese may not render")
    return None


_QT_LEVELS = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}


def _qt_message(kind, context, message) -> None:
    """Qt's own warnings go to the application's log, where support finds them."""
    logging.getLogger("qt").log(_QT_LEVELS.get(kind, logging.WARNING), "%s", message)


def make_application(argv: list[str] | None = None, *, language: str = "zh_CN") -> QApplication:
    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("custodian-app")
    app.setApplicationDisplayName("ATM 清机对账 · Custodian")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("custodian-app")
    qInstallMessageHandler(_qt_message)
    family = register_fonts()
    if family:
        font = QFont(family)
        font.setPointSize(10)
        app.setFont(font)
    i18n.install(language)
    return app


def run(ctx, *, quit_after_show: bool = False, resume: bool = True) -> int:
    """Show the main window and run the event loop until it closes."""
    from custodian_app.gui.main_window import MainWindow

    app = QApplication.instance()
    window = MainWindow(ctx)
    window.show()
    if resume:
        QTimer.singleShot(0, window.offer_resumption)
    if quit_after_show:
        # CI smoke tests: the window showed and the first events ran; leave cleanly
        QTimer.singleShot(300, window.close)
    try:
        return app.exec()
    finally:
        ctx.shutdown()
