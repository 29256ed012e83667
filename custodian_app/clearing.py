"""The clearing orchestration shared by the wizard's background jobs and the headless
``clear`` command: reconcile a flow, build its evidence and report, keep the session in the
store, fetch the backend. No Qt here; every function blocks, so the GUI runs them on its
worker threads (the store's on the database thread only).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from custodian_app.domain import formats
from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.flow import ClearingFlow, State, mismatch_key
from custodian_app.errors import CustodianError

log = logging.getLogger(__name__)


class ClearingError(CustodianError):
    """A clearing step that cannot be done; the message says what to do next."""


class WrongRole(ClearingError):
    """A user signed in where another role is needed (a supervisor as a custodian …)."""

    def __init__(self, username: str, role: str, wanted: str) -> None:
        self.username, self.role, self.wanted = username, role, wanted
        super().__init__(f"{username} is a {role}, not a {wanted}; a {wanted} must sign in here")


# -- the reconciliation -------------------------------------------------------------------


def success_codes(settings=None) -> frozenset[str]:
    codes = getattr(settings, "success_codes", None)
    if codes:
        return frozenset(codes)
    return frozenset({"00"})


def reconcile_flow(flow: ClearingFlow, settings=None) -> formats.ClearingResult:
    """The engine on the flow's documents, with the shipped catalogue of actions."""
    from custodian_app.catalogue_data import load_catalogue
    from custodian_app.domain.reconcile import reconcile

    if flow.atm is None or flow.host is None:
        raise ClearingError("the ATM's and the backend's ledgers are both needed to reconcile")
    return reconcile(flow.atm, flow.host, flow.counts_document(),
                     success_codes=success_codes(settings), catalogue=load_catalogue())


class Evidence:
    """The documents of one clearing as bytes, and their SHA-256 fingerprint."""

    def __init__(self, flow: ClearingFlow) -> None:
        if flow.atm is None or flow.host is None or flow.result is None:
            raise ClearingError("the clearing has no result yet")
        self.atm = formats.dumps(formats.atm_ledger_to_dict(flow.atm))
        self.host = formats.dumps(formats.host_ledger_to_dict(flow.host))
        counts = flow.counts_document()
        self.counts = None if counts is None else formats.dumps(formats.counts_to_dict(counts))
        self.result = formats.dumps(formats.result_to_dict(flow.result))
        self.sha256 = evidence_digest(self.atm, self.host, self.counts, self.result)


# -- the backend --------------------------------------------------------------------------


def fetch_host_ledger(url: str, token: str | None, terminal_id: str, cycle_id: str, *,
                      progress=None, cancel=None, ca_bundle: str | None = None,
                      timeout: float = 30.0) -> formats.HostLedger:
    from custodian_app.backend.client import BackendClient

    client = BackendClient(url, token=token or None, ca_bundle=ca_bundle or None, timeout=timeout)
    return client.fetch_ledger(terminal_id, cycle_id, progress=progress, cancel=cancel)


def import_settlement(path: str, atm: formats.AtmLedger | None = None) -> formats.HostLedger:
    """A settlement file the backend office sent instead (host-ledger/1 JSON or CSV), checked
    against the ATM's terminal, cycle and currency."""
    from custodian_app.backend.settlement import import_settlement as _import

    if atm is None:
        return _import(path)
    return _import(path, terminal_id=atm.terminal_id, cycle_id=atm.cycle_id, currency=atm.currency)


# -- the report ---------------------------------------------------------------------------


# the application's language -> the report's: Chinese users get the bilingual report
REPORT_LANGUAGE = {"zh_CN": "both", "en": "en"}


def report_meta(flow: ClearingFlow, *, settings=None, session_id=None, language: str = "zh_CN",
                evidence: Evidence | None = None, printed_by: str | None = None):
    from custodian_app.report import ReportMeta

    evidence = evidence or Evidence(flow)
    now = datetime.now(timezone.utc).astimezone()
    cycle = flow.atm.cycle_id if flow.atm else "?"
    number = f"{cycle}-{session_id}" if session_id is not None else cycle
    return ReportMeta(
        bank=getattr(settings, "bank_name", "") or "",
        branch=getattr(settings, "branch_name", "") or "",
        report_no=number,
        printed_at=now.isoformat(timespec="seconds"),
        printed_by=printed_by or (flow.custodians[0] if flow.custodians else ""),
        custodians=tuple(flow.custodians or ()),
        supervisor=flow.supervisor,
        evidence_sha256=evidence.sha256,
        headless=flow.headless,
        draft=flow.supervisor is None and not flow.headless,
        language=REPORT_LANGUAGE.get(language, "both"),
        session_id=None if session_id is None else str(session_id),
    )


