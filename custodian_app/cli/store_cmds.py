"""Commands on the clearing-session store; see custodian_app.cli.main.

users add|list|set-password|disable, history, session export|verify|show|abandon, audit verify|anchor|show, trace-note,
trace-card. Every one takes ``--db URL`` (else ``CUSTODIAN_DB``, the settings, the default
SQLite file). Exit status: 0 ok, 1 verification failed or nothing found, 2 usage or invalid
input (including a database that cannot be opened).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC

from custodian_app.cli.common import EXIT_MISMATCH as EXIT_FAILED
from custodian_app.cli.common import EXIT_OK, EXIT_USAGE, fail


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    from custodian_app.store import ROLES  # the package module only: no SQLAlchemy yet

    db = argparse.ArgumentParser(add_help=False)
    db.add_argument(
        "--db",
        metavar="URL",
        help="database URL (sqlite:///PATH or postgresql+psycopg://USER@HOST/DB); "
        "default: $CUSTODIAN_DB, the settings, then the local SQLite file",
    )

    users = sub.add_parser("users", help="add, list and disable users")
    users_sub = users.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = users_sub.add_parser("add", parents=[db], help="add a user (asks for the password)")
    add.add_argument("username")
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument("--name", default="", help="full name, as printed on the report")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (scripts)",
    )
    add.set_defaults(func=cmd_users_add)
    lst = users_sub.add_parser("list", parents=[db], help="list users, roles and status")
    lst.set_defaults(func=cmd_users_list)
    pw = users_sub.add_parser(
        "set-password",
        parents=[db],
        help="give a user a new password (asks for the current one, or "
        "an administrator's with --by); lifts a lockout",
    )
    pw.add_argument("username")
    pw.add_argument("--by", metavar="ADMIN", help="an administrator who sets it (asks for their password)")
    pw.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the current password (or ADMIN's) and then the new one from the "
        "first two lines of standard input (scripts)",
    )
    pw.set_defaults(func=cmd_users_set_password)
    dis = users_sub.add_parser("disable", parents=[db], help="disable a user for good")
    dis.add_argument("username")
    dis.set_defaults(func=cmd_users_disable)

    hist = sub.add_parser("history", parents=[db], help="list clearings, newest first")
    hist.add_argument("--terminal", metavar="ID", help="only this ATM")
    hist.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    hist.set_defaults(func=cmd_history)

    session = sub.add_parser("session", help="export, verify or show one clearing")
    session_sub = session.add_subparsers(dest="session_command", metavar="ACTION", required=True)
    exp = session_sub.add_parser(
        "export", parents=[db], help="write the evidence bundle (documents, PDF, manifest, audit)"
    )
    exp.add_argument("session_id", type=int, metavar="ID")
    exp.add_argument("directory", metavar="DIR", help="a new or empty folder")
    exp.set_defaults(func=cmd_session_export)
    ver = session_sub.add_parser(
        "verify", parents=[db], help="recompute the evidence digest; check a report PDF"
    )
    ver.add_argument("session_id", type=int, metavar="ID")
    ver.add_argument("--pdf", metavar="REPORT.pdf", help="check this file against the stored report")
    ver.set_defaults(func=cmd_session_verify)
    ab = session_sub.add_parser(
        "abandon",
        parents=[db],
        help="abandon an unsigned clearing left open (e.g. on a PC that broke down); frees the ATM",
    )
    ab.add_argument("session_id", type=int, metavar="ID")
    ab.add_argument("--reason", required=True, help="why, for the record")
    ab.add_argument(
        "--by",
        required=True,
        metavar="USER",
        help="a supervisor or administrator (or one of the session's custodians), "
        "who signs in with their password",
    )
    ab.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from the first line of standard input (scripts)",
    )
    ab.set_defaults(func=cmd_session_abandon)
    show = session_sub.add_parser("show", parents=[db], help="steps, documents and remarks")
    show.add_argument("session_id", type=int, metavar="ID")
    show.set_defaults(func=cmd_session_show)

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


# -- plumbing ----------------------------------------------------------------------------------


def _with_store(args, body, *, create: bool = False) -> int:
    """Open the store, run ``body(store)``, translate the store's errors into exit statuses.

    Only a command that adds something (``create``) may start a new database: ``audit verify``
    on a mistyped path must not answer "verified, 0 entries" from a file it just created.
    """
    from custodian_app.store import StoreError, open_store
    from custodian_app.store.database import describe, has_store, resolve_url

    try:
        url = resolve_url(args.db)
        if not create and not has_store(url):
            return fail(
                f"there is no custodian-app database at {describe(url)}; check --db, "
                "CUSTODIAN_DB or the settings"
            )
        store = open_store(url)
    except StoreError as exc:
        return fail(str(exc))
    try:
        return body(store)
    except StoreError as exc:  # NotFound included
        return fail(str(exc))
    finally:
        store.close()


def _cli_actor() -> str:
    """Who runs a command-line change: the operating-system account, marked as such."""
    import getpass

    try:
        name = getpass.getuser()
    except Exception:  # no login name (a service account without one)
        name = "unknown"
    return f"cli:{name}"[:64]


def _utc(at) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "-"


def _table(rows: list[list[str]], header: list[str]) -> None:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=False)).rstrip())


# -- users -------------------------------------------------------------------------------------


def _stdin_password() -> str:
    """The first line of standard input without its line break (``--password-stdin``)."""
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def _read_password(args) -> str | None:
    import getpass

    if args.password_stdin:
        return _stdin_password()
    try:
        first = getpass.getpass(f"Password for {args.username}: ")
        second = getpass.getpass("Again: ")
    except EOFError:
        return None
    if first != second:
        fail("the two passwords differ; nothing was changed")
        return None
    return first


def cmd_users_add(args) -> int:
    password = _read_password(args)
    if not password:
        return fail("no password given; nothing was changed")

    def body(store) -> int:
        user = store.add_user(args.username, password, args.role, full_name=args.name, actor=_cli_actor())
        print(f"added {user.username} ({user.role}{', ' + user.full_name if user.full_name else ''})")
        return EXIT_OK

    return _with_store(args, body, create=True)


def cmd_users_list(args) -> int:
    def body(store) -> int:
        rows = []
        for u in store.list_users():
            status = (
                "disabled"
                if u.disabled
                else (f"locked until {_utc(u.locked_until)}" if u.locked_until else "active")
            )
            rows.append([u.username, u.role, u.full_name or "-", status, _utc(u.last_sign_in_at)])
        if not rows:
            print("no users yet; add one with: custodian-app users add NAME --role administrator")
            return EXIT_OK
        _table(rows, ["USER", "ROLE", "NAME", "STATUS", "LAST SIGN-IN"])
        return EXIT_OK

    return _with_store(args, body)


def cmd_users_set_password(args) -> int:
    import getpass

    who = args.by or args.username
    if args.password_stdin:
        credential = _stdin_password()
    else:
        try:
            credential = getpass.getpass(
                f"Current password of {who}: " if not args.by else f"Password of {who}: "
            )
        except EOFError:
            credential = ""
    if not credential:
        return fail("no current password given; nothing was changed")
    password = _read_password(args)
    if not password:
        return fail("no password given; nothing was changed")

    def body(store) -> int:
        actor = store.authenticate(who, credential)  # audited as this person
        store.set_password(args.username, password, actor=actor)
        print(f"new password set for {args.username}")
        return EXIT_OK

    return _with_store(args, body)


def cmd_users_disable(args) -> int:
    def body(store) -> int:
        store.disable_user(args.username, actor=_cli_actor())
        print(f"disabled {args.username}")
        return EXIT_OK

    return _with_store(args, body)


# -- history and sessions ----------------------------------------------------------------------


def _outcome(s) -> str:
    from custodian_app.domain.money import format_amount

    if s.balanced is None:
        return "-"
    if s.balanced:
        return "balanced"
    diff = "" if s.cash_difference is None else f", difference {format_amount(s.cash_difference)}"
    return f"{s.mismatch_count} mismatch(es){diff}"


def cmd_history(args) -> int:
    def body(store) -> int:
        sessions = store.history(terminal_id=args.terminal, limit=args.limit)
        if not sessions:
            print("no clearings" + (f" of {args.terminal}" if args.terminal else ""))
            return EXIT_OK
        _table(
            [
                [
                    str(s.id),
                    s.terminal_id,
                    s.cycle_id or "-",
                    s.state,
                    _utc(s.opened_at),
                    "+".join(s.custodians),
                    s.supervisor or "-",
                    s.host,
                    _outcome(s),
                ]
                for s in sessions
            ],
            ["ID", "TERMINAL", "CYCLE", "STATE", "OPENED", "CUSTODIANS", "SUPERVISOR", "PC", "RESULT"],
        )
        return EXIT_OK

    return _with_store(args, body)


def cmd_session_export(args) -> int:
    def body(store) -> int:
        manifest = store.export_session(args.session_id, args.directory, actor=_cli_actor())
        print(f"exported session {args.session_id} to {manifest.parent} (manifest: {manifest.name})")
        return EXIT_OK

    return _with_store(args, body)


def cmd_session_verify(args) -> int:
    pdf = None
    if args.pdf:
        from pathlib import Path

        try:
            pdf = Path(args.pdf).read_bytes()
        except OSError as exc:
            return fail(f"cannot read {args.pdf}: {exc.strerror or exc}")

    def body(store) -> int:
        check = store.verify_session(args.session_id, pdf=pdf)
        for problem in check.problems:
            print(f"FAILED: {problem}")
        if check.ok:
            print(f"session {args.session_id}: evidence verified, digest {check.recorded_digest}")
            if pdf is not None:
                print(
                    f"{args.pdf} is report version {check.pdf_version} of session "
                    f"{args.session_id}, unchanged"
                )
            return EXIT_OK
        return EXIT_FAILED

    return _with_store(args, body)


def cmd_session_abandon(args) -> int:
    import getpass

    if args.password_stdin:
        password = _stdin_password()
    else:
        try:
            password = getpass.getpass(f"Password for {args.by}: ")
        except EOFError:
            password = ""
    if not password:
        return fail("no password given; nothing was changed")

    def body(store) -> int:
        user = store.authenticate(args.by, password)
        info = store.abandon_session(args.session_id, args.reason, actor=user)
        print(
            f"session {info.id} of ATM {info.terminal_id} abandoned by {user.username}: {info.abandon_reason}"
        )
        return EXIT_OK

    return _with_store(args, body)


def cmd_session_show(args) -> int:
    def body(store) -> int:
        s = store.get_session(args.session_id)
        print(f"session {s.id}: ATM {s.terminal_id}, cycle {s.cycle_id or '-'}, step {s.state}")
        print(f"custodians {' and '.join(s.custodian_names)}; supervisor {s.supervisor or '-'}; PC {s.host}")
        print(f"opened {_utc(s.opened_at)}; ended {_utc(s.ended_at)}; result {_outcome(s)}")
        if s.count_skip_reason:
            print(f"count skipped: {s.count_skip_reason}")
        if s.abandon_reason:
            print(f"abandoned: {s.abandon_reason}")
        print(f"evidence digest: {s.evidence_digest or '-'}")
        print("steps:")
        for t in store.transitions(s.id):
            print(f"  {_utc(t.at)}  {t.from_state or '-'} -> {t.to_state}  by {t.actor} on {t.host}")
        print("documents:")
        for d in store.evidence(s.id, all_versions=True):
            print(f"  {d.kind} v{d.version}  {d.size} bytes  sha256 {d.sha256}")
        remarks = store.remarks(s.id)
        if remarks:
            print("remarks:")
            for r in remarks:
                print(f"  {r.category} {r.tsn or '-'}: {r.text} ({r.author}, {_utc(r.at)})")
        return EXIT_OK

    return _with_store(args, body)


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

    return _with_store(args, body)


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

    return _with_store(args, body)


def cmd_audit_show(args) -> int:
    def body(store) -> int:
        from custodian_app.store.audit import canonical_json

        entries = store.audit_entries(session_id=args.session, since_seq=args.since, limit=args.limit)
        for e in entries:
            print(canonical_json(e.to_dict()))
        return EXIT_OK if entries else EXIT_FAILED

    return _with_store(args, body)


# -- banknote trace ----------------------------------------------------------------------------


def _print_notes(notes, none_found: str) -> int:
    """The banknotes a trace found as a table (exit 0), or ``none_found`` (exit 1)."""
    from custodian_app.domain.money import format_amount

    if not notes:
        print(none_found)
        return EXIT_FAILED
    _table(
        [
            [
                n.serial,
                n.event,
                f"{format_amount(n.value)} {n.currency}",
                n.terminal_id,
                n.cycle_id,
                n.tsn or "-",
                _utc(n.tx_time),
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

    return _with_store(args, body)


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

    return _with_store(args, body)
