"""``ScriptBot``: the few ``qtbot`` calls ``WizardDriver`` makes, for scripts that drive the
wizard outside pytest (benchmarks/bench_gui.py, scripts/screenshots). Clicks and keys go
through ``QTest`` like pytest-qt's; waits process events until a condition holds."""

from __future__ import annotations

import contextlib
import time

from PySide6.QtCore import QEventLoop, Qt, QTimer
from PySide6.QtTest import QTest
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

    def mouseClick(self, widget, button=Qt.MouseButton.LeftButton, modifier=Qt.KeyboardModifier.NoModifier,
                   pos=None) -> None:  # noqa: N802
        if pos is None:
            QTest.mouseClick(widget, button, modifier)
        else:
            QTest.mouseClick(widget, button, modifier, pos)

    def keyClick(self, widget, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:  # noqa: N802
        QTest.keyClick(widget, key, modifier)

    def keyClicks(self, widget, text: str) -> None:  # noqa: N802
        """One key at a time with the event loop running between, as a person types (a
        benchmark must not count a whole name typed in one go as the window's stall)."""
        for ch in text:
            QTest.keyClicks(widget, ch)
            loop = QEventLoop()
            QTimer.singleShot(1, loop.quit)
            loop.exec()

    def close_all(self) -> None:
        for w in self.widgets:
            w.close()
        QApplication.processEvents()