def build_report_bytes(flow: ClearingFlow, *, settings=None, session_id=None, language="zh_CN") -> bytes:
    from custodian_app.report import build_report

    meta = report_meta(flow, settings=settings, session_id=session_id, language=language)
    return build_report(flow.result, flow.atm, meta=meta, host=flow.host, counts=flow.counts_document(),
                        appendix=bool(getattr(settings, "report_appendix", False)))


def render_report(flow: ClearingFlow, *, settings=None, session_id=None, language="zh_CN") -> tuple[bytes, Path]:
    """Build the report and keep it in the data folder (QPdfView reads it from there)."""
    from custodian_app.files import write_atomic
    from custodian_app.paths import data_dir

    pdf = build_report_bytes(flow, settings=settings, session_id=session_id, language=language)
    folder = data_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    kind = "signed" if flow.supervisor else "draft"
    path = folder / f"{flow.atm.cycle_id}-{session_id or 'new'}-{kind}.pdf"
    write_atomic(path, pdf)
    return pdf, path


# -- the session as the store keeps it ----------------------------------------------------


def snapshot(flow: ClearingFlow) -> dict[str, Any]:
    """What the store keeps of a session, taken on the GUI thread (the flow is not shared)."""
    return {
        "state": flow.state.value if flow.state else None,
        "custodians": list(flow.custodians or ()),
        "terminal_id": (flow.core_ledger.terminal_id if flow.core_ledger else
                        flow.atm_status.terminal_id if flow.atm_status else None),
        "cycle_id": (flow.core_ledger.cycle_id if flow.core_ledger else
                     flow.atm_status.cycle_id if flow.atm_status else None),
        "atm": flow.atm,  # only the complete ledger is evidence (the core alone never is)
        "host": flow.host,
        "host_source": flow.host_source,
        "counts": dict(flow.counts) if flow.counts is not None else None,
        "count_skip_reason": flow.count_skip_reason,
        "result": flow.result,
        "remarks": dict(flow.remarks),
        "supervisor": flow.supervisor,
        "loaded": dict(flow.loaded) if flow.loaded else None,
        "new_cycle_id": flow.new_cycle_id,
        "abandon_reason": flow.abandon_reason,
        "headless": flow.headless,
        "reviewed": flow.reviewed,
    }


__all__ = [
    "ClearingError", "Evidence", "build_report_bytes", "fetch_host_ledger", "import_settlement",
    "mismatch_key", "reconcile_flow", "render_report", "report_meta", "snapshot", "State",
]


# -- the store ----------------------------------------------------------------------------
# The store's own rules (dual custody, the three-person sign-off, which step may follow which)
# are enforced there; the flow above is the wizard's view of the same steps.


def open_store(url: str | None = None, **options):
    from custodian_app.store import open_store as _open

    return _open(url or None, **options)


def close_store(store) -> None:
    store.close()


def authenticate(store, username: str, password: str, *, role: str):
    """Sign one user in with their password; the store's User record (proof of the sign-in).
    Raises the store's AuthenticationError subclasses (wrong password, locked …)."""
    user = store.authenticate(username, password)
    # Exactly the role asked for: the store lets only a supervisor sign off, so an
    # administrator let through here would be refused later, after the report was made.
    if user.role != role:
        raise WrongRole(username, user.role, role)
    return user


def ensure_user(store, username: str, password: str, role: str) -> None:
    from custodian_app.store import NotFound, UnknownUser

    try:
        store.get_user(username)
    except (NotFound, UnknownUser):
        store.add_user(username, password, role, full_name=username.capitalize())


def _counts_bytes(flow_counts: dict[str, int] | None, snap: dict) -> bytes | None:
    if flow_counts is None or snap["atm"] is None:
        return None
    atm = snap["atm"]
    doc = formats.Counts(atm.terminal_id, atm.cycle_id, atm.currency, list(snap["custodians"]),
                         dict(flow_counts))
    return formats.dumps(formats.counts_to_dict(doc))


