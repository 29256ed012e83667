"""Evidence: the documents of a clearing as received, their digest, checks and export."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from custodian_app.domain import fields, formats
from custodian_app.domain.evidence import evidence_digest
from custodian_app.domain.flow import STATE_ORDER, State
from custodian_app.domain.formats import FormatError, FullCardNumber
from custodian_app.domain.money import format_amount
from custodian_app.store import audit as audit_mod
from custodian_app.store import models as m
from custodian_app.store.audit_log import AuditLog
from custodian_app.store.banknotes import insert_banknotes
from custodian_app.store.errors import CardNumberRefused, EvidenceError, InvalidTransition, StoreError
from custodian_app.store.records import EvidenceDoc, SessionInfo, SessionVerification, User
from custodian_app.store.sessions import Sessions

# A report can be printed from the reconciliation on (never for an abandoned clearing).
REPORT_STATES = frozenset(STATE_ORDER[STATE_ORDER.index(State.RECONCILED) :])


class Evidence(Sessions, AuditLog):
    """The steps that keep a document, and the documents kept."""

    def _put_evidence(
        self, s: Session, row: m.ClearingSession, kind: str, data: bytes, who: m.User
    ) -> m.Evidence:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("evidence is kept as the bytes received")
        data = bytes(data)
        version = (
            s.scalar(
                select(func.max(m.Evidence.version)).where(
                    m.Evidence.session_id == row.id, m.Evidence.kind == kind
                )
            )
            or 0
        ) + 1
        doc = m.Evidence(
            session_id=row.id,
            kind=kind,
            version=version,
            content=data,
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            received_at=self._now(),
            received_by_id=who.id,
        )
        s.add(doc)
        s.flush()
        return doc

    def _latest(self, s: Session, session_id: int, kind: str) -> m.Evidence | None:
        return s.scalar(
            select(m.Evidence)
            .where(m.Evidence.session_id == session_id, m.Evidence.kind == kind)
            .order_by(m.Evidence.version.desc())
            .limit(1)
        )

    # (session id, sha256, the ledger's head) of the last ATM ledger handed with its bytes: the
    # later steps check their document against it without parsing 20 MB of evidence again
    _handed_head: tuple[int, str, formats.AtmLedger] | None = None

    def _parsed_atm(self, s: Session, row: m.ClearingSession) -> formats.AtmLedger:
        """The session's ATM ledger as far as ``_same_clearing`` needs it (header and units)."""
        handed = self._handed_head
        if handed is not None and handed[0] == row.id:
            latest = s.scalar(
                select(m.Evidence.sha256)
                .where(m.Evidence.session_id == row.id, m.Evidence.kind == "atm-ledger")
                .order_by(m.Evidence.version.desc())
                .limit(1)
            )
            if latest == handed[1]:
                return handed[2]
        doc = self._latest(s, row.id, "atm-ledger")
        if doc is None:
            raise InvalidTransition(row.id, row.state, "?", "the ATM ledger has not been read")
        return formats.parse_atm_ledger(doc.content, f"session {row.id} atm-ledger")

    def record_atm_ledger(
        self, session_id: int, data: bytes, *, actor: User | str, parsed: formats.AtmLedger | None = None
    ) -> SessionInfo:
        """Keep the ATM ledger as read (``atm-ledger/1`` bytes) and its banknote records.

        ``parsed``: the AtmLedger that ``data`` was written from in this process (the wizard's
        read). The store then keeps that object's records instead of parsing the bytes again:
        for a large cycle the parse holds the interpreter lock long enough to freeze the window.
        The bytes must begin with that ledger's header, totals and units (EvidenceError else)."""
        if parsed is None:  # the reader refuses a full card number in any free-text field
            ledger = _parse(formats.parse_atm_ledger, data, "ATM ledger")
        else:  # not parsed here: the same rule, on the object handed
            ledger = _handed_atm_ledger(parsed, data)
            _refuse_full_cards(ledger)
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "atm_read")
            if ledger.terminal_id != row.terminal_id:
                raise EvidenceError(
                    f"the ATM ledger is of terminal {ledger.terminal_id}, but "
                    f"session {session_id} clears {row.terminal_id}"
                )
            doc = self._put_evidence(s, row, "atm-ledger", data, who)
            row.cycle_id, row.currency = ledger.cycle_id, ledger.currency
            notes = insert_banknotes(s.connection(), row.id, row.terminal_id, ledger)
            self._move(s, row, who, "atm_read")
            self._audit(
                s,
                "atm_read",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={
                    "cycle_id": ledger.cycle_id,
                    "sha256": doc.sha256,
                    "transactions": len(ledger.transactions),
                    "notes": notes,
                },
            )
            info = self._info(s, row)
        if parsed is not None:  # kept: the head only (the records are the caller's to free)
            self._handed_head = (row.id, doc.sha256, replace(ledger, transactions=[], notes=None))
        return info

    def record_counts(self, session_id: int, data: bytes, *, actor: User | str) -> SessionInfo:
        """Keep what the custodians counted (``counts/1`` bytes)."""
        counts = _parse(formats.parse_counts, data, "counts")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "counted")
            _same_clearing(self._parsed_atm(s, row), counts)
            doc = self._put_evidence(s, row, "counts", data, who)
            row.count_skip_reason = None
            self._move(s, row, who, "counted")
            self._audit(
                s,
                "count_entered",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"sha256": doc.sha256, "version": doc.version, "units": sorted(counts.units)},
            )
            return self._info(s, row)

    def record_host_ledger(self, session_id: int, data: bytes, *, actor: User | str) -> SessionInfo:
        """Keep the backend's ledger as fetched (``host-ledger/1`` bytes)."""
        host = _parse(formats.parse_host_ledger, data, "backend ledger")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "backend_fetched")
            _same_clearing(self._parsed_atm(s, row), host)
            doc = self._put_evidence(s, row, "host-ledger", data, who)
            self._move(s, row, who, "backend_fetched")
            self._audit(
                s,
                "backend_fetched",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"sha256": doc.sha256, "version": doc.version, "transactions": len(host.transactions)},
            )
            return self._info(s, row)

    def record_result(self, session_id: int, data: bytes, *, actor: User | str) -> SessionInfo:
        """Keep the reconciliation's result and fix the evidence digest (state ``reconciled``).

        Needs the ATM ledger, the backend ledger, and the counts or a count-skip reason.
        """
        result = _parse(formats.parse_result, data, "clearing result")
        with self._tx() as s:
            row, who = self._step(s, session_id, actor, "reconciled")
            atm = self._latest(s, row.id, "atm-ledger")
            host = self._latest(s, row.id, "host-ledger")
            # A skip decided after counts were entered leaves them out of the evidence.
            counts = None if row.count_skip_reason else self._latest(s, row.id, "counts")
            if host is None:
                raise InvalidTransition(
                    session_id, row.state, "reconciled", "the backend ledger has not been fetched"
                )
            if counts is None and not row.count_skip_reason:
                raise InvalidTransition(
                    session_id, row.state, "reconciled", "enter the counts, or skip the count with a reason"
                )
            if (result.terminal_id, result.cycle_id) != (row.terminal_id, row.cycle_id):
                raise EvidenceError(
                    f"the result is of {result.terminal_id}/{result.cycle_id}, "
                    f"not of this clearing {row.terminal_id}/{row.cycle_id}"
                )
            doc = self._put_evidence(s, row, "clearing-result", data, who)
            row.evidence_digest = evidence_digest(
                atm.content, host.content, counts.content if counts else None, doc.content
            )
            row.balanced = result.balanced
            row.mismatch_count = len(result.mismatches)
            row.cash_difference = result.cash_position.difference
            self._move(s, row, who, "reconciled")
            self._audit(
                s,
                "reconciled",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={
                    "sha256": doc.sha256,
                    "evidence_digest": row.evidence_digest,
                    "balanced": row.balanced,
                    "mismatches": row.mismatch_count,
                    "difference": format_amount(row.cash_difference),
                },
            )
            return self._info(s, row)

    def record_report(self, session_id: int, pdf: bytes, *, actor: User | str) -> EvidenceDoc:
        """Keep a printed report PDF. Every print after the first is recorded as a reprint."""
        if not bytes(pdf[:5]) == b"%PDF-":
            raise EvidenceError("the report is not a PDF (it does not start with %PDF-)")
        with self._tx() as s:
            row, who = self._step(
                s, session_id, actor, None, roles=("custodian", "supervisor", "administrator")
            )
            if row.state not in REPORT_STATES:
                raise InvalidTransition(
                    session_id,
                    row.state,
                    row.state,
                    "a report can be printed once the clearing is reconciled",
                )
            doc = self._put_evidence(s, row, "report-pdf", pdf, who)
            self._audit(
                s,
                "report_printed" if doc.version == 1 else "reprint",
                actor=who.username,
                session_id=row.id,
                terminal_id=row.terminal_id,
                detail={"sha256": doc.sha256, "version": doc.version, "evidence_digest": row.evidence_digest},
            )
            return _evidence(doc, who.username)

    def evidence(
        self, session_id: int, kind: str | None = None, *, all_versions: bool = False
    ) -> list[EvidenceDoc]:
        """The documents kept for a session (latest version of each kind unless all_versions)."""
        with self._tx(write=False) as s:
            self._session_row(s, session_id)
            q = (
                select(m.Evidence, m.User.username)
                .outerjoin(m.User, m.User.id == m.Evidence.received_by_id)
                .where(m.Evidence.session_id == session_id)
                .order_by(m.Evidence.kind, m.Evidence.version)
            )
            if kind is not None:
                q = q.where(m.Evidence.kind == kind)
            docs = [_evidence(e, name) for e, name in s.execute(q)]
        if not all_versions:
            latest: dict[str, EvidenceDoc] = {}
            for d in docs:
                latest[d.kind] = d
            docs = list(latest.values())
        return docs

    def document(self, session_id: int, kind: str) -> EvidenceDoc | None:
        """The latest document of ``kind`` kept for the session, or None."""
        docs = self.evidence(session_id, kind)
        return docs[-1] if docs else None

    def verify_session(self, session_id: int, *, pdf: bytes | None = None) -> SessionVerification:
        """Recompute the evidence digest and every document's SHA-256; check a report PDF."""
        info = self.get_session(session_id)
        docs = self.evidence(session_id, all_versions=True)
        result = SessionVerification(session_id, info.evidence_digest, None)
        for d in docs:
            if hashlib.sha256(d.content).hexdigest() != d.sha256 or len(d.content) != d.size:
                result.problems.append(
                    f"{d.kind} version {d.version} does not match its recorded "
                    "SHA-256 (the stored document was changed)"
                )
        latest = {d.kind: d for d in docs}
        if all(k in latest for k in ("atm-ledger", "host-ledger", "clearing-result")):
            counts = None if info.count_skip_reason else latest.get("counts")
            result.computed_digest = evidence_digest(
                latest["atm-ledger"].content,
                latest["host-ledger"].content,
                counts.content if counts else None,
                latest["clearing-result"].content,
            )
        if info.evidence_digest is None:
            result.problems.append(
                f"session {session_id} has no evidence digest yet (it was not reconciled; step: {info.state})"
            )
        elif result.computed_digest != info.evidence_digest:
            result.problems.append(
                "the evidence digest recomputed from the stored documents "
                f"({result.computed_digest}) differs from the recorded one "
                f"({info.evidence_digest})"
            )
        # the rows themselves against what the audit chain recorded (store/crosscheck.py)
        from custodian_app.store.crosscheck import session_problems

        result.problems += session_problems(self, session_id, info, docs)
        if pdf is not None:
            sha = hashlib.sha256(pdf).hexdigest()
            for d in docs:
                if d.kind == "report-pdf" and d.sha256 == sha:
                    result.pdf_version = d.version
            if result.pdf_version is None:
                result.problems.append(
                    f"the PDF (SHA-256 {sha}) is not a report kept for "
                    f"session {session_id}: it was changed or is of another "
                    "clearing"
                )
        return result

    def export_session(
        self, session_id: int, directory: str | Path, *, actor: User | str | None = None
    ) -> Path:
        """Write the evidence bundle of a session into ``directory`` (new or empty).

        The documents as received, the report PDF(s), ``audit.jsonl`` (the session's audit
        entries with their hashes) and ``manifest.json`` (session facts, SHA-256 of every file,
        the evidence digest). Returns the manifest's path.
        """
        from custodian_app.support.files import write_atomic

        target = Path(directory)
        if target.exists() and (not target.is_dir() or any(target.iterdir())):
            raise StoreError(
                f"{target} exists and is not an empty folder; export into a new "
                "folder so nothing is overwritten"
            )
        info = self.get_session(session_id)
        docs = self.evidence(session_id, all_versions=True)
        check = self.verify_session(session_id)
        target.mkdir(parents=True, exist_ok=True)
        latest_version = {d.kind: d.version for d in docs}
        ext = {"report-pdf": "pdf"}
        files = []
        for d in docs:
            base = "report" if d.kind == "report-pdf" else d.kind
            suffix = ext.get(d.kind, "json")
            name = (
                f"{base}.{suffix}" if d.version == latest_version[d.kind] else f"{base}-v{d.version}.{suffix}"
            )
            write_atomic(target / name, d.content)
            files.append(
                {
                    "name": name,
                    "kind": d.kind,
                    "version": d.version,
                    "sha256": d.sha256,
                    "size": d.size,
                    "received_at": audit_mod.format_time(d.received_at),
                    "received_by": d.received_by,
                }
            )
        exported = self.log(
            "export", actor=actor, session_id=session_id, detail={"files": len(files), "folder": target.name}
        )
        entries = self.audit_entries(session_id=session_id)
        head_seq, head_hash = self.audit_head()
        audit_bytes = "".join(audit_mod.canonical_json(e.to_dict()) + "\n" for e in entries).encode("utf-8")
        write_atomic(target / "audit.jsonl", audit_bytes)
        files.append(
            {
                "name": "audit.jsonl",
                "kind": "audit",
                "sha256": hashlib.sha256(audit_bytes).hexdigest(),
                "size": len(audit_bytes),
            }
        )
        manifest = {
            "format": "custodian-evidence-bundle/1",
            "session": _session_dict(info),
            "evidence_digest": info.evidence_digest,
            "evidence_digest_recomputed": check.computed_digest,
            "verification": {"ok": check.ok, "problems": check.problems},
            "transitions": [
                {
                    "from": t.from_state,
                    "to": t.to_state,
                    "actor": t.actor,
                    "host": t.host,
                    "at": audit_mod.format_time(t.at),
                }
                for t in self.transitions(session_id)
            ],
            "remarks": [
                {
                    "category": r.category,
                    "tsn": r.tsn,
                    "text": r.text,
                    "author": r.author,
                    "at": audit_mod.format_time(r.at),
                }
                for r in self.remarks(session_id)
            ],
            "files": files,
            "exported_at": audit_mod.format_time(exported.at),
            "export_audit_seq": exported.seq,
            # The whole chain's head when exported: compare it with a later 'audit verify' to
            # show that nothing up to here was rewritten since.
            "audit_head": {"seq": head_seq, "hash": head_hash},
        }
        path = target / "manifest.json"
        write_atomic(
            path, (audit_mod.json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        )
        return path


def _parse(parser, data: bytes, what: str):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"the {what} is kept as the bytes received")
    try:
        return parser(bytes(data), what)
    except FullCardNumber as exc:  # the reader's rule (free text included), the store's words
        raise CardNumberRefused(f"{what} {exc.path}", exc.message) from exc
    except FormatError as exc:
        raise EvidenceError(f"the {what} is not valid, nothing was saved: {exc}") from exc


