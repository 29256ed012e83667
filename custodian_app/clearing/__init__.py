"""The clearing orchestration shared by the wizard's background jobs and the headless
``clear`` command: reconcile a flow, build its evidence and report, keep the session in the
store, fetch the backend. No Qt here; every function blocks, so the GUI runs them on its
worker threads (the store's on the database thread only).
"""

from __future__ import annotations

from custodian_app.domain.errors import CustodianError


# Defined here, before the modules that raise it are imported: its dotted name
# (custodian_app.clearing.ClearingError) is what the GUI's words for it are keyed by.
class ClearingError(CustodianError):
    """A clearing step that cannot be done; the message says what to do next."""


class WrongRole(ClearingError):
    """A user signed in where another role is needed (a supervisor as a custodian …)."""

    def __init__(self, username: str, role: str, wanted: str) -> None:
        self.username, self.role, self.wanted = username, role, wanted
        super().__init__(f"{username} is a {role}, not a {wanted}; a {wanted} must sign in here")


from custodian_app.clearing.headless import (  # noqa: E402
    EXIT_LINK,
    EXIT_MISMATCH,
    EXIT_OK,
    EXIT_USAGE,
    HEADLESS_SKIP_REASON,
    clear_headless,
)
from custodian_app.clearing.queries import (  # noqa: E402
    find_serial,
    interrupted_sessions,
    list_sessions,
    list_terminals,
    report_file,
)
from custodian_app.clearing.recorder import (  # noqa: E402
    SessionRecorder,
    authenticate,
    close_store,
    ensure_user,
    open_store,
    resume_flow,
    snapshot,
)
from custodian_app.clearing.steps import (  # noqa: E402
    REPORT_LANGUAGE,
    Evidence,
    build_report_bytes,
    fetch_host_ledger,
    format_amount_signed,
    import_settlement,
    reconcile_flow,
    render_report,
    report_meta,
    success_codes,
)
from custodian_app.domain.flow import State, mismatch_key  # noqa: E402

__all__ = [
    "ClearingError",
    "WrongRole",
    "Evidence",
    "build_report_bytes",
    "fetch_host_ledger",
    "import_settlement",
    "mismatch_key",
    "reconcile_flow",
    "render_report",
    "report_meta",
    "snapshot",
    "State",
    "success_codes",
    "REPORT_LANGUAGE",
    "format_amount_signed",
    "open_store",
    "close_store",
    "authenticate",
    "ensure_user",
    "SessionRecorder",
    "resume_flow",
    "interrupted_sessions",
    "list_sessions",
    "list_terminals",
    "find_serial",
    "report_file",
    "clear_headless",
    "EXIT_OK",
    "EXIT_MISMATCH",
    "EXIT_USAGE",
    "EXIT_LINK",
    "HEADLESS_SKIP_REASON",
]
