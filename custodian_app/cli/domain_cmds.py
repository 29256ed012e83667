"""``custodian-app reconcile`` and ``custodian-app generate``: the engine and the scenario
generator on files. See custodian_app.cli.main for the exit statuses."""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from contextlib import contextmanager

from custodian_app.cli.common import EXIT_MISMATCH, EXIT_OK, cannot_write, fail


def register(sub) -> None:
    """Add this group's commands to the custodian-app parser."""
    p = sub.add_parser(
        "reconcile",
        help="reconcile an ATM ledger with the backend's ledger (exit 0 balanced, 1 mismatches, 2 invalid input)",
        description="Reconcile one clearing cycle: totals first, then details, the ATM side as the "
        "reference. Writes a clearing-result/1 document; prints a short summary.",
    )
    p.add_argument("--atm", required=True, metavar="ATM.json", help="the ATM's ledger (atm-ledger/1)")
    p.add_argument("--host", required=True, metavar="HOST.json", help="the backend's ledger (host-ledger/1)")
    p.add_argument("--counts", metavar="COUNTS.json", help="what the custodians counted (counts/1)")
    p.add_argument("--out", required=True, metavar="RESULT.json", help="where to write the clearing-result/1")
    p.add_argument(
        "--success-codes",
        metavar="CODES",
        help="comma-separated response codes meaning 'booked' (default: the settings' "
        "reconciliation.success_codes, 00 unless IT set others)",
    )
    p.add_argument("--quiet", action="store_true", help="no summary on standard output")
    r = p.add_argument_group("report", "the PDF clearing report (written after the result)")
    r.add_argument(
        "--pdf", metavar="REPORT.pdf", help="also write the clearing report for the supervisor to sign"
    )
    r.add_argument(
        "--custodians",
        metavar="A,B",
        help="the two custodians (default: the first two in the counts' counted_by)",
    )
    r.add_argument("--bank", help="bank name on the report (default: settings bank.name)")
    r.add_argument("--branch", help="branch name on the report (default: settings bank.branch)")
    r.add_argument("--language", choices=["both", "zh", "en"], default="both")
    p.set_defaults(func=run_reconcile)

    g = sub.add_parser(
        "generate",
        help="write a consistent, seeded clearing scenario (ATM ledger, backend ledger, counts)",
        description="Generate one realistic clearing cycle with the chosen faults injected. "
        "Writes atm.json, host.json, counts.json and expected.json into DIR.",
    )
    g.add_argument("--seed", type=int, default=1)
    g.add_argument("--transactions", type=int, default=500, metavar="N")
    g.add_argument(
        "--faults",
        default="none",
        metavar="SPEC",
        help='categories or cases, e.g. "RETRACTED=2,HOST_ONLY=1,PARTIAL_REVERSAL=1,TSN_LOST=1", '
        "or a mix: none, all, realistic",
    )
    g.add_argument("--out", required=True, metavar="DIR")
    g.add_argument("--no-notes", action="store_true", help="leave out the banknote serial trail")
    g.add_argument("--terminal-id", default="NJ-0001")
    g.add_argument("--cycle-id", default=None)
    g.set_defaults(func=run_generate)


def _print(text: str) -> None:
    """Print, even to a console or file whose encoding has no Chinese (replaced, not a crash)."""
    try:
        print(text)
    except UnicodeEncodeError:
        encoding = sys.stdout.encoding or "ascii"
        print(text.encode(encoding, "replace").decode(encoding))


def run_reconcile(args: argparse.Namespace) -> int:
    from custodian_app.domain import formats
    from custodian_app.domain.catalogue import CatalogueError
    from custodian_app.domain.reconcile import reconcile
    from custodian_app.support import files
    from custodian_app.support.catalogue import load_catalogue

    try:
        catalogue = load_catalogue()
    except CatalogueError as exc:
        return fail(str(exc), command="reconcile")
    if args.success_codes is not None:
        success = frozenset(c.strip() for c in args.success_codes.split(",") if c.strip())
        if not success:
            return fail("--success-codes needs at least one code, e.g. 00", command="reconcile")
    else:
        # The bank's own list, as IT rolled it out; the same one the wizard and `clear` use.
        from custodian_app.settings.config import SettingsError, load_settings

        try:
            success = load_settings().success_code_set()
        except SettingsError as exc:
            return fail(str(exc), command="reconcile")

    evidence: dict[str, bytes | None] = {}
    try:
        if args.pdf:
            # The report prints the fingerprint of the documents as received, and walks
            # the records: plain bytes and plain lists.
            evidence["atm"] = files.read_bytes(args.atm)
            atm = formats.parse_atm_ledger(evidence["atm"], args.atm)
            evidence["host"] = files.read_bytes(args.host)
            host = formats.parse_host_ledger(evidence["host"], args.host)
        else:  # the usual case: mapped files, no object per banknote
            with _mapped(args.atm) as raw:
                atm = formats.parse_atm_ledger(raw, args.atm)
            with _mapped(args.host) as raw:
                host = formats.parse_host_ledger(raw, args.host)
        counts = None
        evidence["counts"] = None
        if args.counts:
            raw = files.read_bytes(args.counts)
            counts = formats.parse_counts(raw, args.counts)
            evidence["counts"] = raw
        result = reconcile(atm, host, counts, success_codes=success, catalogue=catalogue)
    except formats.FormatError as exc:
        return fail(f"invalid input, nothing written: {exc}", command="reconcile")

    data = formats.dumps(formats.result_to_dict(result), indent=True)
    try:
        files.write_atomic(args.out, data)
    except OSError as exc:
        return fail(cannot_write(args.out, exc), command="reconcile")
    if not args.quiet:
        _print(summary(result, catalogue, args.out))
    if args.pdf:
        status = _write_pdf(args, result, atm, host, counts, evidence, data)
        if status:
            return status
    return EXIT_OK if result.balanced else EXIT_MISMATCH


