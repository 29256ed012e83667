"""``ScriptBot``: the few ``qtbot`` calls ``WizardDriver`` makes, for scripts that drive the
wizard outside pytest (benchmarks/bench_gui.py, scripts/screenshots). Clicks and keys are
sent to the widget as mouse and key events (not QtTest, which the packaged application
leaves out); waits process events until a condition holds."""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import QEvent, QEventLoop, QPointF, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QApplication


class WaitTimeout(AssertionError):
    pass


class ScriptBot:
    def __init__(self) -> None:
        self.widgets: list = []

    # -- waiting --------------------------------------------------------------------------

    def waitUntil(self, condition, timeout: int = 5000) -> None:  # noqa: N802 - qtbot's name
        deadline = time.monotonic() + timeout / 1000
        while True:
            if condition():
                return
            if time.monotonic() > deadline:
                raise WaitTimeout(f"waited {timeout} ms for {condition}")
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            loop = QEventLoop()
            QTimer.singleShot(5, loop.quit)  # let the loop run (timers, queued signals) briefly
            loop.exec()

    def waitExposed(self, widget, timeout: int = 5000) -> None:  # noqa: N802
        self.waitUntil(widget.isVisible, timeout)

    @contextlib.contextmanager
    def waitSignal(self, signal, timeout: int = 5000):  # noqa: N802
        class Blocker:
            args = None

        blocker = Blocker()

        def got(*args):
            blocker.args = list(args)

        signal.connect(got)
        try:
            yield blocker
            self.waitUntil(lambda: blocker.args is not None, timeout)
        finally:
            signal.disconnect(got)

    # -- widgets and input ----------------------------------------------------------------

    def addWidget(self, widget) -> None:  # noqa: N802
        self.widgets.append(widget)

    def mouseClick(
        self, widget, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier, pos=None
    ) -> None:  # noqa: N802
        at = QPointF(widget.rect().center() if pos is None else pos)
        glob = QPointF(widget.mapToGlobal(at.toPoint()))
        for kind, buttons in (
            (QEvent.Type.MouseButtonPress, button),
            (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton),
        ):
            QApplication.sendEvent(widget, QMouseEvent(kind, at, glob, button, buttons, modifier))
        self._breathe()

    def keyClick(self, widget, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: N802
        self._key(widget, int(key), modifier, "")

    def keyClicks(self, widget, text: str) -> None:  # noqa: N802
        """One key at a time with the event loop running between, as a person types (a
        benchmark must not count a whole name typed in one go as the window's stall)."""
        for ch in text:
            key = ord(ch.upper()) if ch.isascii() and ch.isalnum() else 0
            self._key(widget, key, Qt.KeyboardModifier.NoModifier, ch)
            self._breathe()

    def _key(self, widget, key: int, modifier, text: str) -> None:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, key, modifier, text))

    @staticmethod
    def _breathe() -> None:
        loop = QEventLoop()
        QTimer.singleShot(1, loop.quit)
        loop.exec()

    def close_all(self) -> None:
        for w in self.widgets:
            w.close()
        QApplication.processEvents()
