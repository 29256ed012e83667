"""The ATM PC's own records as a source: counters from XFS4IoT, the ledger from the electronic
journal, the banknote trail from the FSN files (``custodian-app atm-agent``, docs/agent.md).

Threads: the serial thread (the server) never waits here. Two worker threads do the waiting:
``agent-xfs4iot`` owns the XFS4IoT client and its event loop (``XfsStorageClient`` runs its
asyncio loop on the thread that calls it, so every XFS4IoT call is made on that one thread),
and ``agent-files`` reads the journal and the FSN files. Each question is a future; when it
completes the worker wakes the serial thread. A hung XFS4IoT service therefore holds up
neither the line nor the journal. What the workers learn (the last good journal read, the
units, each source's state) is kept under one lock.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from custodian_app import __version__
from custodian_app.agent import cycles
from custodian_app.agent.source import (
    ERROR,
    FSN,
    JOURNAL,
    LOST,
    OFF,
    OK,
    XFS4IOT,
    AtmSource,
    CycleInfo,
    ExchangeRefused,
    SourceState,
    SourceUnavailable,
    failed,
)
from custodian_app.domain import formats
from custodian_app.domain.formats import AtmLedger, Totals, TypeTotals, Unit

log = logging.getLogger(__name__)

_OFF_WORDS = {
    XFS4IOT: (
        "No XFS4IoT service is configured: the counters come from the journal's last counter "
        "print, and the new cycle cannot be loaded from here (start the agent with --xfs4iot).",
        "未配置 XFS4IoT 服务：钞箱计数取自电子日志最后一次打印的计数，且无法由此加载新周期"
        "（启动代理时请加 --xfs4iot）。",
    ),
    JOURNAL: (
        "No journal folder is configured: the agent cannot serve the ledger (start it with "
        "--journal DIR --dialect NAME).",
        "未配置电子日志目录：代理无法提供流水（启动时请加 --journal 目录 --dialect 格式）。",
    ),
    FSN: (
        "No FSN folder is configured: the ledger is served without the banknote serials "
        "(start the agent with --fsn DIR).",
        "未配置冠字号（FSN）目录：流水不含冠字号记录（启动代理时请加 --fsn 目录）。",
    ),
}


def _files(folder: str) -> list[str]:
    """The regular files of a folder, by name (raises OSError when it cannot be listed)."""
    names = sorted(n for n in os.listdir(folder) if not n.startswith("."))
    return [p for p in (os.path.join(folder, n) for n in names) if os.path.isfile(p)]


def _signature(paths: list[str]) -> tuple:
    out = []
    for p in paths:
        st = os.stat(p)
        out.append((p, st.st_size, st.st_mtime_ns))
    return tuple(out)


class AtmPcSource(AtmSource):
    agent = f"custodian-atm-agent {__version__}"

    def __init__(
        self,
        *,
        xfs4iot_url: str | None = None,
        ca_bundle: str | None = None,
        journal_dir: str | None = None,
        dialect: str | None = None,
        fsn_dir: str | None = None,
        terminal_id: str | None = None,
        success_codes=frozenset({"00"}),
        accept_gaps: bool = False,
        check_interval: float = 5.0,
        xfs_timeout: float = 10.0,
        xfs_style: str | None = None,
    ) -> None:
        from custodian_app.journal import load_dialect

        if journal_dir and not dialect:
            raise ValueError("a journal folder needs its dialect (--dialect)")
        self.xfs4iot_url = xfs4iot_url
        self.ca_bundle = ca_bundle
        self.journal_dir = journal_dir
        self.dialect = load_dialect(dialect) if dialect else None  # JournalError: say so at start
        self.fsn_dir = fsn_dir
        self.terminal_id = terminal_id
        self.success_codes = frozenset(success_codes)
        self.accept_gaps = accept_gaps
        self.check_interval = check_interval
        self.xfs_timeout = xfs_timeout
        self.xfs_style = xfs_style
        self.currency = self.dialect.currency if self.dialect else "CNY"
        self._wake: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        self._states = {
            XFS4IOT: self._off(XFS4IOT) if not xfs4iot_url else SourceState(XFS4IOT, OK),
            JOURNAL: self._off(JOURNAL) if not journal_dir else SourceState(JOURNAL, OK),
            FSN: self._off(FSN) if not fsn_dir else SourceState(FSN, OK),
        }
        self._xfs_pool = ThreadPoolExecutor(1, "agent-xfs4iot") if xfs4iot_url else None
        self._file_pool = ThreadPoolExecutor(1, "agent-files")
        self._client = None  # the XfsStorageClient, made and used on agent-xfs4iot only
        self._journal: AtmLedger | None = None  # the last good read of the journal (+ FSN)
        self._signature: tuple | None = None
        self._units: list[Unit] | None = None  # the last units XFS4IoT gave
        self._view: AtmLedger | None = None  # the cycle as served
        self._ended: list[str] = []  # cycles ended by an exchange through this agent
        self._own_cycle: AtmLedger | None = None  # opened by our exchange; the journal has not begun it
        self._state = "open"
        self._closed_at: str | None = None  # our CloseCycle's time, for a journal without one
        self._started = datetime.now().astimezone().replace(microsecond=0).isoformat()
        self._xfs_job: Future | None = None
        self._file_job: Future | None = None
        self._last_check = -1e9
        self._closed = False

    @staticmethod
    def _off(name: str) -> SourceState:
        en, zh = _OFF_WORDS[name]
        return SourceState(name, OFF, en, zh)

    # ------------------------------------------------------------------ plumbing
    def attach(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def _submit(self, pool: ThreadPoolExecutor | None, fn, *args) -> Future:
        if pool is None or self._closed:
            return failed(
                SourceUnavailable(
                    XFS4IOT if pool is None else JOURNAL,
                    OFF,
                    "The ATM agent is stopping.",
                    "ATM 代理程序正在停止。",
                )
            )
        fut = pool.submit(fn, *args)
        fut.add_done_callback(lambda _f: self._wake())
        return fut

    def _set(self, name: str, state: str, english: str = "", chinese: str = "") -> SourceState:
        st = SourceState(name, state, english, chinese)
        with self._lock:
            before = self._states[name]
            self._states[name] = st
        if before.state != state:
            (log.info if state == OK else log.warning)("source %s: %s %s", name, state, english)
        return st

    def _unavailable(self, name: str) -> SourceUnavailable:
        with self._lock:
            st = self._states[name]
        return SourceUnavailable(name, st.state, st.english, st.chinese)

    # ------------------------------------------------------------------ what the status says
    def states(self) -> Mapping[str, SourceState]:
        with self._lock:
            return dict(self._states)

    def info(self) -> CycleInfo:
        with self._lock:
            view, state = self._view, self._state
        if view is None:
            return CycleInfo(
                self.terminal_id or "UNKNOWN", "UNKNOWN", self.currency, state, self._started, None, 0, 0
            )
        return CycleInfo(
            view.terminal_id,
            view.cycle_id,
            view.currency,
            state,
            view.opened_at,
            view.closed_at,
            len(view.transactions),
            len(view.notes or ()),
        )

    # ------------------------------------------------------------------ the journal and FSN
    def _read_journal(self) -> AtmLedger:
        """Read journal + FSN if they changed since the last read (on agent-files)."""
        from custodian_app.journal import JournalError, JournalGapsError, read_journals

        if not self.journal_dir:
            raise self._unavailable(JOURNAL)
        try:
            paths = _files(self.journal_dir)
            if not paths:
                raise FileNotFoundError(f"no journal file in {self.journal_dir}")
            sig = _signature(paths)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            self._set(
                JOURNAL,
                LOST,
                f"The ATM's journal folder {self.journal_dir} cannot be read ({detail}). Check that "
                "it exists and that the agent's account may read it; the ledger cannot be served "
                "until then.",
                f"无法读取 ATM 电子日志目录 {self.journal_dir}（{detail}）：请确认目录存在且代理程序"
                "的账户有读取权限；在此之前无法提供流水。",
            )
            raise self._unavailable(JOURNAL) from None
        fsn_dir, fsn_sig = None, ()
        if self.fsn_dir:
            try:
                fsn_paths = [p for p in _files(self.fsn_dir) if p.lower().endswith(".fsn")]
                fsn_sig = _signature(fsn_paths)
                fsn_dir = self.fsn_dir
            except OSError as exc:
                detail = exc.strerror or str(exc)
                self._set(
                    FSN,
                    LOST,
                    f"The FSN folder {self.fsn_dir} cannot be read ({detail}); the ledger is served "
                    "without the banknote serials. Check the folder and the agent's rights.",
                    f"无法读取冠字号（FSN）目录 {self.fsn_dir}（{detail}）：流水照常提供，但不含冠字号"
                    "记录；请检查该目录及代理程序的权限。",
                )
        with self._lock:
            cached = self._journal if self._signature == (sig, fsn_sig, fsn_dir) else None
        if cached is not None:
            self._set(JOURNAL, OK)
            if fsn_dir is not None:
                self._set(FSN, OK)
            return cached
        try:
            try:
                read = read_journals(
                    paths,
                    fsn_dir,
                    self.dialect,
                    accept_gaps=self.accept_gaps,
                    success_codes=self.success_codes,
                    terminal_id=self.terminal_id,
                )
            except JournalError as exc:
                if fsn_dir is None or not exc.where.startswith(fsn_dir):
                    raise
                self._set(
                    FSN,
                    ERROR,
                    f"An FSN file cannot be read ({exc}); the ledger is served without the "
                    "banknote serials. Ask the bank's IT to check the FSN files.",
                    f"冠字号（FSN）文件无法读取（{exc}）：流水照常提供，但不含冠字号记录；请科技部门"
                    "检查 FSN 文件。",
                )
                fsn_dir = None
                read = read_journals(
                    paths,
                    None,
                    self.dialect,
                    accept_gaps=self.accept_gaps,
                    success_codes=self.success_codes,
                    terminal_id=self.terminal_id,
                )
            ledger = formats.parse_atm_ledger(read.ledger, f"journal in {self.journal_dir}")
        except (JournalError, JournalGapsError, formats.FormatError) as exc:
            self._set(
                JOURNAL,
                ERROR,
                f"The ATM's journal cannot be read as dialect {self.dialect.name}: {exc}. Check the "
                "dialect (--dialect), or ask the bank's IT to add a rule for these lines.",
                f"无法按 {self.dialect.name} 格式读取 ATM 电子日志：{exc}。请检查日志格式（--dialect），"
                "或请科技部门为这些行补充规则。",
            )
            raise self._unavailable(JOURNAL) from None
        self._set(JOURNAL, OK)
        if fsn_dir is not None:
            self._set(FSN, OK)
        with self._lock:
            self._journal, self._signature = ledger, (sig, fsn_sig, fsn_dir)
        return ledger

    def _current(self) -> AtmLedger:
        """The cycle as served now (on agent-files): the journal's, or the one our exchange
        opened while the journal still shows the cycle it ended."""
        journal = self._read_journal()
        with self._lock:
            if journal.cycle_id in self._ended and self._own_cycle is not None:
                view = self._own_cycle
            else:
                view = journal
                if self._view is None or self._view.cycle_id != view.cycle_id:
                    # first read, or the ATM began another cycle on its own: the journal's state
                    self._state = "open" if view.closed_at is None else "closed"
                    self._closed_at = None
                    self._own_cycle = None
            if self._closed_at is not None and self._state != "open":
                view = cycles.closed(view, self._closed_at)
            self._view = view
        return view

    def cycle(self) -> Future:
        return self._submit(self._file_pool, self._current)

    # ------------------------------------------------------------------ XFS4IoT
    def _xfs(self):
        if self._client is None:
            from custodian_app.xfs4iot.client import XfsStorageClient

            kw = {"timeout": self.xfs_timeout, "ca_bundle": self.ca_bundle, "currency": self.currency}
            if self.xfs_style:
                kw["style"] = self.xfs_style
            self._client = XfsStorageClient(self.xfs4iot_url, **kw)
        return self._client

    def _xfs_failed(self, exc) -> SourceUnavailable:
        from custodian_app.xfs4iot.errors import XfsConnectionLost, XfsTimeout, XfsUnreachable

        lost = isinstance(exc, (XfsUnreachable, XfsConnectionLost, XfsTimeout))
        self._set(XFS4IOT, LOST if lost else ERROR, f"XFS4IoT: {exc.english}", f"XFS4IoT：{exc.chinese}")
        return self._unavailable(XFS4IOT)

    def _units_from(self, docs: list[dict]) -> list[Unit]:
        doc = {
            "format": "atm-ledger/1",
            "terminal_id": self.terminal_id or "UNKNOWN",
            "cycle_id": "units",
            "currency": self.currency,
            "opened_at": self._started,
            "closed_at": None,
            "totals": {
                "loaded_amount": "0.00",
                "withdrawals": {"count": 0, "amount": "0.00"},
                "deposits": {"count": 0, "amount": "0.00"},
            },
            "units": docs,
            "transactions": [],
        }
        return formats.parse_atm_ledger(doc, f"XFS4IoT {self.xfs4iot_url}").units

    def _read_units(self) -> list[Unit]:
        """Every unit's counters from XFS4IoT now (on agent-xfs4iot)."""
        from custodian_app.xfs4iot.errors import XfsError

        try:
            units = self._units_from(self._xfs().read_units())
        except XfsError as exc:
            raise self._xfs_failed(exc) from None
        except formats.FormatError as exc:
            self._set(
                XFS4IOT,
                ERROR,
                f"XFS4IoT: the units do not make a valid ledger ({exc}); ask the bank's IT.",
                f"XFS4IoT：钞箱数据不构成有效的流水（{exc}）：请联系科技部门。",
            )
            raise self._unavailable(XFS4IOT) from None
        self._set(XFS4IOT, OK)
        with self._lock:
            self._units = units
        return units

    def units(self) -> Future:
        if self._xfs_pool is None:
            # no XFS4IoT: the journal's last counter print is all there is
            fut = self._submit(self._file_pool, lambda: list(self._current().units))
            return fut
        return self._submit(self._xfs_pool, self._read_units)

    # ------------------------------------------------------------------ closing and the exchange
    def close_cycle(self, now: str) -> Future:
        with self._lock:
            if self._state == "open":
                self._state = "closed"
                if self._view is None or self._view.closed_at is None:
                    self._closed_at = now
        return self._submit(self._file_pool, lambda: (self._current(), self.info())[1])

    def start_exchange(self, now: str) -> CycleInfo:
        with self._lock:
            if self._state == "open" and (self._view is None or self._view.closed_at is None):
                self._closed_at = now
            self._state = "exchange"
            if self._view is not None and self._closed_at is not None:
                self._view = cycles.closed(self._view, self._closed_at)
        return self.info()

    def exchange(self, initial: Mapping[str, int], now: str) -> Future:
        if self._xfs_pool is None:
            return failed(self._unavailable(XFS4IOT))
        with self._lock:
            known = self._units
        if known is not None:
            try:
                cycles.check_initial(known, initial)
            except ExchangeRefused as exc:
                return failed(exc)
        return self._submit(self._xfs_pool, self._exchange, dict(initial), now)

    def _exchange(self, initial: dict, now: str) -> CycleInfo:
        """StartExchange, SetStorage, EndExchange through XFS4IoT (on agent-xfs4iot); then the
        agent opens the next cycle, empty until the journal begins it."""
        from custodian_app.xfs4iot.errors import XfsError, XfsExchangeError

        try:
            self._xfs().exchange(initial)
            units = self._units_from([r.unit for r in self._xfs().readings])
        except XfsExchangeError as exc:
            raise ExchangeRefused(f"{exc.english} / {exc.chinese}") from None
        except XfsError as exc:
            raise self._xfs_failed(exc) from None
        self._set(XFS4IOT, OK)
        with self._lock:
            old = self._view or self._placeholder(now)
            self._units = units
            self._ended.append(old.cycle_id)
            cycle_id = cycles.next_cycle_id(old.terminal_id, now, self._ended)
            self._own_cycle = self._view = cycles.empty_cycle(old, cycle_id, now, units)
            self._state = "open"
            self._closed_at = None
        log.info("exchange done through XFS4IoT: cycle %s ended, %s opened", old.cycle_id, cycle_id)
        return self.info()

    def _placeholder(self, now: str) -> AtmLedger:
        return AtmLedger(
            self.terminal_id or "UNKNOWN",
            "UNKNOWN",
            self.currency,
            self._started,
            now,
            Totals(0, TypeTotals(0, 0), TypeTotals(0, 0)),
            [],
            [],
            None,
        )

    # ------------------------------------------------------------------ background checks
    def tick(self, now: float) -> None:
        """Every ``check_interval`` s: read the journal if it changed, and the units (which
        also reconnects XFS4IoT after a drop), so that the status says at once what is lost."""
        if self._closed or now - self._last_check < self.check_interval:
            return
        self._last_check = now
        if self.journal_dir and (self._file_job is None or self._file_job.done()):
            self._file_job = self._submit(self._file_pool, self._quiet, self._current)
        if self._xfs_pool is not None and (self._xfs_job is None or self._xfs_job.done()):
            self._xfs_job = self._submit(self._xfs_pool, self._quiet, self._read_units)

    @staticmethod
    def _quiet(fn) -> None:
        try:
            fn()
        except SourceUnavailable:
            pass  # already in the states

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        client = self._client
        if client is not None:
            client.cancel()  # a call under way returns at once
        if self._xfs_pool is not None:
            if client is not None:
                self._xfs_pool.submit(client.close)
            self._xfs_pool.shutdown(wait=True, cancel_futures=False)
        self._file_pool.shutdown(wait=True, cancel_futures=True)
