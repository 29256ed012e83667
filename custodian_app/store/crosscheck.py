"""A clearing session against its audit entries: what the report or a trace shows must be what
the hash chain recorded, or follow from evidence the chain covers (docs/storage.md).

``audit verify`` proves the chain unchanged; the session's own rows (its documents, outcome
columns, custodians, supervisor, steps, remarks, banknote records) are plain rows that someone
with write access could edit consistently among themselves — a document together with its
SHA-256 and the session's evidence digest. ``session verify`` therefore also compares them with
the chain:

- every stored document's SHA-256 is one the chain recorded for that kind, and none the chain
  recorded is missing;
- the outcome columns equal the chain's ``reconciled`` entry and what the stored (covered)
  result says; the evidence digest equals the chain's;
- custodians (``session_opened``), supervisor (``signed_off``), every step and its actor (the
  entries that move the session, in order) and the current step;
- every remark, with its author;
- the banknote records equal those of the stored (covered) ATM ledger.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select

from custodian_app.domain import formats
from custodian_app.domain.errors import scrub
from custodian_app.domain.money import format_amount
from custodian_app.store import models as m

# The audit action that moves a session, and the step it moves it to (Store._move's callers).
MOVES = {
    "session_opened": "signed_in",
    "atm_read": "atm_read",
    "count_entered": "counted",
    "count_skipped": "counted",
    "backend_fetched": "backend_fetched",
    "reconciled": "reconciled",
    "reviewed": "reviewed",
    "signed_off": "signed",
    "new_cycle_started": "new_cycle_started",
    "session_closed": "closed",
    "session_abandoned": "abandoned",
}
# The audit actions that record each kind of document, with its SHA-256.
RECORDED_BY = {
    "atm-ledger": ("atm_read",),
    "counts": ("count_entered",),
    "host-ledger": ("backend_fetched",),
    "clearing-result": ("reconciled",),
    "report-pdf": ("report_printed", "reprint"),
}


def _as_logged(value: Any) -> Any:
    """A value as the chain keeps it in a detail (strings scrubbed like ``clean_detail``)."""
    return scrub(value) if isinstance(value, str) else value


def session_problems(store, session_id: int, info, docs) -> list[str]:
    """What in the session's rows differs from its audit entries. ``info`` and ``docs`` (all
    versions) are what ``verify_session`` already read."""
    entries = store.audit_entries(session_id=session_id)
    problems: list[str] = []
    outside = "it was changed outside the application"

    for kind, actions in RECORDED_BY.items():
        recorded = Counter(e.detail.get("sha256") for e in entries if e.action in actions)
        stored = Counter(d.sha256 for d in docs if d.kind == kind)
        if stored != recorded:
            problems.append(
                f"the stored {kind} document(s) are not the ones the audit log recorded "
                f"(SHA-256 {sorted(stored)} kept, {sorted(recorded)} recorded): {outside}"
            )

    steps = [(MOVES[e.action], e.actor) for e in entries if e.action in MOVES]
    kept = [(t.to_state, t.actor) for t in store.transitions(session_id)]
    if kept != steps:
        problems.append(
            f"the session's steps and who took them {kept} are not those the audit log "
            f"recorded {steps}: {outside}"
        )
    if steps and info.state != steps[-1][0]:
        problems.append(
            f"the session is at step {info.state!r}, but the audit log's last step is "
            f"{steps[-1][0]!r} (a finished clearing reopened?): {outside}"
        )

    opened = next((e for e in entries if e.action == "session_opened"), None)
    if opened is not None and sorted(opened.detail.get("custodians", ())) != sorted(info.custodians):
        problems.append(
            f"the custodians {list(info.custodians)} are not those the audit log "
            f"recorded {opened.detail.get('custodians')}: {outside}"
        )
    signers = [e.actor for e in entries if e.action == "signed_off"]
    if info.supervisor != (signers[-1] if signers else None):
        problems.append(
            f"the supervisor {info.supervisor!r} is not the one who signed off in the "
            f"audit log ({signers[-1] if signers else 'nobody'!r}): {outside}"
        )

    problems += _outcome_problems(entries, info, docs, outside)

    remarks = Counter(
        (_as_logged(r.category), _as_logged(r.tsn), _as_logged(r.text), r.author)
        for r in store.remarks(session_id)
    )
    logged = Counter(
        (e.detail.get("category"), e.detail.get("tsn"), e.detail.get("text"), e.actor)
        for e in entries
        if e.action == "remark"
    )
    if remarks != logged:
        problems.append(f"the remarks are not the ones the audit log recorded: {outside}")

    problems += _banknote_problems(store, session_id, docs, outside)
    return problems


def _outcome_problems(entries, info, docs, outside: str) -> list[str]:
    out: list[str] = []
    reconciled = [e for e in entries if e.action == "reconciled"]
    columns = {
        "evidence_digest": info.evidence_digest,
        "balanced": info.balanced,
        "mismatches": info.mismatch_count,
        "difference": None if info.cash_difference is None else format_amount(info.cash_difference),
    }
    if reconciled:
        detail = reconciled[-1].detail
        for key, value in columns.items():
            if detail.get(key) != value:
                out.append(
                    f"the session's {key} ({value!r}) is not what the audit log recorded at "
                    f"reconciliation ({detail.get(key)!r}): {outside}"
                )
    elif any(v is not None for v in columns.values()):
        out.append(f"the session has an outcome but the audit log recorded no reconciliation: {outside}")
    results = [d for d in docs if d.kind == "clearing-result"]
    if results:
        try:
            result = formats.parse_result(results[-1].content, "the stored clearing-result")
        except formats.FormatError as exc:
            return out + [f"the stored clearing-result cannot be read: {exc}"]
        recomputed = (result.balanced, len(result.mismatches), result.cash_position.difference)
        if (info.balanced, info.mismatch_count, info.cash_difference) != recomputed:
            out.append(
                f"the session's outcome (balanced {info.balanced}, {info.mismatch_count} "
                f"mismatch(es), difference {info.cash_difference}) is not what its stored "
                f"result says {recomputed}: {outside}"
            )
    return out


def _banknote_problems(store, session_id: int, docs, outside: str) -> list[str]:
    expected: Counter = Counter()
    for d in docs:
        if d.kind == "atm-ledger":
            try:
                ledger = formats.parse_atm_ledger(d.content, "the stored atm-ledger")
            except formats.FormatError as exc:
                return [f"the stored atm-ledger cannot be read: {exc}"]
            expected.update((n.serial, n.value, n.tsn, n.unit, n.event) for n in ledger.notes or ())
    table = m.Banknote.__table__
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(table.c.serial, table.c.value, table.c.tsn, table.c.unit, table.c.event).where(
                table.c.session_id == session_id
            )
        )
        kept = Counter(tuple(r) for r in rows)
    if kept != expected:
        return [
            f"the banknote records ({sum(kept.values())}) are not those of the stored ATM ledger "
            f"({sum(expected.values())}; {sum((kept - expected).values())} differ): {outside}"
        ]
    return []
