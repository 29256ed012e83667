"""Commands on what the store keeps for inspection; see custodian_app.cli.main.

audit verify|anchor|show, trace-note, trace-card. Every one takes ``--db URL`` (else
``CUSTODIAN_DB``, the settings, the default SQLite file). Exit status: 0 ok, 1 verification
failed or nothing found, 2 usage or invalid input (including a database that cannot be opened).
"""

from __future__ import annotations

from datetime import UTC

from custodian_app.cli.common import EXIT_MISMATCH as EXIT_FAILED
from custodian_app.cli.common import EXIT_OK, EXIT_USAGE, fail
from custodian_app.cli.store_common import db_option, table, utc, with_store


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    db = db_option()

    audit = sub.add_parser("audit", help="the audit log")
    audit_sub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    av = audit_sub.add_parser(
        "verify", parents=[db], help="check the hash chain: any changed or deleted entry is found"
    )
    av.add_argument(
        "--against",
        metavar="FILE",
        help="also check against an anchor written earlier by 'audit anchor' "
        "(catches a rewrite of the whole chain and its head)",
    )
    av.set_defaults(func=cmd_audit_verify)
    aa = audit_sub.add_parser(
        "anchor",
        parents=[db],
        help="export the chain's head (entries, last hash, time) to keep outside the database",
    )
    aa.add_argument("--out", required=True, metavar="FILE", help="the anchor file to write")
    aa.set_defaults(func=cmd_audit_anchor)
    ash = audit_sub.add_parser("show", parents=[db], help="print audit entries as JSON lines, oldest first")
    ash.add_argument("--session", type=int, metavar="ID", help="only this clearing's entries")
    ash.add_argument("--since", type=int, default=0, metavar="SEQ", help="only entries after this number")
    ash.add_argument("--limit", type=int, help="at most this many")
    ash.set_defaults(func=cmd_audit_show)

    tn = sub.add_parser(
        "trace-note", parents=[db], help="where a banknote went, by serial (? for an unreadable character)"
    )
    tn.add_argument("serial")
    tn.set_defaults(func=cmd_trace_note)
    tc = sub.add_parser(
        "trace-card", parents=[db], help="the banknotes a card's transactions moved in a period"
    )
    tc.add_argument("card", metavar="MASKED_CARD", help="like 622202******1234")
    tc.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="DATE",
        help="first day YYYY-MM-DD (ATM local date) or an RFC 3339 time",
    )
    tc.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="DATE",
        help="last day YYYY-MM-DD (inclusive) or an RFC 3339 time",
    )
    tc.set_defaults(func=cmd_trace_card)


# -- audit -------------------------------------------------------------------------------------


def cmd_audit_verify(args) -> int:
    from custodian_app.store import audit

    anchor = None
    if args.against:
        try:
            anchor = audit.read_anchor(args.against)
        except audit.AnchorError as exc:
            return fail(exc, EXIT_USAGE)

    def body(store) -> int:
        result = store.verify_audit()
        if anchor is not None:

            def entry_hash_at(seq: int) -> str | None:
                found = store.audit_entries(since_seq=seq - 1, limit=1)
                return found[0].entry_hash if found and found[0].seq == seq else None

            result.problems += audit.check_anchor(result, anchor, entry_hash_at)
            if result.ok:
                print(f"matches the anchor of {anchor.get('exported_at', '?')} (entry {anchor['last_seq']})")
        if result.ok:
            print(
                f"audit log verified: {result.entries} entries, chain intact up to entry "
                f"{result.last_seq} ({result.last_hash})"
            )
            return EXIT_OK
        for problem in result.problems:
            print(f"FAILED: {problem}")
        print(f"audit log NOT intact: {len(result.problems)} problem(s) in {result.entries} entries")
        return EXIT_FAILED

    return with_store(args, body)


def cmd_audit_anchor(args) -> int:
    def body(store) -> int:
        from datetime import datetime

        from custodian_app.store import audit

        try:
            doc = audit.anchor_document(store.verify_audit(), store.url, datetime.now(UTC))
            audit.write_anchor(args.out, doc)
        except audit.AnchorError as exc:
            return fail(exc, EXIT_FAILED)
        print(
            f"audit anchor written to {args.out}: {doc['entries']} entries, last entry "
            f"{doc['last_seq']} ({doc['last_hash']}); keep it outside this database"
        )
        return EXIT_OK

    return with_store(args, body)


def cmd_audit_show(args) -> int:
    def body(store) -> int:
        from custodian_app.store.audit import canonical_json

        entries = store.audit_entries(session_id=args.session, since_seq=args.since, limit=args.limit)
        for e in entries:
            print(canonical_json(e.to_dict()))
        return EXIT_OK if entries else EXIT_FAILED

    return with_store(args, body)


# -- banknote trace ----------------------------------------------------------------------------


def _print_notes(notes, none_found: str) -> int:
    """The banknotes a trace found as a table (exit 0), or ``none_found`` (exit 1)."""
    from custodian_app.domain.money import format_amount

    if not notes:
        print(none_found)
        return EXIT_FAILED
    table(
        [
            [
                n.serial,
                n.event,
                f"{format_amount(n.value)} {n.currency}",
                n.terminal_id,
                n.cycle_id,
                n.tsn or "-",
                utc(n.tx_time),
                n.card or "-",
                str(n.session_id),
            ]
            for n in notes
        ],
        ["SERIAL", "EVENT", "VALUE", "ATM", "CYCLE", "TSN", "TIME", "CARD", "SESSION"],
    )
    return EXIT_OK


def cmd_trace_note(args) -> int:
    def body(store) -> int:
        return _print_notes(
            store.trace_note(args.serial), f"no banknote with serial {args.serial.upper()} in the records"
        )

    return with_store(args, body)


def _when(text: str, what: str):
    from datetime import date, datetime

    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a date YYYY-MM-DD or an RFC 3339 time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{what} {text!r} needs an offset, like 2026-11-03T09:00:00+08:00")
    return moment


def cmd_trace_card(args) -> int:
    try:
        start, end = _when(args.start, "--from"), _when(args.end, "--to")
    except ValueError as exc:
        return fail(str(exc))
    if type(start) is not type(end):
        return fail("give --from and --to both as dates or both as times")
    if start > end:
        return fail("--from is after --to")

    def body(store) -> int:
        return _print_notes(
            store.trace_card(args.card, start, end),
            f"no banknotes for {args.card} from {args.start} to {args.end}",
        )

    return with_store(args, body)
