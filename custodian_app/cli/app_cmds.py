"""The application itself (no command), ``demo`` and the headless ``clear``."""

from __future__ import annotations

import dataclasses
import os
import sys

from custodian_app.cli.common import EXIT_USAGE
from custodian_app.demo import (
    DEMO_SEED,
    DEMO_TRANSACTIONS,
    Demo,
    demo_banner,
    seed_demo_users,
)


def register(sub) -> None:
    """Add this group's commands to the ``custodian-app`` parser."""
    p = sub.add_parser("app", help="open the application (the same as no command)")
    _app_options(p)
    p.set_defaults(func=run_app)

    p = sub.add_parser(
        "demo",
        help="open the application on a simulated ATM and backend with demo users",
        description="Opens the application on an embedded default: the ATM-side agent on a "
        "pseudo-terminal, serving a generated cycle from its journal and FSN files and "
        "an XFS4IoT service simulator, and a backend simulator on loopback serving the same cycle "
        "with a realistic mix of mismatches, and a fresh local database with the demo "
        "users alice/alice123 and bob/bob12345 (custodians) and carol/carol123 (supervisor).",
    )
    _app_options(p)
    p.add_argument(
        "--home",
        metavar="DIR",
        help="keep the demo's database and settings here "
        "(default: a fresh temporary folder, removed on exit)",
    )
    p.add_argument("--seed", type=int, default=DEMO_SEED, help="the generated cycle's seed")
    p.add_argument(
        "--transactions",
        type=int,
        default=DEMO_TRANSACTIONS,
        help="transactions in the generated cycle (default %(default)s)",
    )
    p.add_argument(
        "--faults",
        default="realistic",
        help='the mismatch mix: "realistic", "none" or a generator fault spec',
    )
    p.set_defaults(func=run_demo)

    p = sub.add_parser(
        "clear",
        help="clear an ATM without the window: read, fetch, reconcile, report",
        description="The wizard's flow without a window, for automation: read the ATM's ledger, "
        "fetch the backend's, reconcile, write the result and the report, and record the "
        "session in the database (marked as a clearing without the wizard). The ledger "
        "comes from the maintenance port (--port) or from the ATM's journal and FSN "
        "files (--journal --fsn --dialect). Exit status: "
        "0 balanced, 1 mismatches, 2 invalid input, 3 the ATM or the backend failed.",
    )
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--port", metavar="DEVICE", help="the ATM's maintenance port")
    source.add_argument(
        "--journal",
        nargs="+",
        metavar="FILE",
        help="or the ATM's electronic journal files, in order (a USB stick): "
        "the ledger is read from them as import-atm reads it",
    )
    p.add_argument(
        "--fsn", metavar="DIR", help="with --journal: the folder of the ATM's FSN (banknote serial) files"
    )
    p.add_argument(
        "--dialect",
        metavar="NAME",
        help="with --journal: the journal's layout (ncr, hyosung, grg or a bank's own; see docs/journals.md)",
    )
    p.add_argument(
        "--accept-gaps",
        action="store_true",
        help="with --journal: go on although some "
        "journal lines match no rule of the dialect; they are listed in the report",
    )
    p.add_argument("--baud", type=int, default=None, help="line speed (default: the settings')")
    p.add_argument("--url", required=True, help="the backend's base URL")
    p.add_argument(
        "--token",
        default=None,
        help="the backend's access token (default: CUSTODIAN_BACKEND_TOKEN or the settings')",
    )
    p.add_argument("--counts", metavar="COUNTS.json", help="what the custodians counted (counts/1)")
    p.add_argument("--out", required=True, metavar="RESULT.json", help="write the clearing-result/1 here")
    p.add_argument("--pdf", required=True, metavar="REPORT.pdf", help="write the clearing report here")
    p.add_argument("--custodians", required=True, metavar="A,B", help="the two custodians' user names")
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the two custodians' passwords from standard input, one line each "
        "(default: ask for them on the terminal)",
    )
    p.add_argument("--db", metavar="URL", help="the database (default: the settings' or the local one)")
    p.add_argument("--language", choices=("zh_CN", "en"), default=None, help="the report's language")
    p.set_defaults(func=run_clear)


def _app_options(p) -> None:
    p.add_argument(
        "--quit-after-show",
        action="store_true",
        default=bool(os.environ.get("CUSTODIAN_QUIT_AFTER_SHOW")),
        help="close as soon as the window has shown (smoke tests; also CUSTODIAN_QUIT_AFTER_SHOW=1)",
    )
    p.add_argument("--language", choices=("zh_CN", "en"), default=None, help="the window's language")


