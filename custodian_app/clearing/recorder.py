"""The session as the store keeps it: signing in, the flow's snapshot, bringing the store's
session up to the flow (``SessionRecorder``) and rebuilding a flow from the store."""

from __future__ import annotations

import threading
from typing import Any

from custodian_app.clearing import WrongRole
from custodian_app.clearing.steps import ledger_bytes
from custodian_app.domain import formats
from custodian_app.domain.flow import ClearingFlow, State, mismatch_key


def snapshot(flow: ClearingFlow) -> dict[str, Any]:
    """What the store keeps of a session, taken on the GUI thread (the flow is not shared)."""
    return {
        "state": flow.state.value if flow.state else None,
        "custodians": list(flow.custodians or ()),
        "terminal_id": (
            flow.core_ledger.terminal_id
            if flow.core_ledger
            else flow.atm_status.terminal_id
            if flow.atm_status
            else None
        ),
        "cycle_id": (
            flow.core_ledger.cycle_id
            if flow.core_ledger
            else flow.atm_status.cycle_id
            if flow.atm_status
            else None
        ),
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


# -- the store ----------------------------------------------------------------------------
# The store's own rules (dual custody, the three-person sign-off, which step may follow which)
# are enforced there; the flow is the wizard's view of the same steps.


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
    doc = formats.Counts(
        atm.terminal_id, atm.cycle_id, atm.currency, list(snap["custodians"]), dict(flow_counts)
    )
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
        # where a ledger read from the ATM's journal files came from (the ledger's "source":
        # dialect, the gap lines accepted), kept with it so that the report can list them
        self.atm_source: dict | None = None
        # (ledger, its evidence bytes): written once, for the store and the report's fingerprint
        self._atm_bytes: tuple[formats.AtmLedger, bytes] | None = None
        self._atm_lock = threading.Lock()

    def atm_bytes(self, ledger: formats.AtmLedger) -> bytes:
        """The bytes the store keeps of ``ledger``, written once. A 20,000-transaction ledger
        takes most of a second of Python to write; the database thread (storing it) and the
        report's thread (its evidence fingerprint) both need them, so whichever asks first
        writes them and the other waits for that (neither is the GUI thread)."""
        with self._atm_lock:
            kept = self._atm_bytes
            if kept is None or kept[0] is not ledger:
                if self.atm_source is None:
                    data = ledger_bytes(ledger)
                else:  # a journal read: kept with its dialect and accepted gaps
                    doc = formats.atm_ledger_to_dict(ledger)
                    doc["source"] = self.atm_source
                    data = formats.dumps(doc)
                kept = self._atm_bytes = (ledger, data)
            return kept[1]

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
                store.log(
                    "headless_clearing",
                    actor=actor,
                    session_id=info.id,
                    detail={
                        "how": "custodian-app clear, without the wizard",
                        "custodians": list(snap["custodians"]),
                    },
                )
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
            data = self.atm_bytes(snap["atm"])
            self.sent["atm-ledger"] = hashlib.sha256(data).hexdigest()
            # the ledger goes with its bytes: the store need not parse 20 MB again
            info = store.record_atm_ledger(sid, data, actor=actor, parsed=snap["atm"])
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
        elif (
            snap["counts"] is None
            and snap["count_skip_reason"]
            and info.count_skip_reason != snap["count_skip_reason"]
        ):
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
        state,
        custodians=tuple(info.custodians),
        atm=atm,
        # A skip recorded after a count supersedes it: the stored counts no longer stand.
        counts=None if counts is None or info.count_skip_reason else dict(counts.units),
        count_skip_reason=info.count_skip_reason,
        host=host,
        result=result,
        remarks=remarks,
        supervisor=info.supervisor,
        new_cycle_id=info.new_cycle_id,
        # the read from the ATM's journal files is in the audit log, not in the ledger's fields
        atm_from_journal=any(
            e.action == "atm_journal_read" for e in store.audit_entries(session_id=session_id)
        ),
    )
    if host is not None:
        flow.host_source = "stored"
    return flow