@contextmanager
def _mapped(path: str):
    """The file's bytes memory-mapped (a ledger can be a gigabyte: no copy on the heap), or
    read when it cannot be mapped (empty, a pipe)."""
    import mmap

    from custodian_app.domain.formats import FormatError
    from custodian_app.support import files

    fh = files.open_regular(path)  # a FIFO, a device or a folder: FormatError, no wait
    with fh:
        try:
            mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except (ValueError, OSError):
            try:
                data = fh.read()
            except OSError as exc:
                raise FormatError(path, "$", f"cannot read the file: {exc.strerror or exc}") from None
            yield data
            return
        with mapped:
            yield mapped


def _write_pdf(args, result, atm, host, counts, evidence: dict, result_bytes: bytes) -> int:
    """The clearing report from the command line (headless: no wizard, no sign-in)."""
    import getpass
    from datetime import datetime

    from custodian_app.domain.evidence import evidence_digest
    from custodian_app.report import ReportError, ReportMeta, default_report_no, report_for
    from custodian_app.settings.config import SettingsError, load_settings

    if args.custodians:
        custodians = [c.strip() for c in args.custodians.split(",") if c.strip()]
    else:
        custodians = list(counts.counted_by[:2]) if counts is not None else []
    bank, branch = args.bank, args.branch
    if not (bank and branch):
        try:
            settings = load_settings()
        except SettingsError as exc:
            return fail(f"{args.out} written; no report: {exc}", command="reconcile")
        bank, branch = bank or settings.bank_name, branch or settings.branch_name
    printed_at = datetime.now().astimezone()
    try:
        meta = ReportMeta(
            bank=bank or "",
            branch=branch or "",
            report_no=default_report_no(result.cycle_id, printed_at),
            printed_at=printed_at,
            printed_by=getpass.getuser(),
            custodians=custodians,
            evidence_sha256=evidence_digest(
                evidence["atm"], evidence["host"], evidence["counts"], result_bytes
            ),
            headless=True,
            language=args.language,
        )
        report_for(result, atm, host, counts, meta, path=args.pdf)
    except ReportError as exc:
        return fail(
            f"{args.out} written; no report: {exc} (use --bank, --branch and --custodians A,B)",
            command="reconcile",
        )
    if not args.quiet:
        print(f"Report: {args.pdf}")
    return EXIT_OK


def summary(result, catalogue, out_path: str | None = None) -> str:
    """A few lines for a person: totals check, cash position (长款/短款), mismatches by category."""
    from custodian_app.domain.money import format_grouped

    lines = [
        f"Clearing {result.terminal_id} cycle {result.cycle_id} ({result.currency})",
        "Totals (ATM / backend):",
    ]
    for t in result.totals:
        show = format_grouped if t.is_amount else str
        lines.append(
            f"  {t.item:<20} {show(t.atm):>16} {show(t.host):>16}  {'equal' if t.equal else 'DIFFERENT'}"
        )
    cp = result.cash_position
    d = cp.difference
    word = "balanced" if d == 0 else ("长款 overage" if d > 0 else "短款 shortage")
    lines.append(
        f"Cash position: ATM expects {format_grouped(cp.atm_expected)}, backend expects "
        f"{format_grouped(cp.host_expected)}; difference {format_grouped(d, plus=True)} ({word})"
    )
    if cp.counted is not None:
        lines.append(
            f"  counted {format_grouped(cp.counted)}: vs ATM {format_grouped(cp.counted_vs_atm, plus=True)}, "
            f"vs backend {format_grouped(cp.counted_vs_host, plus=True)}"
        )
    by_cat = Counter(m.category for m in result.mismatches)
    effect: Counter = Counter()
    for m in result.mismatches:
        effect[m.category] += m.cash_effect
    lines.append(f"Mismatches: {len(result.mismatches)}")
    for category, n in sorted(by_cat.items()):
        name = catalogue.category_name(category, "zh")
        lines.append(
            f"  {category:<24} {n:>6}  cash effect {format_grouped(effect[category], plus=True):>14}  {name}"
        )
    verdict = "BALANCED" if result.balanced else "NOT BALANCED"
    lines.append(f"Result: {verdict}" + (f" -> {out_path}" if out_path else ""))
    return "\n".join(lines)


def run_generate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from custodian_app.domain.generator import FaultSpecError, build_documents
    from custodian_app.support import files

    if args.transactions < 0:
        return fail("--transactions must be >= 0", command="generate")
    try:
        docs = build_documents(
            args.seed,
            args.transactions,
            args.faults,
            notes=not args.no_notes,
            terminal_id=args.terminal_id,
            cycle_id=args.cycle_id,
        )
    except FaultSpecError as exc:
        return fail(str(exc), command="generate")
    out = Path(args.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        files.write_atomic(out / "atm.json", docs.atm)
        files.write_atomic(out / "host.json", docs.host)
        files.write_atomic(out / "counts.json", docs.counts)
        files.write_document(
            out / "expected.json",
            {
                "seed": args.seed,
                "transactions": args.transactions,
                "faults": args.faults,
                "notes": not args.no_notes,
                "expected": dict(sorted(docs.expected.items())),
                "retained_cards": docs.retained_cards,
            },
        )
    except OSError as exc:
        return fail(f"cannot write into {out}: {exc.strerror or exc}", command="generate")
    print(
        f"wrote {out}/atm.json, host.json, counts.json, expected.json "
        f"({args.transactions} transactions, faults: {dict(docs.expected) or 'none'})"
    )
    return EXIT_OK
