"""Background work for the GUI: nothing that waits on a port, the network, the database or a
PDF renderer runs on the GUI thread.

Three runners (house style: Anki's ``QueryOp``, Electrum's hardware-device thread):
- ``SerialIoThread``: ONE dedicated QThread for every ATM link call. The link client is
  blocking and single-threaded, so all its calls queue up on this thread.
- ``database``: a single-worker executor, so one thread owns the store's session.
- ``background``: a small pool for the backend, reports and files.

A job is ``Job(parent, op, success).failure(cb).with_progress(cb).run(runner)``. ``op`` takes a
``JobContext`` (``.cancel`` event, ``.progress(value)``) and returns a value; ``success`` and
``failure`` are called on the GUI thread through a queued signal. A job whose parent widget has
been destroyed delivers nothing.
"""

from __future__ import annotations

import gc
import logging
import queue
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThread, Signal, Slot

from custodian_app.domain.errors import CustodianError
from custodian_app.gui import error_words

log = logging.getLogger(__name__)

# Progress is coalesced: a reader reporting every record must not flood the event loop.
PROGRESS_INTERVAL_S = 0.05

# Jobs whose result has not been delivered yet; keeps their bridge alive until it is.
_ACTIVE: set[Job] = set()


class _QuietGc:
    """The cyclic garbage collector must not stall the window. A ledger of a cycle is a
    million small objects; a full collection that walks them, triggered in whichever thread
    happens to allocate (the serial thread while decoding), holds the GIL for hundreds of
    milliseconds and freezes the GUI. So while a heavy job runs the collector is off, and when
    it ends the surviving objects are moved out of the collector's way (``gc.freeze``): the
    ledgers are acyclic data that reference counting frees anyway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0

    def __enter__(self) -> None:
        with self._lock:
            self._depth += 1
            gc.disable()

    def __exit__(self, *exc) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                gc.freeze()
                gc.enable()


quiet_gc = _QuietGc()


class JobCancelled(CustodianError):
    """The user cancelled the job."""


class JobContext:
    """What a background op gets: a cancel flag and a way to report progress."""

    def __init__(self, job: Job) -> None:
        self._job = job
        self.cancel = job.cancel_event
        self._last = 0.0

    @property
    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def check(self) -> None:
        if self.cancel.is_set():
            raise JobCancelled("cancelled")

    def progress(self, value: Any, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= PROGRESS_INTERVAL_S:
            self._last = now
            self._job._emit("progressed", value)

    def partial(self, value: Any) -> None:
        """A part of the result that is usable before the whole (the ATM ledger's core):
        delivered on the GUI thread, in order with progress and before the result."""
        self._job._emit("partial", value)


class _Bridge(QObject):
    """Lives on the GUI thread; worker threads emit, the slots run on the GUI thread."""

    done = Signal(object)
    failed = Signal(object)
    progressed = Signal(object)
    partial = Signal(object)


class Job:
    def __init__(
        self,
        parent: QObject | None,
        op: Callable[[JobContext], Any],
        success: Callable[[Any], None] | None = None,
    ) -> None:
        self.parent = parent
        self.op = op
        self._success = success
        self._failure: Callable[[BaseException], None] | None = None
        self._progress: Callable[[Any], None] | None = None
        self._partial: Callable[[Any], None] | None = None
        self.cancel_event = threading.Event()
        self.finished = False
        self._heavy = False
        self.runner: Runner | None = None
        self._bridge = _Bridge()
        self._bridge.done.connect(self._on_done)
        self._bridge.failed.connect(self._on_failed)
        self._bridge.progressed.connect(self._on_progress)
        self._bridge.partial.connect(self._on_partial)

    def failure(self, cb: Callable[[BaseException], None]) -> Job:
        self._failure = cb
        return self

    def with_progress(self, cb: Callable[[Any], None]) -> Job:
        self._progress = cb
        return self

    def with_partial(self, cb: Callable[[Any], None]) -> Job:
        self._partial = cb
        return self

    def heavy(self) -> Job:
        """A job that builds or walks a whole ledger: runs with the collector held off."""
        self._heavy = True
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self, runner: Runner) -> Job:
        if getattr(runner, "_closed", False):
            self.finished = True  # the application has stopped: nothing will deliver it
            return self
        self.runner = runner
        _ACTIVE.add(self)
        runner.submit(self._work)
        return self

    # -- worker side ----------------------------------------------------------------------

    def _work(self) -> None:
        ctx = JobContext(self)
        try:
            if self._heavy:
                with quiet_gc:
                    value = self.op(ctx)
            else:
                value = self.op(ctx)
        except BaseException as exc:  # noqa: BLE001 - every failure goes back to the GUI
            if not isinstance(exc, CustodianError):
                log.exception("background job failed")
            self._emit("failed", exc)
        else:
            self._emit("done", value)

    def _emit(self, name: str, value: Any) -> None:
        try:
            getattr(self._bridge, name).emit(value)
        except RuntimeError:  # the application is shutting down
            pass

    # -- GUI side -------------------------------------------------------------------------

    def _alive(self) -> bool:
        return self.parent is None or shiboken6.isValid(self.parent)

    @Slot(object)
    def _on_progress(self, value: Any) -> None:
        if not self.finished and self._progress and self._alive():
            self._progress(value)

    @Slot(object)
    def _on_partial(self, value: Any) -> None:
        if not self.finished and self._partial and self._alive():
            self._partial(value)

    @Slot(object)
    def _on_done(self, value: Any) -> None:
        self._finish()
        if self._alive() and self._success:
            self._success(value)

    @Slot(object)
    def _on_failed(self, exc: BaseException) -> None:
        self._finish()
        if self._alive():
            if self._failure:
                self._failure(exc)
            else:
                log.error("background job failed without a handler: %s", exc)

    def _finish(self) -> None:
        self.finished = True
        _ACTIVE.discard(self)


class Runner:
    def submit(self, fn: Callable[[], None]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def shutdown(self) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class PoolRunner(Runner):
    """A thread pool; ``workers=1`` gives one thread that owns a resource (the database)."""

    def __init__(self, name: str, workers: int = 1) -> None:
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> None:
        if self._closed:  # a window closing after the application stopped: nothing to do it
            log.debug("work submitted after shutdown is dropped")
            return
        self._pool.submit(fn)

    def shutdown(self) -> None:
        self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)


# How long the serial thread waits for a job before it listens to the line on its own.
IDLE_POLL_S = 0.2


class SerialIoThread(QThread, Runner):
    """The one thread that talks to the ATM. Jobs run one after another, in order. Between
    jobs it calls ``idle`` (if set) every IDLE_POLL_S: the ATM's unsolicited events (the safe
    door …) arrive only while someone reads the line, and only this thread may."""

    def __init__(self, parent: QObject | None = None) -> None:
        QThread.__init__(self, parent)
        self.setObjectName("serial-io")
        self._queue: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self.thread_ident: int | None = None
        self.idle: Callable[[], None] | None = None
        self._closed = False

    def submit(self, fn: Callable[[], None]) -> None:
        if self._closed:  # after shutdown the thread is not started again
            log.debug("serial work submitted after shutdown is dropped")
            return
        if not self.isRunning():
            self.start()
        self._queue.put(fn)

    def run(self) -> None:
        self.thread_ident = threading.get_ident()
        while True:
            try:
                fn = self._queue.get(timeout=IDLE_POLL_S)
            except queue.Empty:
                if self.idle is not None:
                    try:
                        self.idle()
                    except Exception:  # noqa: BLE001 - a failed poll must not end the thread
                        log.exception("listening to the ATM between jobs failed")
                continue
            if fn is None:
                return
            fn()

    def shutdown(self) -> None:
        self._closed = True
        if self.isRunning():
            self._queue.put(None)
            self.wait()


# While a worker runs Python (storing a ledger, building a report), the GUI thread needs the
# interpreter lock at every call Qt makes into Python, and a paint makes hundreds: with
# Python's default switch interval a paint waits behind a worker for far longer than the
# window may freeze. A short interval costs the workers a few percent (docs/performance.md).
GUI_SWITCH_INTERVAL_S = 0.0002


# Holds not yet released: an application stopping releases them (its runners wait for their jobs).
_HOLDS: set[Hold] = set()


class Hold:
    """Keeps a runner's later jobs waiting until ``release()``: the window is about to do a
    burst of work that calls into Python thousands of times (a table of a thousand mismatches
    laid out and painted), and each call waits for the interpreter lock while a worker runs
    Python (storing a ledger's 180,000 banknote records took the reconcile page over its
    100 ms budget). Jobs already running go on; ``limit_s`` bounds the wait should the release
    never come (the page was closed with its job under way)."""

    def __init__(self, runner: Runner, *, limit_s: float = 30.0) -> None:
        self._released = threading.Event()
        _HOLDS.add(self)
        runner.submit(lambda: self._released.wait(limit_s))

    def release(self) -> None:
        self._released.set()
        _HOLDS.discard(self)

    @property
    def released(self) -> bool:
        return self._released.is_set()


class Runners:
    """The application's runners, shut down together at exit."""

    def __init__(self) -> None:
        if sys.getswitchinterval() > GUI_SWITCH_INTERVAL_S:
            sys.setswitchinterval(GUI_SWITCH_INTERVAL_S)
        self.serial = SerialIoThread()
        self.database = PoolRunner("database", 1)
        self.background = PoolRunner("background", 2)

    def shutdown(self) -> None:
        for hold in list(_HOLDS):
            hold.release()
        self.serial.shutdown()
        self.database.shutdown()
        self.background.shutdown()
        # jobs queued but cancelled by the shutdown will never deliver: not active any more
        mine = (self.serial, self.database, self.background)
        for job in list(_ACTIVE):
            if job.runner in mine and not job.finished:
                job.finished = True
                _ACTIVE.discard(job)


def describe_error(exc: BaseException, **context) -> str:
    """Words for the user, in the interface's language (``gui.error_words``): what happened and
    what to do next, never the layer's or a library's raw text (that goes to the log).
    ``context``: what the caller knows that the error may not carry (``port=``, ``url=``)."""
    if isinstance(exc, CustodianError):
        log.info("shown to the user in their words: %s: %s", type(exc).__name__, exc)
        words = error_words.words_for(exc, **context)
        if words is not None:
            return words
    return error_words.unexpected(exc)