class SessionRecorder:
    """Brings the store's clearing session up to what the flow has recorded. Used only on the
    database thread (the wizard) or in the headless command. Remembers what it already sent so
    that each sync writes only what changed (a ledger is sent once, a recount again)."""

    def __init__(self, session_id: int | None = None, users=None) -> None:
        self.session_id = session_id
        self.users = users  # the two custodians' User records from authenticate()
        self.sent: dict[str, str] = {}  # evidence kind -> sha256 sent or found
        self.remarks_sent: dict[tuple[str, str | None], str] = {}
        self._loaded = False
        self._objects: dict[str, object] = {}  # kind -> the document object last sent

    def _unchanged(self, kind: str, obj) -> bool:
        """The very object already sent: no need to serialise a big ledger again."""
        return obj is not None and self._objects.get(kind) is obj

    def _load(self, store) -> None:
        """A resumed session: what the store already has is not sent again."""
        if self._loaded or self.session_id is None:
            return
        for d in store.evidence(self.session_id):
            self.sent[d.kind] = d.sha256
        for r in store.remarks(self.session_id):
            self.remarks_sent[(r.category, r.tsn)] = r.text
        self._loaded = True

    def sync(self, store, snap: dict) -> int | None:
        import hashlib

        actor = snap["custodians"][0] if snap["custodians"] else None
        if self.session_id is None:
            if snap["state"] is None or not snap["terminal_id"] or self.users is None:
                return None
            info = store.open_session(snap["terminal_id"], *self.users)
            self.session_id = info.id
            self._loaded = True
            if snap["headless"]:
                store.log("headless_clearing", actor=actor, session_id=info.id,
                          detail={"how": "custodian-app clear, without the wizard",
                                  "custodians": list(snap["custodians"])})
        self._load(store)
        sid = self.session_id
        info = store.get_session(sid)
        if not info.is_open:
            return sid

        def changed(kind: str, data: bytes | None) -> bool:
            if data is None:
                return False
            sha = hashlib.sha256(data).hexdigest()
            if self.sent.get(kind) == sha:
                return False
            self.sent[kind] = sha
            return True

        if snap["atm"] is not None and "atm-ledger" not in self.sent:
            data = formats.dumps(formats.atm_ledger_to_dict(snap["atm"]))
            self.sent["atm-ledger"] = hashlib.sha256(data).hexdigest()
            info = store.record_atm_ledger(sid, data, actor=actor)
        if "atm-ledger" not in self.sent:
            # The custodians went on with the ledger's core while its banknote records are
            # still being read: their counts and the backend's ledger wait here until the
            # complete ATM ledger is in the store (the store takes evidence in order).
            if snap["abandon_reason"] and info.is_open:
                store.abandon_session(sid, snap["abandon_reason"], actor=actor)
            return sid
        counts = _counts_bytes(snap["counts"], snap)
        if changed("counts", counts):
            info = store.record_counts(sid, counts, actor=actor)
        elif snap["counts"] is None and snap["count_skip_reason"] and \
                info.count_skip_reason != snap["count_skip_reason"]:
            info = store.skip_count(sid, snap["count_skip_reason"], actor=actor)
        if snap["host"] is not None and not self._unchanged("host-ledger", snap["host"]):
            data = formats.dumps(formats.host_ledger_to_dict(snap["host"]))
            if changed("host-ledger", data):
                info = store.record_host_ledger(sid, data, actor=actor)
            self._objects["host-ledger"] = snap["host"]
        if snap["result"] is not None and not self._unchanged("clearing-result", snap["result"]):
            data = formats.dumps(formats.result_to_dict(snap["result"]))
            if changed("clearing-result", data):
                info = store.record_result(sid, data, actor=actor)
            self._objects["clearing-result"] = snap["result"]
        if snap["result"] is not None:
            for m in snap["result"].mismatches:
                text = snap["remarks"].get(mismatch_key(m))
                key = (m.category, m.tsn)
                if text and self.remarks_sent.get(key) != text:
                    store.add_remark(sid, m.category, m.tsn, text, actor=actor)
                    self.remarks_sent[key] = text
        if snap["reviewed"] and info.state == "reconciled":
            info = store.mark_reviewed(sid, actor=actor)
        if snap["new_cycle_id"] and info.state == "signed":
            info = store.start_new_cycle(sid, snap["new_cycle_id"], actor=actor)
        if snap["state"] == State.CLOSED.value and info.state in ("signed", "new_cycle_started"):
            info = store.close_session(sid, actor=actor)
        if snap["abandon_reason"] and info.is_open:
            info = store.abandon_session(sid, snap["abandon_reason"], actor=actor)
        return sid

    def sign_off(self, store, supervisor_user) -> None:
        store.sign_off(self.session_id, supervisor_user)

    def save_report(self, store, pdf: bytes, actor: str) -> None:
        if self.session_id is not None:
            store.record_report(self.session_id, pdf, actor=actor)


