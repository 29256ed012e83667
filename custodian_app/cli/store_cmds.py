"""Commands on the clearing-session store; see custodian_app.cli.main.

users add|list|set-password|disable, history, session export|verify|show|abandon (the audit
log and the banknote traces are in audit_cmds). Every one takes ``--db URL`` (else
``CUSTODIAN_DB``, the settings, the default SQLite file). Exit status: 0 ok, 1 verification
failed or nothing found, 2 usage or invalid input (including a database that cannot be opened).
"""

from __future__ import annotations

import sys

from custodian_app.cli.common import EXIT_MISMATCH as EXIT_FAILED
from custodian_app.cli.common import EXIT_OK, fail
from custodian_app.cli.store_common import cli_actor, db_option, table, utc, with_store


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    from custodian_app.store import ROLES  # the package module only: no SQLAlchemy yet

    db = db_option()

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
        user = store.add_user(args.username, password, args.role, full_name=args.name, actor=cli_actor())
        print(f"added {user.username} ({user.role}{', ' + user.full_name if user.full_name else ''})")
        return EXIT_OK

    return with_store(args, body, create=True)


def cmd_users_list(args) -> int:
    def body(store) -> int:
        rows = []
        for u in store.list_users():
            status = (
                "disabled"
                if u.disabled
                else (f"locked until {utc(u.locked_until)}" if u.locked_until else "active")
            )
            rows.append([u.username, u.role, u.full_name or "-", status, utc(u.last_sign_in_at)])
        if not rows:
            print("no users yet; add one with: custodian-app users add NAME --role administrator")
            return EXIT_OK
        table(rows, ["USER", "ROLE", "NAME", "STATUS", "LAST SIGN-IN"])
        return EXIT_OK

    return with_store(args, body)


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

    return with_store(args, body)


def cmd_users_disable(args) -> int:
    def body(store) -> int:
        store.disable_user(args.username, actor=cli_actor())
        print(f"disabled {args.username}")
        return EXIT_OK

    return with_store(args, body)


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
        table(
            [
                [
                    str(s.id),
                    s.terminal_id,
                    s.cycle_id or "-",
                    s.state,
                    utc(s.opened_at),
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

    return with_store(args, body)


def cmd_session_export(args) -> int:
    def body(store) -> int:
        manifest = store.export_session(args.session_id, args.directory, actor=cli_actor())
        print(f"exported session {args.session_id} to {manifest.parent} (manifest: {manifest.name})")
        return EXIT_OK

    return with_store(args, body)


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

    return with_store(args, body)


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

    return with_store(args, body)


def cmd_session_show(args) -> int:
    def body(store) -> int:
        s = store.get_session(args.session_id)
        print(f"session {s.id}: ATM {s.terminal_id}, cycle {s.cycle_id or '-'}, step {s.state}")
        print(f"custodians {' and '.join(s.custodian_names)}; supervisor {s.supervisor or '-'}; PC {s.host}")
        print(f"opened {utc(s.opened_at)}; ended {utc(s.ended_at)}; result {_outcome(s)}")
        if s.count_skip_reason:
            print(f"count skipped: {s.count_skip_reason}")
        if s.abandon_reason:
            print(f"abandoned: {s.abandon_reason}")
        print(f"evidence digest: {s.evidence_digest or '-'}")
        print("steps:")
        for t in store.transitions(s.id):
            print(f"  {utc(t.at)}  {t.from_state or '-'} -> {t.to_state}  by {t.actor} on {t.host}")
        print("documents:")
        for d in store.evidence(s.id, all_versions=True):
            print(f"  {d.kind} v{d.version}  {d.size} bytes  sha256 {d.sha256}")
        remarks = store.remarks(s.id)
        if remarks:
            print("remarks:")
            for r in remarks:
                print(f"  {r.category} {r.tsn or '-'}: {r.text} ({r.author}, {utc(r.at)})")
        return EXIT_OK

    return with_store(args, body)