def _refuse_full_cards(ledger: formats.AtmLedger) -> None:
    """The reader's card rule (``domain.fields``) on the free-text fields of a handed ledger."""
    for i, t in enumerate(ledger.transactions):
        for key in ("tsn", "host_code", "host_ref"):
            value = getattr(t, key)
            if value is not None and fields.has_full_card(value):
                raise CardNumberRefused(f"ATM ledger $.transactions[{i}].{key}")
    for i, n in enumerate(ledger.notes or ()):
        if n.tsn is not None and fields.has_full_card(n.tsn):
            raise CardNumberRefused(f"ATM ledger $.notes[{i}].tsn")


def _handed_atm_ledger(ledger: formats.AtmLedger, data: bytes) -> formats.AtmLedger:
    """A ledger handed with its bytes: trusted as their parse once the bytes are seen to begin
    as ``formats.dumps`` writes that ledger (a cheap check: header, totals and units)."""
    if not isinstance(ledger, formats.AtmLedger):
        raise TypeError("parsed must be the AtmLedger the bytes were written from")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("the ATM ledger is kept as the bytes received")
    head = formats.dumps(formats.atm_ledger_to_dict(replace(ledger, transactions=[], notes=None)))
    head = head[: head.index(b'"transactions":[') + len(b'"transactions":[')]
    if bytes(data[: len(head)]) != head:
        raise EvidenceError(
            "the ATM ledger's bytes are not those of the ledger handed with them; nothing was saved"
        )
    return ledger


