"""The application: QApplication set-up (fonts, language), the main window, the event loop."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import QApplication

from custodian_app import __version__
from custodian_app.gui import i18n
from custodian_app.support.resources import resource

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


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


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


class StopSignals:
    """Ctrl-C (SIGINT) and SIGTERM end the event loop as closing the window does, so that
    whoever started the application cleans up after it (the demo removes its folder).

    Python runs a signal handler only when the main thread executes Python, and an idle Qt
    event loop executes none: the signal also writes a byte to a socket (``set_wakeup_fd``)
    that the event loop watches, and handling that runs Python."""

    def __init__(self, app) -> None:
        import signal
        import socket

        from PySide6.QtCore import QSocketNotifier

        self.app = app
        self.signum: int | None = None
        self._signal = signal
        self._r, self._w = socket.socketpair()
        for s in (self._r, self._w):
            s.setblocking(False)
        self._previous_fd = signal.set_wakeup_fd(self._w.fileno())
        self._notifier = QSocketNotifier(self._r.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)
        self._previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGINT, signal.SIGTERM)}

    def _drain(self, *_args) -> None:
        try:
            self._r.recv(64)
        except OSError:
            pass

    def _stop(self, signum, _frame) -> None:
        log.info("signal %d: closing the application", signum)
        self.signum = signum
        self.app.quit()

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            self._signal.signal(sig, handler)
        self._signal.set_wakeup_fd(self._previous_fd)
        self._notifier.setEnabled(False)
        self._r.close()
        self._w.close()


def run(ctx, *, quit_after_show: bool = False, resume: bool = True, on_shown=None) -> int:
    """Show the main window and run the event loop until it closes, or a Ctrl-C or SIGTERM
    ends it (then 128 + the signal's number). ``on_shown()``: once the window is up."""
    from custodian_app.gui.main_window import MainWindow

    app = QApplication.instance()
    window = MainWindow(ctx)
    window.show()
    if resume:
        QTimer.singleShot(0, window.offer_resumption)
    if quit_after_show:
        # CI smoke tests: the window showed and the first events ran; leave cleanly
        QTimer.singleShot(300, window.close)
    stop = StopSignals(app)
    if on_shown is not None:
        QTimer.singleShot(0, on_shown)
    try:
        code = app.exec()
        return code if stop.signum is None else 128 + stop.signum
    finally:
        stop.restore()
        ctx.shutdown()
