"""``custodian-app import-atm`` (an ATM's journal and FSN files -> atm-ledger/1) and
``custodian-app write-journal`` (a ledger -> journal and FSN files, for demos and tests).
See custodian_app.cli.main for the exit statuses."""

from __future__ import annotations

import argparse

from custodian_app.cli.common import EXIT_OK, cannot_write, fail

_GAPS_SHOWN = 20


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    p = sub.add_parser(
        "import-atm",
        help="read an ATM's electronic journal and FSN files into an ATM ledger (exit 0, 2 invalid input)",
        description="Read the ATM's electronic journal (in the named dialect) and its FSN banknote "
        "files into an atm-ledger/1 document. A journal line no rule of the dialect "
        "describes fails the read, naming file and line, unless --accept-gaps.",
    )
    p.add_argument("--journal", required=True, nargs="+", metavar="FILE", help="journal files, in order")
    p.add_argument("--fsn", metavar="DIR", help="the folder holding the FSN files")
    p.add_argument(
        "--dialect",
        required=True,
        metavar="NAME",
        help="the journal's dialect: ncr, hyosung, grg, a bank's own in the settings "
        "folder's dialects/, or the path of a dialect file",
    )
    p.add_argument(
        "--accept-gaps",
        action="store_true",
        help="read on past lines the dialect does not describe; they are listed",
    )
    p.add_argument("--terminal-id", help="the terminal, when the journal does not name it")
    p.add_argument("--cycle-id", help="the cycle (default: TERMINAL-YYYYMMDD of the first counter print)")
    p.add_argument("--out", required=True, metavar="ATM.json", help="where to write the atm-ledger/1")
    p.set_defaults(func=run_import)

    w = sub.add_parser(
        "write-journal",
        help="write an ATM ledger as the ATM would have recorded it: a journal and FSN files",
        description="Print an atm-ledger/1 (e.g. from `generate`) as a journal in a dialect and "
        "as FSN files, into DIR/journal.txt and DIR/fsn/.",
    )
    w.add_argument("--atm", required=True, metavar="ATM.json")
    w.add_argument("--dialect", required=True, metavar="NAME")
    w.add_argument("--fsn-variant", choices=["classic", "2018"], default="classic")
    w.add_argument("--fsn-images", action="store_true", help="records with a (blank) serial image")
    w.add_argument("--out", required=True, metavar="DIR")
    w.set_defaults(func=run_write)


def run_import(args: argparse.Namespace) -> int:
    from custodian_app.domain import formats
    from custodian_app.journal import JournalError, JournalGapsError, read_journals
    from custodian_app.settings.config import SettingsError, load_settings
    from custodian_app.support import files

    try:
        success = load_settings().success_code_set()
    except SettingsError as exc:
        return fail(str(exc), command="import-atm")
    try:
        read = read_journals(
            args.journal,
            args.fsn,
            args.dialect,
            accept_gaps=args.accept_gaps,
            success_codes=success,
            terminal_id=args.terminal_id,
            cycle_id=args.cycle_id,
        )
        formats.parse_atm_ledger(read.ledger, args.out)  # what we write must pass our own reader
    except JournalGapsError as exc:
        for g in exc.gaps[:_GAPS_SHOWN]:
            fail(str(g), command="import-atm")
        return fail(f"invalid input, nothing written: {exc}", command="import-atm")
    except (JournalError, formats.FormatError) as exc:
        return fail(f"invalid input, nothing written: {exc}", command="import-atm")
    try:
        files.write_atomic(args.out, formats.dumps(read.ledger, indent=True))
    except OSError as exc:
        return fail(cannot_write(args.out, exc), command="import-atm")
    led = read.ledger
    print(
        f"wrote {args.out}: {len(led['transactions'])} transactions, {len(led.get('notes', ()))} notes "
        f"({read.notes_without_tsn} without a TSN: {read.untied_notes} fit no transaction, "
        f"{read.ambiguous_notes} fit several), {len(led.get('retained_cards', ()))} retained cards, "
        f"dialect {read.dialect}"
    )
    if read.gaps:
        print(f"{len(read.gaps)} journal line(s) accepted as gaps (not read):")
        for g in read.gaps:
            print(f"  {g}")
    return EXIT_OK


def run_write(args: argparse.Namespace) -> int:
    import json

    from custodian_app.domain import formats
    from custodian_app.journal import JournalError
    from custodian_app.journal.writer import CannotWrite, write_cycle
    from custodian_app.support import files

    try:
        raw = files.read_bytes(args.atm)
        formats.parse_atm_ledger(raw, args.atm)
        ledger = json.loads(raw)
        jpath, fsn_dir = write_cycle(
            ledger, args.dialect, args.out, variant=args.fsn_variant, with_image=args.fsn_images
        )
    except (formats.FormatError, JournalError, CannotWrite) as exc:
        return fail(f"invalid input: {exc}", command="write-journal")
    except OSError as exc:
        return fail(f"cannot write into {args.out}: {exc.strerror or exc}", command="write-journal")
    print(f"wrote {jpath} and the FSN files in {fsn_dir}")
    return EXIT_OK