def _same_clearing(atm: formats.AtmLedger, other) -> None:
    try:
        formats.check_same_clearing(atm, other)
    except FormatError as exc:
        raise EvidenceError(f"this document is not of the clearing being done: {exc}") from exc


def _evidence(e: m.Evidence, received_by: str | None) -> EvidenceDoc:
    return EvidenceDoc(
        session_id=e.session_id,
        kind=e.kind,
        version=e.version,
        sha256=e.sha256,
        size=e.size,
        received_at=e.received_at,
        received_by=received_by,
        content=bytes(e.content),
    )


def _session_dict(info: SessionInfo) -> dict[str, Any]:
    t = audit_mod.format_time
    return {
        "id": info.id,
        "terminal_id": info.terminal_id,
        "cycle_id": info.cycle_id,
        "currency": info.currency,
        "state": info.state,
        "custodians": list(info.custodians),
        "supervisor": info.supervisor,
        "host": info.host,
        "opened_at": t(info.opened_at),
        "ended_at": t(info.ended_at) if info.ended_at else None,
        "abandon_reason": info.abandon_reason,
        "count_skip_reason": info.count_skip_reason,
        "balanced": info.balanced,
        "mismatch_count": info.mismatch_count,
        "cash_difference": (None if info.cash_difference is None else format_amount(info.cash_difference)),
        "new_cycle_id": info.new_cycle_id,
    }
