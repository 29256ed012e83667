"""What the main window lists and looks up in the store: clearings, terminals, a banknote
serial, a kept report."""

from __future__ import annotations

from pathlib import Path


def interrupted_sessions(store) -> list[dict]:
    """Open sessions to offer for resumption, oldest first."""
    return [
        {
            "id": s.id,
            "terminal_id": s.terminal_id,
            "cycle_id": s.cycle_id,
            "state": s.state,
            "custodians": list(s.custodians),
        }
        for s in store.resumable_sessions()
    ]


def list_sessions(store, limit: int = 200) -> list[dict]:
    """Times are kept as the store's moments: the window shows them in the branch's time,
    formatted for its language (``gui.error_words.local_time``)."""
    return [
        {
            "id": s.id,
            "terminal_id": s.terminal_id,
            "cycle_id": s.cycle_id or "",
            "state": s.state,
            "started_at": s.opened_at,
            "custodians": " & ".join(s.custodians),
            "supervisor": s.supervisor or "",
            "mismatches": "" if s.mismatch_count is None else s.mismatch_count,
            "balanced": s.balanced,
            "updated_at": s.updated_at,
        }
        for s in store.history(limit=limit)
    ]


def list_terminals(store) -> list[dict]:
    """Each terminal with its most recent clearing."""
    latest: dict[str, dict] = {}
    for s in list_sessions(store, limit=1000):
        latest.setdefault(s["terminal_id"], s)
    rows = []
    for tid in sorted(latest):
        s = latest[tid]
        rows.append(
            {
                "terminal_id": tid,
                "cycle_id": s["cycle_id"],
                "state": s["state"],
                "updated_at": s["updated_at"],
                "custodians": s["custodians"],
                "balanced": {True: "✔", False: "✘", None: ""}[s["balanced"]],
            }
        )
    return rows


def find_serial(store, serial: str) -> list[dict]:
    from custodian_app.domain.money import format_grouped

    return [
        {
            "serial": n.serial,
            "value": format_grouped(n.value),
            "event": n.event,
            "tsn": n.tsn or "",
            "time": n.tx_time,
            "card": n.card or "",
            "terminal_id": n.terminal_id,
            "cycle_id": n.cycle_id,
        }
        for n in store.trace_note(serial)
    ]


def report_file(store, session_id: int) -> Path | None:
    """The latest report kept for a session, written to the data folder for the viewer."""
    from custodian_app.settings.paths import data_dir
    from custodian_app.support.files import write_atomic

    doc = store.document(session_id, "report-pdf")
    if doc is None:
        return None
    folder = data_dir() / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"session-{session_id}-v{doc.version}.pdf"
    write_atomic(path, doc.content)
    store.log("report_viewed", session_id=session_id, detail={"version": doc.version})
    return path
