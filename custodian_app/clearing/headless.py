"""The headless clearing, ``custodian-app clear``: the wizard's flow without a window."""

from __future__ import annotations

from custodian_app.clearing.recorder import SessionRecorder, authenticate, open_store, snapshot
from custodian_app.clearing.steps import (
    Evidence,
    fetch_host_ledger,
    format_amount_signed,
    reconcile_flow,
    report_meta,
)
from custodian_app.domain import formats
from custodian_app.domain.errors import CustodianError

EXIT_OK, EXIT_MISMATCH, EXIT_USAGE, EXIT_LINK = 0, 1, 2, 3
HEADLESS_SKIP_REASON = "no count given to the headless clear command (custodian-app clear)"
# The steps a headless clear goes through before it writes anything: a clear that stopped at
# one of them (the ATM or the backend did not answer: exit 3) is taken up again by the same
# custodians' next clear of that ATM.
_HEADLESS_STEPS = ("signed_in", "atm_read", "counted", "backend_fetched")
_AUDITED_GAPS = 1000  # accepted journal gaps named one by one in the audit entry (all are counted)


def _resume_left_open(store, recorder: SessionRecorder, terminal_id: str, log) -> None:
    names = {u.username for u in recorder.users}
    for info in store.resumable_sessions(terminal_id=terminal_id):
        if set(info.custodians) == names and info.state in _HEADLESS_STEPS:
            store.resume_session(info.id, *recorder.users)
            recorder.session_id = info.id
            log(
                f"taking up session {info.id} of {terminal_id}, left open at step {info.state} "
                "by an earlier clear"
            )
            return


def _left_open(recorder: SessionRecorder, custodians: list[str]) -> str:
    """What a clear that stops with exit 3 says about the session it leaves open."""
    if recorder.session_id is None:
        return ""
    return (
        f"; the clearing stays open as session {recorder.session_id}: run the same clear "
        f"again when the line is back (the same custodians take it up), or abandon it with "
        f"'custodian-app session abandon {recorder.session_id} --reason TEXT --by "
        f"{custodians[0]}'"
    )


def _read_journal_files(
    journals: list[str], fsn_dir: str | None, dialect: str, accept_gaps: bool, settings, log
):
    """The ATM's ledger from its journal and FSN files (a USB stick), read as ``import-atm``
    reads them and then by the formats' reader, as a ledger from the maintenance port is.
    Returns (ledger, gaps); raises JournalError or FormatError (nothing is kept then)."""
    from custodian_app.clearing.steps import success_codes
    from custodian_app.journal import JournalGapsError, read_journals

    log(
        f"reading the journal {', '.join(journals)} (dialect {dialect})"
        + (f" and the FSN files of {fsn_dir}" if fsn_dir else "")
        + "…"
    )
    try:
        read = read_journals(
            journals, fsn_dir, dialect, accept_gaps=accept_gaps, success_codes=success_codes(settings)
        )
    except JournalGapsError as exc:
        for gap in exc.gaps[:10]:
            log(f"  {gap}")
        raise
    ledger = formats.parse_atm_ledger(formats.dumps(read.ledger), journals[-1])
    for gap in read.gaps:
        log(f"journal line accepted as a gap (not read): {gap}")
    return ledger, list(read.gaps)


def _read_over_the_port(flow, store, recorder: SessionRecorder, port: str, baud: int, log) -> None:
    from custodian_app.link.client import AtmClient

    with AtmClient(port, baud=baud) as client:
        status = client.connect()
        flow.record_atm_status(status.terminal_id, status.cycle_id, status.cycle_state)
        _resume_left_open(store, recorder, status.terminal_id, log)
        recorder.sync(store, snapshot(flow))
        flow.advance()
        for source in status.troubled_sources:  # a source the ATM agent has lost
            log(f"the ATM agent reports: {source.english or source.name + ' ' + source.state}")
        log(f"reading the ledger of {status.terminal_id} cycle {status.cycle_id} on {port}…")
        flow.record_atm_ledger(client.read_ledger())