def _load_settings():
    from custodian_app.settings.config import load_settings

    return load_settings()


def run_app(args) -> int:
    from custodian_app.domain.errors import CustodianError

    try:
        settings = _load_settings()
    except CustodianError as exc:
        print(f"custodian-app: {exc}", file=sys.stderr)
        return EXIT_USAGE
    language = getattr(args, "language", None)
    if language:
        settings = dataclasses.replace(settings, language=language)
    from custodian_app.gui.app import make_application, run
    from custodian_app.gui.context import AppContext

    make_application(language=settings.language)
    ctx = AppContext(settings)
    quit_after_show = getattr(args, "quit_after_show", False) or bool(
        os.environ.get("CUSTODIAN_QUIT_AFTER_SHOW")
    )
    return run(ctx, quit_after_show=quit_after_show)


def run_demo(args) -> int:
    import shutil
    import signal
    import tempfile

    def stop(signum, _frame):  # before the window's loop takes over (gui.app.StopSignals)
        raise SystemExit(128 + signum)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    home = args.home
    temporary = None
    if not home:
        temporary = home = tempfile.mkdtemp(prefix="custodian-demo-")
    os.environ["CUSTODIAN_HOME"] = home
    os.environ.pop("CUSTODIAN_DB", None)
    demo = Demo(seed=args.seed, transactions=args.transactions, faults=args.faults)
    try:
        device, url = demo.start()
        seed_demo_users()
        settings = dataclasses.replace(
            _load_settings(),
            serial_port=device,
            backend_url=url,
            backend_token="",
            database_url="",
            bank_name="演示银行 Demo Bank",
            branch_name="南京分行 Nanjing Branch",
            language=args.language or "zh_CN",
        )
        from custodian_app.gui.app import make_application, run
        from custodian_app.gui.context import AppContext

        make_application(language=settings.language)
        print(f"custodian-app demo: ATM on {device}, backend at {url}, data in {home}", file=sys.stderr)
        print(demo_banner(), file=sys.stderr)
        ctx = AppContext(settings, banner=demo_banner(), save_settings=False)
        return run(
            ctx,
            quit_after_show=args.quit_after_show,
            on_shown=lambda: print(
                "custodian-app demo: the window is open; close it or press Ctrl-C to end the demo",
                file=sys.stderr,
                flush=True,
            ),
        )
    finally:
        demo.stop()
        if temporary:
            shutil.rmtree(temporary, ignore_errors=True)


def read_passwords(names: list[str], from_stdin: bool) -> list[str] | None:
    """The custodians' passwords: one line each on stdin, or asked on the terminal (never echoed,
    never an argument: the process list would show it)."""
    if from_stdin:
        lines = [sys.stdin.readline().rstrip("\r\n") for _ in names]
        return lines if all(lines) else None
    if not sys.stdin.isatty():
        return None
    import getpass

    return [getpass.getpass(f"password of {n}: ") for n in names]


def run_clear(args) -> int:
    from custodian_app.clearing import clear_headless
    from custodian_app.domain.errors import add_secret

    add_secret(args.token)  # before anything can print or log it (the client adds it again)
    names = [n.strip() for n in args.custodians.split(",")]
    if len(names) != 2 or not all(names):
        print("custodian-app clear: --custodians takes two user names: A,B", file=sys.stderr)
        return EXIT_USAGE
    if args.journal and not args.dialect:
        print(
            "custodian-app clear: --journal needs --dialect NAME (the journal's layout: ncr, "
            "hyosung, grg or a bank's own)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not args.journal and (args.fsn or args.dialect or args.accept_gaps):
        print("custodian-app clear: --fsn, --dialect and --accept-gaps go with --journal", file=sys.stderr)
        return EXIT_USAGE
    passwords = read_passwords(names, args.password_stdin)
    if passwords is None:
        print(
            "custodian-app clear: the two custodians sign in: give their passwords on standard "
            "input with --password-stdin, or run the command on a terminal",
            file=sys.stderr,
        )
        return EXIT_USAGE
    for password in passwords:  # a store or backend message never repeats one
        add_secret(password)
    return clear_headless(
        port=args.port,
        baud=args.baud,
        url=args.url,
        token=args.token,
        counts_path=args.counts,
        out=args.out,
        pdf=args.pdf,
        custodians=names,
        passwords=passwords,
        journals=args.journal,
        fsn_dir=args.fsn,
        dialect=args.dialect,
        accept_gaps=args.accept_gaps,
        db_url=args.db,
        language=args.language,
        log=lambda m: print(m, file=sys.stderr),
    )
