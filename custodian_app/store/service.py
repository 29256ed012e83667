"""The store's service API: everything the GUI and the command line do with the database.

``Store`` is one object for its callers, built from one class per concern, each in its module:
``base`` (engine, transactions, the audit chain's append), ``audit_log`` (reading and extending
the audit log), ``users`` (accounts and signing in), ``sessions`` (dual custody and the steps
without a document), ``evidence`` (the steps that keep a document; verifying and exporting
them) and ``trace`` (banknote searches). Which step may follow which is the clearing flow's
rule, ``custodian_app.domain.flow.NEXT_STATES``.

Methods return the plain records of ``custodian_app.store.records``; they raise the errors of
``custodian_app.store.errors``. The object is thread-safe (one engine, a session per call), but
the GUI should still call it from a worker thread: a call may wait on the database.
"""

from __future__ import annotations

from custodian_app.domain.states import NEXT_STATES
from custodian_app.store.audit_log import AuditLog
from custodian_app.store.base import LOCKOUT, MAX_FAILED_SIGN_INS, refuse_full_pan
from custodian_app.store.evidence import REPORT_STATES, Evidence
from custodian_app.store.sessions import SIGN_IN_VALID, Sessions
from custodian_app.store.trace import Trace
from custodian_app.store.users import Users


class Store(Evidence, Sessions, Users, AuditLog, Trace):
    """The clearing-session store on one database (see ``open_store``)."""


__all__ = [
    "Store",
    "NEXT_STATES",
    "REPORT_STATES",
    "LOCKOUT",
    "MAX_FAILED_SIGN_INS",
    "SIGN_IN_VALID",
    "refuse_full_pan",
]