def resume_flow(store, session_id: int) -> ClearingFlow:
    """Rebuild an interrupted session's flow from what the store kept."""
    info = store.get_session(session_id)
    docs = {d.kind: d for d in store.evidence(session_id)}

    def parsed(kind, parser):
        d = docs.get(kind)
        return None if d is None else parser(d.content, f"session {session_id} {kind}")

    atm = parsed("atm-ledger", formats.parse_atm_ledger)
    counts = parsed("counts", formats.parse_counts)
    host = parsed("host-ledger", formats.parse_host_ledger)
    result = parsed("clearing-result", formats.parse_result)
    if result is not None and info.state in ("counted", "backend_fetched"):
        result = None  # a recount or a new fetch after the result made it stale
    remarks = {}
    if result is not None:
        latest = {(r.category, r.tsn): r.text for r in store.remarks(session_id)}
        for m in result.mismatches:
            if (m.category, m.tsn) in latest:
                remarks[mismatch_key(m)] = latest[(m.category, m.tsn)]
    state = info.state
    if state == "atm_read" and info.count_skip_reason:
        state = "counted"
    flow = ClearingFlow.resumed(
        state, custodians=tuple(info.custodians), atm=atm,
        # A skip recorded after a count supersedes it: the stored counts no longer stand.
        counts=None if counts is None or info.count_skip_reason else dict(counts.units),
        count_skip_reason=info.count_skip_reason, host=host, result=result, remarks=remarks,
        supervisor=info.supervisor, new_cycle_id=info.new_cycle_id)
    if host is not None:
        flow.host_source = "stored"
    return flow


def interrupted_sessions(store) -> list[dict]:
    """Open sessions to offer for resumption, oldest first."""
    return [{"id": s.id, "terminal_id": s.terminal_id, "cycle_id": s.cycle_id, "state": s.state,
             "custodians": list(s.custodians)} for s in store.resumable_sessions()]


def _when(dt) -> str:
    return "" if dt is None else dt.astimezone().strftime("%Y-%m-%d %H:%M")


def list_sessions(store, limit: int = 200) -> list[dict]:
    return [{"id": s.id, "terminal_id": s.terminal_id, "cycle_id": s.cycle_id or "",
             "state": s.state, "started_at": _when(s.opened_at),
             "custodians": " & ".join(s.custodians), "supervisor": s.supervisor or "",
             "mismatches": "" if s.mismatch_count is None else s.mismatch_count,
             "balanced": s.balanced, "updated_at": _when(s.updated_at)}
            for s in store.history(limit=limit)]


def list_terminals(store) -> list[dict]:
    """Each terminal with its most recent clearing."""
    latest: dict[str, dict] = {}
    for s in list_sessions(store, limit=1000):
        latest.setdefault(s["terminal_id"], s)
    rows = []
    for tid in sorted(latest):
        s = latest[tid]
        rows.append({"terminal_id": tid, "cycle_id": s["cycle_id"], "state": s["state"],
                     "updated_at": s["updated_at"], "custodians": s["custodians"],
                     "balanced": {True: "✔", False: "✘", None: ""}[s["balanced"]]})
    return rows


def find_serial(store, serial: str) -> list[dict]:
    from custodian_app.domain.money import format_grouped

    return [{"serial": n.serial, "value": format_grouped(n.value), "event": n.event, "tsn": n.tsn or "",
             "time": _when(n.tx_time), "card": n.card or "", "terminal_id": n.terminal_id,
             "cycle_id": n.cycle_id} for n in store.trace_note(serial)]


def report_file(store, session_id: int) -> Path | None:
    """The latest report kept for a session, written to the data folder for the viewer."""
    from custodian_app.files import write_atomic
    from custodian_app.paths import data_dir

    doc = store.document(session_id, "report-pdf")
    if doc is None:
        return None
    folder = data_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"session-{session_id}-v{doc.version}.pdf"
    write_atomic(path, doc.content)
    store.log("report_viewed", session_id=session_id, detail={"version": doc.version})
    return path


# -- the headless clearing (custodian-app clear) ------------------------------------------

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_LINK = 0, 1, 2, 3
HEADLESS_SKIP_REASON = "no count given to the headless clear command (custodian-app clear)"