def clear_headless(
    *,
    port: str | None = None,
    url: str,
    out: str,
    pdf: str,
    custodians: list[str],
    passwords: list[str],
    baud: int | None = None,
    token: str | None = None,
    counts_path: str | None = None,
    db_url: str | None = None,
    language: str | None = None,
    settings=None,
    log=print,
    store_options: dict | None = None,
    journals: list[str] | None = None,
    fsn_dir: str | None = None,
    dialect: str | None = None,
    accept_gaps: bool = False,
) -> int:
    """The wizard's flow without a window; returns the exit status (see ``clear --help``).

    The ATM's ledger comes from the maintenance ``port``, or from the ATM's ``journals`` (and
    the FSN files in ``fsn_dir``) in the ``dialect`` named; journal lines no rule describes
    stop the clearing unless ``accept_gaps``, and are then listed in the report.

    Nothing is written to ``out`` or ``pdf`` unless the whole clearing succeeded. The session
    is kept in the store like the wizard's, marked in the audit log and on the report as a
    clearing without the wizard. It stays open at "reconciled" (the store allows no shortcut
    past the review and the supervisor's signature), so the custodians resume it in the
    application for the sign-off and the next cycle.
    """
    import os

    from custodian_app.domain.flow import ClearingFlow, FlowError
    from custodian_app.support import files

    if settings is None:
        from custodian_app.settings.config import load_settings

        try:
            settings = load_settings()
        except CustodianError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
    token = (
        token
        if token is not None
        else (os.environ.get("CUSTODIAN_BACKEND_TOKEN") or settings.backend_token or None)
    )
    baud = baud or settings.serial_baud
    language = language or settings.language or "zh_CN"
    flow = ClearingFlow(headless=True)

    counts = None
    if counts_path:
        try:
            counts = files.read_counts(counts_path)
        except CustodianError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE

    # dual custody holds without the window too: both custodians sign in with their passwords
    try:
        store = open_store(db_url or settings.database_url or None, **(store_options or {}))
    except CustodianError as exc:
        log(f"custodian-app clear: {exc}")
        return EXIT_USAGE
    try:
        try:
            flow.record_sign_in(*custodians)
            users = [
                authenticate(store, n, p, role="custodian")
                for n, p in zip(custodians, passwords, strict=False)
            ]
        except (CustodianError, FlowError) as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        flow.advance()
        recorder = SessionRecorder(users=users)
        gaps: list = []

        from custodian_app.journal import JournalError

        try:
            if journals:
                ledger, gaps = _read_journal_files(
                    journals, fsn_dir, dialect or "", accept_gaps, settings, log
                )
                flow.record_atm_status(ledger.terminal_id, ledger.cycle_id)
                _resume_left_open(store, recorder, ledger.terminal_id, log)
                recorder.sync(store, snapshot(flow))
                flow.advance()
                flow.record_atm_ledger(ledger)
            elif port:
                _read_over_the_port(flow, store, recorder, port, baud, log)
            else:
                raise FlowError("give the ATM's maintenance port or its journal files")
        except (JournalError, formats.FormatError) as exc:
            log(f"custodian-app clear: invalid input, nothing kept: {exc}")
            return EXIT_USAGE
        except FlowError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        except CustodianError as exc:
            if type(exc).__module__.startswith("custodian_app.store"):
                log(f"custodian-app clear: {exc}")
                return EXIT_USAGE
            log(f"custodian-app clear: the ATM on {port}: {exc}{_left_open(recorder, custodians)}")
            return EXIT_LINK
        if journals and recorder.session_id is not None:  # where the ledger came from, audited
            store.log(
                "atm_journal_read",
                actor=custodians[0],
                session_id=recorder.session_id,
                terminal_id=ledger.terminal_id,
                detail={
                    "journals": [os.path.basename(j) for j in journals],
                    "dialect": dialect,
                    "gaps": len(gaps),
                    # what the report lists, covered by the chain too
                    "gap_lines": [f"{os.path.basename(g.file)}:{g.line}" for g in gaps[:_AUDITED_GAPS]],
                },
            )
        recorder.sync(store, snapshot(flow))
        flow.advance()
        try:
            if counts is not None:
                formats.check_same_clearing(flow.atm, counts)
                flow.record_counts(dict(counts.units))
            else:
                flow.skip_counts(HEADLESS_SKIP_REASON)
        except (CustodianError, FlowError) as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        recorder.sync(store, snapshot(flow))
        flow.advance()
        try:
            log(f"fetching the backend's ledger from {url}…")
            host = fetch_host_ledger(
                url,
                token,
                flow.atm.terminal_id,
                flow.atm.cycle_id,
                ca_bundle=settings.backend_ca_bundle or None,
                timeout=settings.backend_timeout,
            )
        except CustodianError as exc:
            log(f"custodian-app clear: the backend at {url}: {exc}{_left_open(recorder, custodians)}")
            return EXIT_LINK
        try:
            flow.record_host_ledger(host)
        except FlowError as exc:
            log(f"custodian-app clear: {exc}")
            return EXIT_USAGE
        recorder.sync(store, snapshot(flow))
        flow.advance()
        flow.record_result(reconcile_flow(flow, settings))
        recorder.sync(store, snapshot(flow))
        evidence = Evidence(flow, atm_bytes=recorder.atm_bytes(flow.atm))
        from custodian_app.report import build_report

        # gaps accepted knowingly: the supervisor sees which lines were not read
        flow.journal_gaps = tuple((g.file, g.line) for g in gaps)
        meta = report_meta(
            flow,
            settings=settings,
            session_id=recorder.session_id,
            language=language,
            evidence=evidence,
            printed_by=custodians[0],
        )
        report = build_report(
            flow.result,
            flow.atm,
            meta=meta,
            host=flow.host,
            counts=flow.counts_document(),
            appendix=bool(getattr(settings, "report_appendix", False)),
        )
        recorder.save_report(store, report, custodians[0])
        try:  # the result and the report both, or neither
            files.write_together(
                [(out, formats.dumps(formats.result_to_dict(flow.result), indent=True)), (pdf, report)]
            )
        except OSError as exc:
            log(
                f"custodian-app clear: cannot write {exc.filename or out}: {exc.strerror or exc}; "
                f"neither the result nor the report was written; the clearing is kept as session "
                f"{recorder.session_id}: take it up in the application, or abandon it with "
                f"'custodian-app session abandon {recorder.session_id} --reason TEXT --by {custodians[0]}'"
            )
            return EXIT_USAGE
        r = flow.result
        log(
            f"session {recorder.session_id}: {'balanced' if r.balanced else f'{len(r.mismatches)} mismatches'}; "
            f"difference {format_amount_signed(r.cash_position.difference)}; result {out}, report {pdf}"
        )
        return EXIT_OK if r.balanced else EXIT_MISMATCH
    finally:
        store.close()
