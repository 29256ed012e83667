"""What the windows share: settings, the runners, the store, the ATM link.

The link client lives on the serial I/O thread only: every method here that touches it is an
``op`` for ``runners.serial``. The store is touched only from ``runners.database``.
"""

from __future__ import annotations

import dataclasses
import logging

from PySide6.QtCore import QObject, Signal

from custodian_app.gui.workers import Job, JobContext, Runners

log = logging.getLogger(__name__)


class LinkEvents(QObject):
    """Carries the ATM's unsolicited events from the serial thread to the GUI thread."""

    received = Signal(object)  # link.client.AtmEvent


# each idle poll listens this long (the serial thread is otherwise free for jobs)
EVENT_POLL_S = 0.05


class AppContext:
    def __init__(self, settings, *, clearing=None, banner: str = "", save_settings: bool = True) -> None:
        """``settings``: a ``custodian_app.settings.config.Settings``. ``banner``: shown in the window
        (the demo's users). ``save_settings``: remember the port and language in the file."""
        from custodian_app import clearing as clearing_mod

        self.settings = settings
        self.banner = banner
        self._save = save_settings
        self.link_options: dict = {}  # AtmClient keyword options (timeouts); tests shorten them
        self.runners = Runners()
        self.link_events = LinkEvents()
        self.runners.serial.idle = self._poll_events
        self.clearing = clearing or clearing_mod
        self._store = None
        self.link = None  # AtmClient, touched only on the serial thread
        self._last_port: str | None = None
        self._last_baud: int | None = None

    @property
    def port(self) -> str:
        """The port the ATM was last connected on (or the settings'), for messages."""
        return self._last_port or self.settings.serial_port or ""

    @property
    def language(self) -> str:
        return self.settings.language or "zh_CN"

    def _update_settings(self, **changes) -> None:
        """Change settings in memory now; write the file off the GUI thread."""
        self.settings = dataclasses.replace(self.settings, **changes)
        if not self._save:
            return
        new = self.settings

        def op(_ctx):
            from custodian_app.settings.config import save_settings

            save_settings(new)

        Job(None, op).failure(lambda e: log.warning("settings not saved: %s", e)).run(self.runners.background)

    def set_language(self, code: str) -> None:
        if code != self.settings.language:
            self._update_settings(language=code)

    def remember_port(self, port: str, baud: int) -> None:
        if (port, baud) != (self.settings.serial_port, self.settings.serial_baud):
            self._update_settings(serial_port=port, serial_baud=baud)

    # -- the store, owned by the database thread ------------------------------------------

    def reopen_store(self) -> None:
        """The database URL changed: the next database job opens the new one."""

        def op():
            if self._store is not None:
                store, self._store = self._store, None
                self.clearing.close_store(store)

        self.runners.database.submit(op)

    def store(self):
        """Only call from an op running on ``runners.database``."""
        if self._store is None:
            self._store = self.clearing.open_store(self.settings.database_url or None)
        return self._store

    def db(self, parent, op, success=None) -> Job:
        """Run ``op(store)`` on the database thread."""
        return Job(parent, lambda ctx: op(self.store()), success)

    def run_db(self, parent, op, success=None, failure=None, *, heavy: bool = False) -> Job:
        job = self.db(parent, op, success)
        if heavy:
            job.heavy()
        if failure:
            job.failure(failure)
        return job.run(self.runners.database)

    # -- the ATM link, owned by the serial thread -----------------------------------------

    def op_connect(self, port: str, baud: int):
        def op(ctx: JobContext):
            self._close_link()
            from custodian_app.link.client import AtmClient

            client = AtmClient(port, baud=baud, on_event=self._event_seen, **self.link_options)
            try:
                status = client.connect()
            except BaseException:
                client.close()
                raise
            self.link = client
            self._last_port, self._last_baud = port, baud
            return status

        return op

    def _event_seen(self, event) -> None:
        """On the serial thread, from inside the client: hand the event to the GUI thread."""
        try:
            self.link_events.received.emit(event)
        except RuntimeError:  # the application is shutting down
            pass

    def _poll_events(self) -> None:
        """Between jobs, on the serial thread: let the ATM's events in (and keep the session
        alive). A line that is gone is closed; the next step connects again."""
        if self.link is None:
            return
        try:
            self.link.poll_events(EVENT_POLL_S)
        except Exception as exc:  # noqa: BLE001
            log.warning("the ATM link was lost while idle: %s", exc)
            self._close_link()

    def _ensure_link(self):
        """A resumed session, or a read after the cable was pulled, connects again."""
        if self.link is None:
            port = self._last_port or self.settings.serial_port
            if not port:
                from custodian_app.clearing import ClearingError

                raise ClearingError("not connected to the ATM: go back and connect, or set the port")
            self.op_connect(port, self._last_baud or self.settings.serial_baud)(None)
        return self.link

    def op_read_ledger(self, on_core=None, *, core_as_partial: bool = False):
        """Read the ledger. ``core_as_partial``: the ledger's core (notes=None) goes to the
        job's ``with_partial`` callback on the GUI thread as soon as it is in."""

        def op(ctx: JobContext):
            link = self._ensure_link()
            callback = ctx.partial if core_as_partial else on_core
            try:
                return link.read_ledger(
                    progress=lambda *a: ctx.progress(a),
                    cancel=ctx.cancel,
                    **({"on_core": callback} if callback else {}),
                )
            except BaseException:
                self._close_link()  # a broken line is reopened on the next attempt
                raise

        return op

    def op_exchange(self, loaded: dict[str, int]):
        def op(ctx: JobContext):
            link = self._ensure_link()
            link.start_exchange()
            return link.end_exchange(loaded)

        return op

    def _close_link(self) -> None:
        if self.link is not None:
            try:
                self.link.close()
            finally:
                self.link = None

    def close_link(self, parent=None) -> None:
        Job(parent, lambda ctx: self._close_link()).run(self.runners.serial)

    # -- shutdown -------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Close the link and the store on their own threads, then stop the threads."""
        if self.link is not None:
            self.runners.serial.submit(self._close_link)
        if self._store is not None:
            store, self._store = self._store, None
            self.runners.database.submit(lambda: self.clearing.close_store(store))
        self.runners.shutdown()