def clear_headless(*, port: str, url: str, out: str, pdf: str, custodians: list[str],
                   passwords: list[str], baud: int | None = None, token: str | None = None, counts_path: str | None = None,
                   db_url: str | None = None, language: str | None = None, settings=None,
                   log=print, store_options: dict | None = None) -> int:
    """The wizard's flow without a window; returns the exit status (see ``clear --help``).

    Nothing is written to ``out`` or ``pdf`` unless the whole clearing succeeded. The session
    is kept in the store like the wizard's, marked in the audit log and on the report as a
    clearing without the wizard. It stays open at "reconciled" (the store allows no shortcut
    past the review and the supervisor's signature), so the custodians resume it in the
    application for the sign-off and the next cycle.
    """
    import os

    from custodian_app import files
    from custodian_app.domain.flow import ClearingFlow, FlowError

    if settings is None:
        from custodian_app.config import load_settings

        try:
            settings = load_settings()
        except CustodianError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
    token = token if token is not None else (os.environ.get("CUSTODIAN_BACKEND_TOKEN")
                                             or settings.backend_token or None)
    baud = baud or settings.serial_baud
    language = language or settings.language or "zh_CN"
    flow = ClearingFlow(headless=True)

    counts = None
    if counts_path:
        try:
            counts = files.read_counts(counts_path)
        except CustodianError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE

    # dual custody holds without the window too: both custodians sign in with their passwords
    try:
        store = open_store(db_url or settings.database_url or None, **(store_options or {}))
    except CustodianError as exc:
        log(f"custodian-app clear: {exc}")
        return EXIT_USAGE
    try:
        try:
            flow.record_sign_in(*custodians)
            users = [authenticate(store, n, p, role="custodian") for n, p in zip(custodians, passwords)]
        except (CustodianError, FlowError) as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        flow.advance()
        recorder = SessionRecorder(users=users)

        from custodian_app.link.client import AtmClient

        try:
            with AtmClient(port, baud=baud) as client:
                status = client.connect()
                flow.record_atm_status(status.terminal_id, status.cycle_id, status.cycle_state)
                recorder.sync(store, snapshot(flow))
                flow.advance()
                log(f"reading the ledger of {status.terminal_id} cycle {status.cycle_id} on {port}…")
                flow.record_atm_ledger(client.read_ledger())
        except FlowError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        except CustodianError as exc:
            if type(exc).__module__.startswith("custodian_app.store"):
                log(f"custodian-app clear: {exc}")
                return EXIT_USAGE
            log(f"custodian-app clear: the ATM on {port}: {exc}")
            return EXIT_LINK
        recorder.sync(store, snapshot(flow))
        flow.advance()
        try:
            if counts is not None:
                formats.check_same_clearing(flow.atm, counts)
                flow.record_counts(dict(counts.units))
            else:
                flow.skip_counts(HEADLESS_SKIP_REASON)
        except (CustodianError, FlowError) as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        recorder.sync(store, snapshot(flow))
        flow.advance()
        try:
            log(f"fetching the backend's ledger from {url}…")
            host = fetch_host_ledger(url, token, flow.atm.terminal_id, flow.atm.cycle_id,
                                     ca_bundle=settings.backend_ca_bundle or None,
                                     timeout=settings.backend_timeout)
        except CustodianError as exc:
            log(f"custodian-app clear: the backend at {url}: {exc}")
            return EXIT_LINK
        try:
            flow.record_host_ledger(host)
        except FlowError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        recorder.sync(store, snapshot(flow))
        flow.advance()
        flow.record_result(reconcile_flow(flow, settings))
        recorder.sync(store, snapshot(flow))
        evidence = Evidence(flow)
        from custodian_app.report import build_report

        meta = report_meta(flow, settings=settings, session_id=recorder.session_id, language=language,
                           evidence=evidence, printed_by=custodians[0])
        report = build_report(flow.result, flow.atm, meta=meta, host=flow.host,
                              counts=flow.counts_document(),
                              appendix=bool(getattr(settings, "report_appendix", False)))
        recorder.save_report(store, report, custodians[0])
        files.write_atomic(out, formats.dumps(formats.result_to_dict(flow.result), indent=True))
        files.write_atomic(pdf, report)
        r = flow.result
        log(f"session {recorder.session_id}: {'balanced' if r.balanced else f'{len(r.mismatches)} mismatches'}; "
            f"difference {format_amount_signed(r.cash_position.difference)}; result {out}, report {pdf}")
        return EXIT_OK if r.balanced else EXIT_MISMATCH
    finally:
        store.close()


def format_amount_signed(minor: int) -> str:
    from custodian_app.domain.money import format_grouped

    return format_grouped(minor, plus=True)
