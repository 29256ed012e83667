"""The clearing's steps and store states, and the one table of the transitions between states:
the vocabulary that the clearing flow (``flow.py``), the store and the GUI share, so that a
session means the same to each of them.
"""

from __future__ import annotations

import enum


class Step(enum.IntEnum):
    """The wizard's pages, in order. The values are the QWizard page ids."""

    SIGN_IN = 0
    CONNECT = 1
    READ_ATM = 2
    COUNT = 3
    BACKEND = 4
    RECONCILE = 5
    REPORT = 6
    NEW_CYCLE = 7
    DONE = 8


class State(str, enum.Enum):
    """Clearing-session states as the store keeps them (strings on disk)."""

    SIGNED_IN = "signed_in"
    ATM_READ = "atm_read"
    COUNTED = "counted"
    BACKEND_FETCHED = "backend_fetched"
    RECONCILED = "reconciled"
    REVIEWED = "reviewed"
    SIGNED = "signed"
    NEW_CYCLE_STARTED = "new_cycle_started"
    CLOSED = "closed"
    ABANDONED = "abandoned"


# The order of progress; ABANDONED is off the line.
STATE_ORDER = (
    State.SIGNED_IN,
    State.ATM_READ,
    State.COUNTED,
    State.BACKEND_FETCHED,
    State.RECONCILED,
    State.REVIEWED,
    State.SIGNED,
    State.NEW_CYCLE_STARTED,
    State.CLOSED,
)
FINAL_STATES = frozenset({State.CLOSED, State.ABANDONED})

# Which store state may follow which. Going back is allowed where the flow allows it (go_back):
# redoing the count, the backend's ledger or the reconciliation — never past the ATM read, never
# once signed, for a signed report is a legal record: the clearing can then only be finished.
_REDO = frozenset({State.COUNTED, State.BACKEND_FETCHED, State.RECONCILED, State.ABANDONED})
NEXT_STATES: dict[State, frozenset[State]] = {
    State.SIGNED_IN: frozenset({State.ATM_READ, State.ABANDONED}),
    State.ATM_READ: frozenset({State.COUNTED, State.BACKEND_FETCHED, State.ABANDONED}),
    State.COUNTED: _REDO,
    State.BACKEND_FETCHED: _REDO,
    State.RECONCILED: _REDO | {State.REVIEWED},
    State.REVIEWED: _REDO | {State.SIGNED},
    State.SIGNED: frozenset({State.NEW_CYCLE_STARTED, State.CLOSED}),
    State.NEW_CYCLE_STARTED: frozenset({State.CLOSED}),
    State.CLOSED: frozenset(),
    State.ABANDONED: frozenset(),
}

# Where an interrupted session picks up: the first step whose fact is not yet recorded.
RESUME_STEP = {
    State.SIGNED_IN: Step.CONNECT,
    State.ATM_READ: Step.COUNT,
    State.COUNTED: Step.BACKEND,
    State.BACKEND_FETCHED: Step.RECONCILE,
    State.RECONCILED: Step.RECONCILE,
    State.REVIEWED: Step.REPORT,
    State.SIGNED: Step.NEW_CYCLE,
    State.NEW_CYCLE_STARTED: Step.DONE,
}
