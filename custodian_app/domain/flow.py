"""The clearing flow: the wizard's state machine, with no Qt and no I/O (house style: Electrum's
``wizard.py``). The Qt wizard and the headless ``clear`` command both drive it; it decides what
each step needs before the custodians may go on, where they may go back, how an interrupted
session resumes, and which store state (``signed_in`` … ``closed``) the session has reached.

The flow records *facts* (who signed in, what the ATM said, what was counted …) and derives
the rest. It never talks to the ATM, the backend or the database: the caller does that and
reports the outcome with one of the ``record_*`` methods, then asks ``can_advance()``.

Why this module stays whole at ~580 lines: it is one state machine, ``ClearingFlow``, whose
``record_*`` methods, ``missing()``, the back/forward rules and ``resumed()`` keep the same
invariants over the same fields (what each step needs, what a change invalidates); split across
modules, a rule change would have to be made in two places. The states and steps themselves
are already apart, in ``states``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from custodian_app.domain.errors import CustodianError
from custodian_app.domain.formats import (
    AtmLedger,
    ClearingResult,
    Counts,
    FormatError,
    HostLedger,
    Mismatch,
    check_same_clearing,
)
from custodian_app.domain.states import FINAL_STATES, RESUME_STEP, STATE_ORDER, State, Step

# A skip reason must say something; two characters is enough for "坏钞" but not for "x".
MIN_REASON_CHARS = 2


class FlowError(CustodianError):
    """A step the clearing flow does not allow at this point; the message says why."""


class Missing(str, enum.Enum):
    """Why Next is not allowed yet. The GUI translates these; ``text`` is the English."""

    TWO_CUSTODIANS = "two custodians must sign in"
    SAME_CUSTODIAN = "the two custodians must be different people"
    ATM_STATUS = "the ATM's status has not been read"
    ATM_LEDGER = "the ATM's ledger has not been read"
    ATM_NOTES = "the ATM's banknote records are still being read"
    ATM_READ_FAILED = "reading the ATM's banknote records failed; read the ledger again"
    COUNTS = "enter the counted cash for every unit, or skip counting with a reason"
    HOST_LEDGER = "the backend's ledger has not been fetched or imported"
    RESULT = "the reconciliation has not been computed"
    REVIEW = "the custodians have not confirmed the mismatch list"
    SUPERVISOR = "a supervisor must sign off the report"
    SUPERVISOR_IS_CUSTODIAN = "the supervisor must not be one of the custodians"
    LOADED = "enter the cash loaded into every cassette"
    EXCHANGE = "the new cycle has not been started on the ATM"

    @property
    def text(self) -> str:
        return self.value


@dataclass(slots=True)
class AtmStatusFacts:
    """What the ATM said when the link came up."""

    terminal_id: str
    cycle_id: str
    status: str = ""


@dataclass
class ClearingFlow:
    """One clearing session of one ATM by two custodians."""

    step: Step = Step.SIGN_IN
    custodians: tuple[str, str] | None = None
    authenticated: bool = False  # both signed in during this run (a resumed session asks again)
    atm_status: AtmStatusFacts | None = None
    # the ATM's ledger comes from its journal files (a USB stick), not over the serial link:
    # nothing to connect to, the terminal is known once the journals are read
    atm_from_journal: bool = False
    # (file, line) of each journal line the custodians accepted as a gap: the report lists them
    journal_gaps: tuple[tuple[str, int], ...] = ()
    # The ledger arrives in two parts: its core (totals, units, transactions; notes=None) at
    # about a fifth of the transfer, then the banknote records. The custodians count and fetch
    # the backend on the core; only the complete ledger is evidence and may be reconciled.
    atm_core: AtmLedger | None = None
    atm: AtmLedger | None = None  # the complete ledger (banknote records included)
    atm_read_error: str | None = None  # the read failed after the core arrived
    counts: dict[str, int] | None = None  # unit id -> counted cash, minor units
    count_skip_reason: str | None = None
    host: HostLedger | None = None
    host_source: str | None = None  # "backend" or "settlement file"
    result: ClearingResult | None = None
    reviewed: bool = False
    remarks: dict[str, str] = field(default_factory=dict)  # mismatch key -> custodian's remark
    supervisor: str | None = None
    loaded: dict[str, int] | None = None  # cassette id -> notes loaded for the next cycle
    new_cycle_id: str | None = None
    closed: bool = False
    abandon_reason: str | None = None
    headless: bool = False
    # the step a resumed session continues at once the custodians have signed in again
    resume_at: Step | None = None

    # -- the store state ------------------------------------------------------------------

    def _state_name(self) -> str:
        state = self.state
        return "not started" if state is None else state.value

    @property
    def state(self) -> State | None:
        """The furthest store state the recorded facts justify (None before sign-in)."""
        if self.abandon_reason is not None:
            return State.ABANDONED
        if self.closed:
            return State.CLOSED
        if self.atm is None:
            # counts or the backend's ledger taken on the core alone are not yet the store's:
            # its session moves on only once the complete ATM ledger is in
            return State.SIGNED_IN if self.custodians is not None else None
        if self.new_cycle_id is not None:
            return State.NEW_CYCLE_STARTED
        if self.supervisor is not None:
            return State.SIGNED
        if self.reviewed:
            return State.REVIEWED
        if self.result is not None:
            return State.RECONCILED
        if self.host is not None:
            return State.BACKEND_FETCHED
        if self.atm is not None and self.counts_settled:
            return State.COUNTED
        if self.atm is not None:
            return State.ATM_READ
        if self.custodians is not None:
            return State.SIGNED_IN
        return None

    @property
    def core_ledger(self) -> AtmLedger | None:
        """The ledger's core (terminal, cycle, units, transactions): the complete ledger once
        it is in, else the core that arrived first."""
        return self.atm if self.atm is not None else self.atm_core

    @property
    def core_read(self) -> bool:
        return self.core_ledger is not None

    @property
    def ledger_complete(self) -> bool:
        return self.atm is not None

    @property
    def notes_pending(self) -> bool:
        """The core is in and the banknote records are still coming (the read goes on)."""
        return self.atm is None and self.atm_core is not None and self.atm_read_error is None

    @property
    def finished(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def counts_settled(self) -> bool:
        return self.counts is not None or self.count_skip_reason is not None

    def counts_document(self) -> Counts | None:
        """The counts as the reconciliation takes them (None when counting was skipped)."""
        core = self.core_ledger
        if self.counts is None or core is None:
            return None
        return Counts(
            terminal_id=core.terminal_id,
            cycle_id=core.cycle_id,
            currency=core.currency,
            counted_by=list(self.custodians or ()),
            units=dict(self.counts),
            source="<counted in the wizard>",
        )

    # -- what each step needs -------------------------------------------------------------

    def missing(self, step: Step | None = None) -> list[Missing]:
        """What is still missing before Next is allowed on ``step`` (default: the current one)."""
        step = self.step if step is None else step
        if step is Step.SIGN_IN:
            if self.custodians is None or not self.authenticated:
                return [Missing.TWO_CUSTODIANS]
            return []
        if step is Step.CONNECT:
            return (
                []
                if self.atm_status is not None or self.core_read or self.atm_from_journal
                else [Missing.ATM_STATUS]
            )
        if step is Step.READ_ATM:
            return [] if self.core_read else [Missing.ATM_LEDGER]
        if step is Step.COUNT:
            return [] if self.counts_settled else [Missing.COUNTS]
        if step is Step.BACKEND:
            return [] if self.host is not None else [Missing.HOST_LEDGER]
        if step is Step.RECONCILE:
            if self.result is not None:
                return []
            if self.atm_read_error is not None:
                return [Missing.ATM_READ_FAILED]
            if self.atm is None:
                return [Missing.ATM_NOTES]
            return [Missing.RESULT]
        if step is Step.REPORT:
            return [] if self.supervisor is not None else [Missing.SUPERVISOR]
        if step is Step.NEW_CYCLE:
            return [] if self.new_cycle_id is not None else [Missing.EXCHANGE]
        return []

    def can_advance(self) -> bool:
        return self.step is not Step.DONE and not self.finished and not self.missing()

    def next_step(self) -> Step:
        """Where Next leads from the current step (a resumed session skips what is done)."""
        if self.step is Step.SIGN_IN and self.resume_at is not None:
            return self.resume_at
        if self.step is Step.CONNECT and self.core_read:
            return Step.COUNT  # a resumed session reconnects for the exchange, not to re-read
        if self.step is Step.REPORT and self.atm_from_journal:
            # no line to the ATM: the new cycle is loaded at the ATM itself, so the signed
            # report ends the clearing
            return Step.DONE
        return Step(min(self.step + 1, Step.DONE))

    def advance(self) -> Step:
        """Go to the next step, or raise FlowError saying what is missing."""
        if self.finished:
            raise FlowError(f"the session is {self._state_name()}; start a new clearing")
        missing = self.missing()
        if missing:
            raise FlowError("; ".join(m.text for m in missing))
        if self.step is Step.RECONCILE:
            self.reviewed = True  # Next on the mismatch list is the custodians' confirmation
        target = self.next_step()
        if self.step is Step.SIGN_IN:
            self.resume_at = None
        if target is Step.DONE:
            self.close()
        self.step = target
        return target

    # -- back navigation ------------------------------------------------------------------

    def can_go_back(self) -> bool:
        """Back is allowed to correct counts, the backend's ledger or the review, never past
        the ATM read (the ATM ledger is the reference), and never once the supervisor signed."""
        if self.finished or self.supervisor is not None:
            return False
        if self.step is Step.READ_ATM:
            return not self.core_read  # before the read: pick another port
        return self.step in (Step.BACKEND, Step.RECONCILE, Step.REPORT)

    def previous_step(self) -> Step:
        if self.step is Step.REPORT:
            return Step.RECONCILE
        if self.step is Step.RECONCILE:
            return Step.BACKEND
        if self.step is Step.BACKEND:
            return Step.COUNT
        return Step.CONNECT  # READ_ATM before the read: pick another port

    def go_back(self) -> Step:
        if not self.can_go_back():
            raise FlowError("going back is not allowed here")
        target = self.previous_step()
        if target is Step.RECONCILE:
            self.reviewed = False  # back from the report: the review is to be confirmed again
        self.step = target
        return target

    # -- recording facts ------------------------------------------------------------------

    def _require(self, step: Step) -> None:
        if self.finished:
            raise FlowError(f"the session is {self._state_name()}; start a new clearing")
        if self.step is not step:
            raise FlowError(
                f"this belongs to the {step.name.lower()} step; the session is at {self.step.name.lower()}"
            )

    def record_sign_in(self, first: str, second: str) -> None:
        """Two custodians, authenticated by the caller. Dual custody: two different people."""
        self._require(Step.SIGN_IN)
        a, b = (first or "").strip(), (second or "").strip()
        if not a or not b:
            raise FlowError(Missing.TWO_CUSTODIANS.text)
        if a.casefold() == b.casefold():
            raise FlowError(Missing.SAME_CUSTODIAN.text)
        if self.custodians is not None and {a.casefold(), b.casefold()} != {
            c.casefold() for c in self.custodians
        }:
            raise FlowError(
                "the session was started by "
                + " and ".join(self.custodians)
                + "; the same two custodians must sign in to resume it"
            )
        if self.custodians is None:
            self.custodians = (a, b)
        self.authenticated = True

    def withdraw_sign_in(self) -> None:
        """The names were edited after signing in: both must sign in again."""
        if self.step is Step.SIGN_IN:
            self.authenticated = False
            if self.resume_at is None:
                self.custodians = None

    def record_atm_status(self, terminal_id: str, cycle_id: str, status: str = "") -> None:
        self._require(Step.CONNECT)
        core = self.core_ledger
        if core is not None and (terminal_id, cycle_id) != (core.terminal_id, core.cycle_id):
            raise FlowError(
                f"this ATM is {terminal_id} in cycle {cycle_id}, but the session clears "
                f"{core.terminal_id} cycle {core.cycle_id}; connect the right ATM"
            )
        self.atm_status = AtmStatusFacts(terminal_id, cycle_id, status)

    def _check_connected(self, atm: AtmLedger) -> None:
        st = self.atm_status
        if st is not None and (st.terminal_id, st.cycle_id) != (atm.terminal_id, atm.cycle_id):
            raise FlowError(
                f"the ledger read is for {atm.terminal_id} cycle {atm.cycle_id}, "
                f"not the connected {st.terminal_id} cycle {st.cycle_id}"
            )

    def record_atm_core(self, core: AtmLedger) -> None:
        """The ledger's core arrived (totals, units, transactions); the banknote records are
        still coming. Enough to count the cash and fetch the backend, not to reconcile."""
        if self.finished:
            raise FlowError(f"the session is {self._state_name()}; start a new clearing")
        if self.atm is not None:
            return  # the complete ledger is already in (a late callback)
        if self.atm_core is not None:
            # a retried read: its core must be the one the custodians counted against
            self._check_same_core(self.atm_core, core)
        elif self.step is not Step.READ_ATM:
            raise FlowError(
                f"the ATM's ledger belongs to the read_atm step; the session is at {self.step.name.lower()}"
            )
        self._check_connected(core)
        self.atm_core = core
        self.atm_read_error = None

    def record_atm_ledger(self, atm: AtmLedger) -> None:
        """The complete ledger, banknote records included. On the read step, or later when the
        custodians went on after the core: then it must be the ledger whose core they used."""
        if self.finished:
            raise FlowError(f"the session is {self._state_name()}; start a new clearing")
        if self.atm_core is None:
            self._require(Step.READ_ATM)
        else:
            self._check_same_core(self.atm_core, atm)
        if self.atm is not None:
            raise FlowError("the ATM's ledger has already been read")
        self._check_connected(atm)
        self.atm = atm
        self.atm_core = atm
        self.atm_read_error = None

    def record_atm_read_failed(self, message: str) -> None:
        """The read failed. After the core arrived this blocks the reconciliation until a
        read completes (never reconcile on a partial ledger); before it, nothing is kept."""
        if self.atm is None and self.atm_core is not None:
            self.atm_read_error = (message or "the read failed").strip()

    @staticmethod
    def _check_same_core(core: AtmLedger, atm: AtmLedger) -> None:
        if (core.terminal_id, core.cycle_id) != (atm.terminal_id, atm.cycle_id):
            raise FlowError(
                f"the ledger read is for {atm.terminal_id} cycle {atm.cycle_id}, but the "
                f"custodians counted against {core.terminal_id} cycle {core.cycle_id}"
            )
        if core.units != atm.units or core.transactions != atm.transactions or core.currency != atm.currency:
            raise FlowError(
                "the ATM's transactions or units changed between reads; abandon this clearing and start again"
            )

    def record_counts(self, counts: dict[str, int]) -> None:
        """Counted cash per unit (minor units); every unit of the ATM must have a figure."""
        self._require(Step.COUNT)
        assert self.core_ledger is not None
        unit_ids = [u.id for u in self.core_ledger.units]
        unknown = sorted(set(counts) - set(unit_ids))
        if unknown:
            raise FlowError(f"no such unit in this ATM: {', '.join(unknown)}")
        absent = [u for u in unit_ids if u not in counts]
        if absent:
            raise FlowError(f"enter the counted cash for {', '.join(absent)}")
        for uid, amount in counts.items():
            if type(amount) is not int:
                raise TypeError(f"counted cash must be integer minor units, not {type(amount).__name__}")
            if amount < 0:
                raise FlowError(f"the counted cash for {uid} cannot be negative")
        self._invalidate_after(Step.COUNT)
        self.counts = {uid: counts[uid] for uid in unit_ids}
        self.count_skip_reason = None

    def skip_counts(self, reason: str) -> None:
        """Reconcile without a physical count; allowed only with a reason, which is recorded."""
        self._require(Step.COUNT)
        reason = (reason or "").strip()
        if len(reason) < MIN_REASON_CHARS:
            raise FlowError("say why the cash was not counted")
        self._invalidate_after(Step.COUNT)
        self.counts = None
        self.count_skip_reason = reason

    def record_host_ledger(self, host: HostLedger, source: str = "backend") -> None:
        self._require(Step.BACKEND)
        assert self.core_ledger is not None
        try:
            check_same_clearing(self.core_ledger, host)
        except FormatError as exc:
            raise FlowError(f"the backend's ledger is for another clearing: {exc}") from exc
        self._invalidate_after(Step.BACKEND)
        self.host = host
        self.host_source = source

    def record_result(self, result: ClearingResult) -> None:
        self._require(Step.RECONCILE)
        if self.atm is None:
            raise FlowError(Missing.ATM_NOTES.text)  # never a result on a partial ledger
        if self.host is None:
            raise FlowError(Missing.HOST_LEDGER.text)
        if (result.terminal_id, result.cycle_id) != (self.atm.terminal_id, self.atm.cycle_id):
            raise FlowError("the result belongs to another clearing")
        self.result = result
        self.reviewed = False

    def set_remark(self, key: str, text: str) -> None:
        """A custodian's remark on one mismatch (``mismatch_key``); empty text removes it."""
        if self.finished or self.supervisor is not None:
            raise FlowError("the report is signed; remarks can no longer change")
        text = (text or "").strip()
        if text:
            self.remarks[key] = text
        else:
            self.remarks.pop(key, None)

    def record_sign_off(self, supervisor: str) -> None:
        """The supervisor, authenticated by the caller, signs the report off."""
        self._require(Step.REPORT)
        if not self.reviewed:
            raise FlowError(Missing.REVIEW.text)
        name = (supervisor or "").strip()
        if not name:
            raise FlowError(Missing.SUPERVISOR.text)
        if self.custodians and name.casefold() in {c.casefold() for c in self.custodians}:
            raise FlowError(Missing.SUPERVISOR_IS_CUSTODIAN.text)
        self.supervisor = name

    def check_loaded(self, loaded: dict[str, int]) -> None:
        """Cash loaded per cassette (note counts) for the exchange; every cash-out cassette."""
        core = self.core_ledger
        if core is None:
            raise FlowError(Missing.ATM_LEDGER.text)
        cassettes = [u.id for u in core.units if u.type in ("cashOut", "recycling")]
        absent = [c for c in cassettes if c not in loaded]
        if absent:
            raise FlowError(f"enter the notes loaded into {', '.join(absent)}")
        for uid, notes in loaded.items():
            if type(notes) is not int:
                raise TypeError(f"loaded notes must be an int, not {type(notes).__name__}")
            if notes < 0:
                raise FlowError(f"the notes loaded into {uid} cannot be negative")
        if not any(loaded.values()):
            raise FlowError("no cash loaded: enter the notes put into the cassettes")

    def record_new_cycle(self, loaded: dict[str, int], new_cycle_id: str) -> None:
        self._require(Step.NEW_CYCLE)
        if self.supervisor is None:
            raise FlowError(Missing.SUPERVISOR.text)
        self.check_loaded(loaded)
        if not new_cycle_id:
            raise FlowError("the ATM did not start a new cycle")
        self.loaded = dict(loaded)
        self.new_cycle_id = new_cycle_id

    def close(self) -> None:
        """The session ends after the new cycle started (or, headless, after the report; or,
        read from the ATM's journal files, once the report is signed)."""
        if self.finished:
            raise FlowError(f"the session is already {self._state_name()}")
        signed_from_journal = self.atm_from_journal and self.supervisor is not None
        if (
            self.new_cycle_id is None
            and not (self.headless and self.result is not None)
            and not signed_from_journal
        ):
            raise FlowError("the session can close only after the new cycle has started")
        self.closed = True
        self.step = Step.DONE

    def abandon(self, reason: str) -> None:
        """Give the session up, with a reason (recorded); not possible once it is closed."""
        if self.finished:
            raise FlowError(f"the session is already {self._state_name()}")
        if self.supervisor is not None:
            raise FlowError("the report is signed, a legal record: finish the clearing instead")
        reason = (reason or "").strip()
        if len(reason) < MIN_REASON_CHARS:
            raise FlowError("say why the clearing is abandoned")
        self.abandon_reason = reason

    def _invalidate_after(self, step: Step) -> None:
        """Changing the counts or the backend's ledger makes the result (and its review) stale."""
        self.result = None
        self.reviewed = False

    # -- resumption -----------------------------------------------------------------------

    @classmethod
    def resumed(
        cls,
        state: State | str,
        *,
        custodians: tuple[str, str],
        atm: AtmLedger | None = None,
        counts: dict[str, int] | None = None,
        count_skip_reason: str | None = None,
        host: HostLedger | None = None,
        result: ClearingResult | None = None,
        remarks: dict[str, str] | None = None,
        supervisor: str | None = None,
        loaded: dict[str, int] | None = None,
        new_cycle_id: str | None = None,
        atm_from_journal: bool = False,
    ) -> ClearingFlow:
        """Rebuild an interrupted session from what the store kept. It starts at sign-in (the
        same two custodians must sign in again) and then continues where it stopped.
        ``atm_from_journal``: the ledger was read from the ATM's journal files, so a signed
        session ends at the report (there is no line for the exchange)."""
        state = State(state)
        if state in FINAL_STATES:
            raise FlowError(f"a {state.value} session cannot be resumed")
        needs = {
            State.ATM_READ: atm is not None,
            State.COUNTED: counts is not None or bool(count_skip_reason),
            State.BACKEND_FETCHED: host is not None,
            State.SIGNED: supervisor is not None,
            State.NEW_CYCLE_STARTED: new_cycle_id is not None,
        }
        reached = STATE_ORDER.index(state)
        for need, present in needs.items():
            if STATE_ORDER.index(need) <= reached and not present:
                raise FlowError(
                    f"the stored session is {state.value} but lacks what "
                    f"{need.value} needs; abandon it and start again"
                )
        flow = cls(custodians=tuple(custodians), atm_from_journal=atm_from_journal)  # type: ignore[arg-type]
        if STATE_ORDER.index(State.ATM_READ) <= reached:
            flow.atm = flow.atm_core = atm
            flow.atm_status = AtmStatusFacts(atm.terminal_id, atm.cycle_id, "")  # type: ignore[union-attr]
        if STATE_ORDER.index(State.COUNTED) <= reached:
            flow.counts = dict(counts) if counts is not None else None
            flow.count_skip_reason = count_skip_reason if counts is None else None
        if STATE_ORDER.index(State.BACKEND_FETCHED) <= reached:
            flow.host = host
        if STATE_ORDER.index(State.RECONCILED) <= reached:
            flow.result = result  # None: recomputed on the reconcile step
        flow.reviewed = STATE_ORDER.index(State.REVIEWED) <= reached and result is not None
        flow.remarks = dict(remarks or {})
        if STATE_ORDER.index(State.SIGNED) <= reached:
            flow.supervisor = supervisor
        if STATE_ORDER.index(State.NEW_CYCLE_STARTED) <= reached:
            flow.loaded = dict(loaded or {})
            flow.new_cycle_id = new_cycle_id
        target = RESUME_STEP[state]
        if atm_from_journal and target is Step.NEW_CYCLE:
            target = Step.REPORT  # signed: Finish on the report ends it
        if target is Step.REPORT and flow.result is None:
            target = Step.RECONCILE
        flow.resume_at = target
        return flow


def mismatch_key(m: Mismatch) -> str:
    """A stable key for one mismatch (for remarks): category, TSN, side and item."""
    return "|".join(str(x or "") for x in (m.category, m.tsn, m.side, m.item, m.type))
